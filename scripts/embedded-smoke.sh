#!/usr/bin/env bash
# Runs README command 1 (`cargo run --release -- serve`) in this checkout
# with no AZTH_* variable and no ./data, waits for /ready to answer 200,
# then stops azth with SIGTERM. Used by CI on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -e data ]; then
  echo "embedded-smoke: ./data exists; run this on a fresh clone" >&2
  exit 1
fi
cargo build --release --locked -p azth
for var in $(env | grep -o '^AZTH_[A-Za-z0-9_]*' || true); do unset "$var"; done
log=$(mktemp)
cargo run --release --locked -- serve >"$log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; rm -rf data; }
trap cleanup EXIT
ready() {
  (exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /ready HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3 && head -1 <&3) 2>/dev/null \
    | grep -q ' 200 '
}
for _ in $(seq 1 120); do
  if ready; then
    echo "embedded-smoke: /ready answered 200"
    grep -E 'created the system tenant|sign in|database:|outbox:' "$log" | sed 's/password: .*/password: (redacted)/' || true
    test -s data/azth.db && test -s data/master.key
    kill -TERM "$pid"
    wait "$pid"
    trap - EXIT
    rm -rf data "$log"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "embedded-smoke: azth exited before /ready" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.5
done
echo "embedded-smoke: /ready did not answer 200 within 60 s" >&2
cat "$log" >&2
exit 1
