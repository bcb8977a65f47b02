#!/usr/bin/env bash
# Renders a tickflow report.html in headless Chromium and fails on a section that shows nothing:
# every run's section (<section class="run" data-flow="...">) must hold a filled table, and a
# stream run's section its two plots. Optionally writes a screenshot to look at.
#
#   bench/report-check.sh reports/report.html [screenshot.png]
#
# Chromium comes from Debian (`apt-get install chromium`) or any other install on PATH
# (CHROMIUM=/path/to/chrome to choose one).
set -euo pipefail

page=${1:?usage: bench/report-check.sh REPORT.html [SCREENSHOT.png]}
shot=${2:-}
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
[ -n "$chromium" ] || { echo "report-check: no Chromium found (apt-get install chromium, or set CHROMIUM)" >&2; exit 2; }
[ -f "$page" ] || { echo "report-check: $page: no such file" >&2; exit 2; }

url="file://$(cd "$(dirname "$page")" && pwd)/$(basename "$page")"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-background-networking --user-data-dir="$profile")

# The DOM as Chromium built it: what a reader's browser shows, not the bytes on disk.
dom=$(timeout 60 "$chromium" "${flags[@]}" --dump-dom "$url" 2>/dev/null)
[ -n "$dom" ] || { echo "report-check: Chromium rendered nothing for $page" >&2; exit 1; }

sections=0
problems=0
# One line per section: its flow, then its markup.
while IFS=$'\t' read -r flow body || [ -n "$flow" ]; do
  sections=$((sections + 1))
  cells=$(grep -o '<td>[^<]' <<<"$body" | wc -l || true)
  if [ "$flow" != none ] && [ "$cells" -eq 0 ]; then
    echo "report-check: section $sections ($flow) has no filled table" >&2
    problems=$((problems + 1))
  fi
  if [ "$flow" = stream ]; then
    plots=$(grep -o '<svg' <<<"$body" | wc -l || true)
    marks=$(grep -Eo '<(polyline|rect) ' <<<"$body" | wc -l || true)
    if [ "$plots" -lt 2 ] || [ "$marks" -lt 2 ]; then
      echo "report-check: section $sections (stream) lacks its plots ($plots plots, $marks marks)" >&2
      problems=$((problems + 1))
    fi
  fi
done < <(tr '\n' ' ' <<<"$dom" | sed 's/<section class="run" data-flow="/\n/g' | tail -n +2 |
  sed 's/^\([^"]*\)"/\1\t/')

if [ "$sections" -eq 0 ]; then
  echo "report-check: $page has no run sections" >&2
  exit 1
fi
if [ -n "$shot" ]; then
  timeout 60 "$chromium" "${flags[@]}" --window-size=1400,3000 --screenshot="$shot" "$url" >/dev/null 2>&1
  echo "report-check: screenshot in $shot"
fi
[ "$problems" -eq 0 ] || exit 1
echo "report-check: $sections section(s), each filled"
