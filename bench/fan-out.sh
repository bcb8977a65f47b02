#!/usr/bin/env bash
# Fan-out's cost, beside the shared ceiling, in one run:
#   (a) LocalStack's ceiling, GetRecords MB/s among it (tickflow ceiling)
#   (b) 1M events read by one consumer (bench/fan-out-1.toml: the lake)
#   (c) the same 1M read by three (bench/fan-out-3.toml: lake, raw, firehose), each sink reconciled
# then each consumer's Kinesis read rate beside the ceiling, and the cost of three against one:
# seconds from start until every consumer had drained (goal: at most 1.5x).
#   bash bench/fan-out.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out/fan-out
mkdir -p "$out"

. bench/lib.sh
pick_tickflow
start_localstack "$out"

echo; echo "== (a) LocalStack ceiling"
"$tickflow" ceiling --seconds 5 | tee "$out/ceiling.txt"

for n in 1 3; do
  echo; echo "== ($([ $n = 1 ] && echo b || echo c)) 1M events, $n consumer(s)"
  /usr/bin/time -v "$tickflow" run "bench/fan-out-$n.toml" --report-dir "$out/fan-out-$n" \
    >"$out/fan-out-$n.txt" 2>"$out/fan-out-$n.time" || true
  grep -E '^(PASS|FAIL) ' "$out/fan-out-$n.txt" | tee "$out/fan-out-$n.summary"
  grep -E '^  (producer|bridge|process|raw|firehose) ' "$out/fan-out-$n.txt" || true
  sed -n '/^sinks/,/^$/p' "$out/fan-out-$n.txt"
  grep -E 'Maximum resident' "$out/fan-out-$n.time" | sed 's/^\s*/  /'
  grep -q '^PASS ' "$out/fan-out-$n.summary" || { echo "fan-out-$n did not PASS: no ratios" >&2; exit 1; }
done

echo; echo "== cost of three consumers against one"
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
ceiling = next(
    float(line.split()[-2])
    for line in open(f"{out}/ceiling.txt")
    if line.startswith("kinesis GetRecords")
)
def run(n):
    return json.load(open(f"{out}/fan-out-{n}/report.json"))[0]["report"]
def done(r):
    t = r["times"]
    return max(t["processed_secs"], t.get("raw_secs") or 0, t.get("firehose_secs") or 0)
one, three = run(1), run(3)
print(f"GetRecords ceiling (one tight reader): {ceiling:.2f} MB/s")
for name, secs_key, bytes_key in [
    ("lake", "bridged_secs", "lake_read_bytes"),
    ("raw", "raw_secs", "raw_read_bytes"),
    ("firehose", "firehose_secs", "firehose_read_bytes"),
]:
    for label, r in [("1 consumer ", one), ("3 consumers", three)]:
        secs = r["times"].get(secs_key)
        if not secs:
            continue
        mb = r["stats"]["fan_out"][bytes_key] / 1e6
        print(f"  {label} {name:<8} read {mb:7.1f} MB in {secs:6.1f} s = {mb / secs:5.2f} MB/s "
              f"({100 * mb / secs / ceiling:3.0f}% of the ceiling)")
a, b = done(one), done(three)
print(f"every consumer drained: 1 consumer {a:.1f} s, 3 consumers {b:.1f} s -> {b / a:.2f}x (goal <= 1.5x)")
print(f"whole run with judging: 1 consumer {one['elapsed_secs']:.1f} s, 3 consumers {three['elapsed_secs']:.1f} s")
PY
