#!/usr/bin/env bash
# The web source's benchmark, every figure beside its ceiling in the same run:
#   (a) LocalStack's Kinesis ceiling (tickflow ceiling: PutRecords MB/s)
#   (b) the server answering GET /health alone: the HTTP ceiling (wrk, 64 connections)
#   (c) GET /logs?batch=10 as fast as wrk can ask: 200s per second, the rest refused (429/503)
#   (d) the overload held for OVERLOAD_SECS: the serving process's RSS sampled every second
#   (e) tickflow's own open-model scheduler at RATE requests/s through the whole pipeline:
#       HTTP p50/p99 of the 200s, judged like any run
# Needs wrk (apt-get install wrk). Uses AWS_ENDPOINT_URL / TICKFLOW_POSTGRES_URL when set,
# otherwise starts LocalStack and PostgreSQL itself.
#   bash bench/web.sh            (WRK_SECS=10 OVERLOAD_SECS=60 RATE=250 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out/web
mkdir -p "$out"
WRK_SECS=${WRK_SECS:-10}
OVERLOAD_SECS=${OVERLOAD_SECS:-60}
RATE=${RATE:-250}
addr=127.0.0.1:8099
command -v wrk >/dev/null || { echo "bench/web.sh needs wrk: apt-get install wrk" >&2; exit 2; }

. bench/lib.sh
pick_tickflow
start_localstack "$out"

echo; echo "== (a) LocalStack ceiling"
"$tickflow" ceiling --seconds 5 | tee "$out/ceiling.txt"

serve_secs=$((2 * WRK_SECS + OVERLOAD_SECS + 20))
"$tickflow" serve scenarios/web-logs.toml --addr "$addr" --secs "$serve_secs" >"$out/serve.txt" 2>"$out/serve.log" &
server=$!
for _ in $(seq 1 600); do grep -q '^serving' "$out/serve.log" 2>/dev/null && break; sleep 0.5; done
grep -q '^serving' "$out/serve.log" || { echo "tickflow serve did not start:"; tail "$out/serve.log"; exit 1; }

# wrk's summary: requests/s, latency percentiles, and the answers that were not 2xx.
summary() {
  awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {non=$5}
       /requests in/ {total=$1}
       END {printf "  %s requests/s, p50 %s, p99 %s, %d of %d not 200\n", rps, p50, p99, non, total}' "$1"
}

echo; echo "== (b) HTTP ceiling: GET /health, ${WRK_SECS}s"
wrk -t2 -c64 -d"${WRK_SECS}s" --latency "http://$addr/health" >"$out/health.txt"
summary "$out/health.txt"

echo; echo "== (c) GET /logs?batch=10 as fast as asked, ${WRK_SECS}s"
wrk -t2 -c64 -d"${WRK_SECS}s" --latency "http://$addr/logs?batch=10" >"$out/logs.txt"
summary "$out/logs.txt"
awk '/Requests\/sec/ {rps=$2} /Non-2xx/ {non=$5} /requests in/ {total=$1}
     END {printf "  200s: %.0f requests/s (%.0f events/s into the pipeline)\n", rps*(total-non)/total, 10*rps*(total-non)/total}' "$out/logs.txt"

echo; echo "== (d) overload for ${OVERLOAD_SECS}s: the server's RSS (MiB), every second"
wrk -t2 -c128 -d"${OVERLOAD_SECS}s" --latency "http://$addr/logs?batch=10" >"$out/overload.txt" &
load=$!
: >"$out/rss.txt"
while kill -0 "$load" 2>/dev/null; do
  ps -o rss= -p "$server" | awk '{printf "%.0f\n", $1/1024}' >>"$out/rss.txt"; sleep 1
done
summary "$out/overload.txt"
awk 'NR==1 {first=$1} {if ($1>max) max=$1; last=$1} END {printf "  RSS first %d, max %d, last %d MiB over %d samples\n", first, max, last, NR}' "$out/rss.txt"

echo; echo "== the served run, drained and judged"
wait "$server" || true
grep -E '^(PASS|FAIL) ' "$out/serve.txt" || tail -5 "$out/serve.txt"
grep -A4 '^web source' "$out/serve.txt" || true

echo; echo "== (e) the scheduler at ${RATE} requests/s for 20 s, through the pipeline"
"$tickflow" load bench/web-scheduled.toml --rate "$RATE" --duration 20 >"$out/scheduled.txt" 2>"$out/scheduled.log" || true
grep -E '^(PASS|FAIL) ' "$out/scheduled.txt" || tail -5 "$out/scheduled.txt"
grep -A4 '^web source' "$out/scheduled.txt" || true
