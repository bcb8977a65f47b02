#!/usr/bin/env bash
# Consume-only runs (tickflow consume) on streams tickflow did not fill itself, on one LocalStack
# (tickflow localstack) shared by every step:
#   1. two `tickflow produce --partition i/2` generators fill a stream; after the first alone,
#      consume must FAIL with half the scenario missing; after both, it must PASS;
#   2. an independent KPL implementation (aws_kinesis_agg from PyPI, bench/kpl_put.py) puts the
#      scenario's recorded events, aggregated its way; consume must find them all and PASS;
#   3. that run's lake, kept, judged alone (consume --bucket): PASS against the scenario, FAIL
#      against the same scenario with another seed.
# Python (boto3, aws_kinesis_agg) only puts records; it lives in a venv, the product needs none.
#   bash bench/consume-check.sh            # TICKFLOW_BIN=... to use a given build
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out/consume
mkdir -p "$out"
scenario=${TICKFLOW_CONSUME_SCENARIO:-scenarios/smoke.toml}

tickflow=${TICKFLOW_BIN:-${CARGO_TARGET_DIR:-target}/debug/tickflow}
[ -x "$tickflow" ] || cargo build --quiet
venv=${TICKFLOW_MOTO_VENV:-$HOME/.cache/tickflow-moto-venv}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import boto3, aws_kinesis_agg' 2>/dev/null \
  || "$venv/bin/pip" install --quiet boto3 aws_kinesis_agg

unset AWS_ENDPOINT_URL
"$tickflow" localstack >"$out/localstack.txt" 2>"$out/localstack.err" &
localstack=$!
trap 'kill -INT $localstack 2>/dev/null; wait $localstack 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  grep -q '^AWS_ENDPOINT_URL=' "$out/localstack.txt" && break
  kill -0 $localstack 2>/dev/null || { cat "$out/localstack.err"; echo "tickflow localstack ended" >&2; exit 1; }
  sleep 0.2
done
export "$(grep -m1 '^AWS_ENDPOINT_URL=' "$out/localstack.txt")"
echo "LocalStack at $AWS_ENDPOINT_URL"

run=$(date +%s)
consume() { # stream, name, flags...: the output in $out/<name>.txt (.json, .html), its exit code
  local stream=$1 name=$2
  shift 2
  "$tickflow" consume "$scenario" --stream "$stream" --json "$out/$name.json" --html "$out/$name.html" \
    "$@" >"$out/$name.txt" 2>"$out/$name.err"
}

# 1. Partitioned generators.
stream="tickflow-consume-$run-produced"
"$venv/bin/python" bench/kpl_put.py "$stream" create
"$tickflow" produce "$scenario" --stream "$stream" --partition 0/2 2>/dev/null
if consume "$stream" half; then
  tail -n 20 "$out/half.txt"; echo "consume PASSED with only partition 0/2 in the stream" >&2; exit 1
fi
grep -E '^FAIL ' "$out/half.txt" | grep -Eq 'missing=[1-9]' \
  || { tail -n 20 "$out/half.txt" "$out/half.err"; echo "consume of half the events failed without missing any" >&2; exit 1; }
echo "half the partitions: $(grep -E '^FAIL ' "$out/half.txt")"
"$tickflow" produce "$scenario" --stream "$stream" --partition 1/2 2>/dev/null
consume "$stream" partitioned \
  || { tail -n 30 "$out/partitioned.txt" "$out/partitioned.err"; echo "consume of both partitions did not PASS" >&2; exit 1; }
echo "both partitions: $(grep -E '^PASS ' "$out/partitioned.txt")"

# 2. An independent KPL implementation.
stream="tickflow-consume-$run-kpl"
"$tickflow" record "$scenario" --out "$out/events.jsonl" >/dev/null
"$venv/bin/python" bench/kpl_put.py "$stream" create
"$venv/bin/python" bench/kpl_put.py "$stream" put "$out/events.jsonl"
consume "$stream" kpl --keep \
  || { tail -n 30 "$out/kpl.txt" "$out/kpl.err"; echo "consume of aws_kinesis_agg records did not PASS" >&2; exit 1; }
echo "aws_kinesis_agg: $(grep -E '^PASS ' "$out/kpl.txt")"

# 3. The kept lake, judged alone.
lake="tickflow-$("$venv/bin/python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["run_id"])' "$out/kpl.json")-lake"
"$tickflow" consume "$scenario" --bucket "$lake" --html "$out/lake.html" >"$out/lake.txt" 2>"$out/lake.err" \
  || { tail -n 30 "$out/lake.txt" "$out/lake.err"; echo "the lake judged alone did not PASS" >&2; exit 1; }
grep -q '^lake only: ' "$out/lake.txt" || { cat "$out/lake.txt"; echo "the lake-only report does not say so" >&2; exit 1; }
echo "lake alone: $(grep -E '^PASS ' "$out/lake.txt")"
sed 's/^seed = .*/seed = 99/' "$scenario" >"$out/other-seed.toml"
if "$tickflow" consume "$out/other-seed.toml" --bucket "$lake" >"$out/lake-other.txt" 2>&1; then
  tail -n 20 "$out/lake-other.txt"; echo "the lake PASSED against a scenario it does not hold" >&2; exit 1
fi
echo "lake against another seed: $(grep -E '^FAIL ' "$out/lake-other.txt")"
