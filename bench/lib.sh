# Shared by the benchmark scripts (sourced, not run): the binary to measure and the LocalStack
# to measure it against.

# Sets $tickflow: TICKFLOW_BIN when given (a debug build, to try a script; figures come from
# release), otherwise the release build, built now.
pick_tickflow() {
  if [ -z "${TICKFLOW_BIN:-}" ]; then
    cargo build --release --quiet
  fi
  tickflow=${TICKFLOW_BIN:-${CARGO_TARGET_DIR:-target}/release/tickflow}
}

# Exports AWS_ENDPOINT_URL: the one given, or a LocalStack that `tickflow localstack` starts
# and holds until the script exits (its output in $1). Prints the machine beside it.
start_localstack() {
  local out=$1
  if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
    "$tickflow" localstack >"$out/localstack.txt" 2>"$out/localstack.log" &
    holder=$!
    trap 'kill -INT $holder 2>/dev/null; wait 2>/dev/null || true' EXIT
    for _ in $(seq 1 240); do grep -q '^AWS_ENDPOINT_URL=' "$out/localstack.txt" 2>/dev/null && break; sleep 0.5; done
    grep -q '^AWS_ENDPOINT_URL=' "$out/localstack.txt" || { echo "LocalStack did not start:"; tail "$out/localstack.log"; exit 1; }
    export "$(grep '^AWS_ENDPOINT_URL=' "$out/localstack.txt")"
  fi
  echo "LocalStack: $AWS_ENDPOINT_URL"
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr)"
}
