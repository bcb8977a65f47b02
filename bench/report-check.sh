#!/usr/bin/env bash
# Renders a tickflow report.html in headless Chromium and fails on a section that shows nothing
# or a chart that is broken, as laid out by the browser (not as the bytes on disk say):
#   - every run's section (<section class="run" data-flow="...">) holds a filled table;
#   - a stream run's section holds its three charts (events per stage, latency over time,
#     latency distribution), unless it judged a lake alone;
#   - every chart (<svg class="chart">) has data marks, no label crosses its edge, and no two
#     labels overlap.
# Optionally writes a screenshot to look at.
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

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-background-networking --user-data-dir="$work/profile")

# The page with a probe appended: it measures every chart as laid out and writes what it found
# into the body's data-check attribute (the report itself runs no script).
cp "$page" "$work/probe.html"
cat >>"$work/probe.html" <<'JS'
<script>
(() => {
  const problems = [];
  const overlap = (a, b) =>
    Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 &&
    Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
  document.querySelectorAll('section.run').forEach((section, s) => {
    const flow = section.dataset.flow;
    const charts = section.querySelectorAll('svg.chart');
    const lakeOnly = section.querySelector('.lake-only') !== null; // no stage ran: no charts
    if (flow === 'stream' && !lakeOnly && charts.length < 3) problems.push(`section ${s + 1} (stream): ${charts.length} charts, 3 expected`);
    charts.forEach((svg, c) => {
      const where = `section ${s + 1} (${flow}) chart ${c + 1}`;
      const box = svg.getBoundingClientRect();
      if (svg.querySelectorAll('.mark').length === 0) problems.push(`${where}: no data drawn`);
      const labels = [...svg.querySelectorAll('text')].map(t => [t.textContent, t.getBoundingClientRect()]).filter(([, r]) => r.width > 0);
      for (const [text, r] of labels) {
        if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5)
          problems.push(`${where}: label "${text}" crosses the chart's edge`);
      }
      for (let i = 0; i < labels.length; i++)
        for (let j = i + 1; j < labels.length; j++)
          if (overlap(labels[i][1], labels[j][1])) problems.push(`${where}: labels "${labels[i][0]}" and "${labels[j][0]}" overlap`);
    });
  });
  document.body.dataset.charts = document.querySelectorAll('svg.chart').length;
  document.body.dataset.check = problems.length ? problems.join(' | ') : 'ok';
})();
</script>
JS

# The DOM as Chromium built it, probe results included.
dom=$(timeout 60 "$chromium" "${flags[@]}" --window-size=1400,2400 --dump-dom "file://$work/probe.html" 2>/dev/null)
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
done < <(tr '\n' ' ' <<<"$dom" | sed 's/<section class="run" data-flow="/\n/g' | tail -n +2 |
  sed 's/^\([^"]*\)"/\1\t/')

if [ "$sections" -eq 0 ]; then
  echo "report-check: $page has no run sections" >&2
  exit 1
fi
check=$(grep -o 'data-check="[^"]*"' <<<"$dom" | head -1 | sed 's/^data-check="//; s/"$//')
charts=$(grep -o 'data-charts="[0-9]*"' <<<"$dom" | head -1 | tr -dc 0-9)
if [ -z "$check" ]; then
  echo "report-check: the layout probe did not run" >&2
  problems=$((problems + 1))
elif [ "$check" != ok ]; then
  sed 's/ | /\n/g' <<<"$check" | sed 's/&quot;/"/g; s/^/report-check: /' >&2
  problems=$((problems + 1))
fi
if [ -n "$shot" ]; then
  timeout 60 "$chromium" "${flags[@]}" --window-size=1400,3000 --hide-scrollbars --screenshot="$shot" "file://$(cd "$(dirname "$page")" && pwd)/$(basename "$page")" >/dev/null 2>&1
  echo "report-check: screenshot in $shot"
fi
[ "$problems" -eq 0 ] || exit 1
echo "report-check: $sections section(s), each filled; ${charts:-0} chart(s), each drawn with every label inside and apart"
