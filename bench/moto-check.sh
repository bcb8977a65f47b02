#!/usr/bin/env bash
# tickflow against a moto server, an AWS-compatible endpoint that is not LocalStack:
#   --target endpoint doctor; the fan-out scenario judged there;
#   parity of the stream and price-file smoke scenarios: each run on LocalStack (started by
#   tickflow: needs a container engine) and on moto, both judged, their reports compared and
#   the quirks table asked of both (bench/out/moto/parity-<scenario>/parity.txt);
#   an outage fault is refused (moto has no container tickflow could pause).
# moto comes from PyPI into a virtual environment (the product itself needs no Python).
#   bash bench/moto-check.sh            # TICKFLOW_BIN=... to use a given build
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out/moto
mkdir -p "$out"

tickflow=${TICKFLOW_BIN:-${CARGO_TARGET_DIR:-target}/debug/tickflow}
[ -x "$tickflow" ] || cargo build --quiet
venv=${TICKFLOW_MOTO_VENV:-$HOME/.cache/tickflow-moto-venv}
if [ ! -x "$venv/bin/moto_server" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "moto[server]"
fi
echo "moto $("$venv/bin/python" -c 'import moto; print(moto.__version__)')"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$venv/bin/moto_server" -p "$port" >"$out/moto.log" 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null; wait 2>/dev/null || true' EXIT
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -s -o /dev/null "$AWS_ENDPOINT_URL" && break; sleep 0.2; done

"$tickflow" --target endpoint doctor | tee "$out/doctor.txt"
for s in fan-out; do
  started=$(date +%s)
  "$tickflow" --target endpoint run "scenarios/$s.toml" --report-dir "$out/$s" >"$out/$s.txt" 2>"$out/$s.err" \
    || { tail -n 30 "$out/$s.txt" "$out/$s.err"; echo "$s did not PASS on moto" >&2; exit 1; }
  echo "$(grep -E '^PASS ' "$out/$s.txt") [$(( $(date +%s) - started )) s wall]"
done
for s in smoke price-files; do
  started=$(date +%s)
  env -u AWS_ENDPOINT_URL "$tickflow" parity "scenarios/$s.toml" --against endpoint --against-url "$AWS_ENDPOINT_URL" \
    --report-dir "$out/parity-$s" >"$out/parity-$s.txt" 2>"$out/parity-$s.err" \
    || { tail -n 40 "$out/parity-$s.txt" "$out/parity-$s.err"; echo "parity of $s failed (LocalStack vs moto)" >&2; exit 1; }
  grep -q '^  B  .*\[moto\]$' "$out/parity-$s.txt" \
    || { head -5 "$out/parity-$s.txt"; echo "parity did not recognise the moto server" >&2; exit 1; }
  echo "parity $s (LocalStack vs moto): $(grep -E '^parity (holds|FAILS)' "$out/parity-$s.txt"); $(grep -E '^runs: ' "$out/parity-$s.txt") [$(( $(date +%s) - started )) s wall]"
  sed -n '/^timings/,/^$/p' "$out/parity-$s.txt"
done
if "$tickflow" --target endpoint run scenarios/fault-outage.toml --report-dir "$out/fault-outage" \
  >"$out/fault-outage.txt" 2>&1; then
  echo "fault-outage passed on moto: an outage cannot have been injected" >&2
  exit 1
fi
grep -q "pauses only a container it started itself" "$out/fault-outage.txt" \
  || { cat "$out/fault-outage.txt"; echo "fault-outage failed without saying why" >&2; exit 1; }
echo "fault-outage refused on moto, saying why"
