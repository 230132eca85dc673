#!/usr/bin/env bash
# Load test (issue 9): azth in release mode on PostgreSQL + Redis (loopback)
# and wrk with Lua scenarios: password login, refresh, GET /me, POST
# /authz/check, register. Prints req/s, p50, p99 and errors per scenario,
# the hash ceiling (cores ÷ the median of one login made alone, measured in
# the same run) and azth's RSS. Installs wrk from Debian when missing.
#
#   bench/load.sh [seconds per scenario, default 15] [users, default 200]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-15}"
USERS="${2:-200}"
PORT="${BENCH_PORT:-18181}"
export BENCH_PASSWORD="bench-password-Zq-42"
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || sudo apt-get install -y wrk >/dev/null; }
command -v curl >/dev/null || { echo "load.sh needs curl" >&2; exit 1; }
eval "$(scripts/services.sh)"
cargo build --release --locked -p azth >/dev/null 2>&1 || cargo build --release --locked -p azth
BIN="${CARGO_TARGET_DIR:-target}/release/azth"

# A fresh database and Redis prefix for this run.
DB="azth_bench_$(date +%s)"
ADMIN="$AZTH_TEST_PG_ADMIN_URL"
psql "$ADMIN" -qc "create role azth_bench login createrole password 'azth_bench'" 2>/dev/null || true
psql "$ADMIN" -qc "create database $DB owner azth_bench"
WORK=bench/.work
rm -rf "$WORK" && mkdir -p "$WORK"
export AZTH_DATABASE_URL="postgres://azth_bench:azth_bench@127.0.0.1:5432/$DB"
export AZTH_REDIS_URL="$AZTH_TEST_REDIS_URL" AZTH_REDIS__KEY_PREFIX="azth:bench:$DB:"
export AZTH_LISTEN="127.0.0.1:$PORT" AZTH_LOG=warn AZTH_IP_RATE_LIMIT=0 AZTH_DATA_DIR="$WORK/data"
export AZTH_BOOTSTRAP_ADMIN_PASSWORD="$BENCH_PASSWORD" AZTH_BOOTSTRAP_ADMIN_EMAIL=ops@bench.example
"$BIN" serve >"$WORK/azth.log" 2>&1 &
PID=$!
cleanup() {
  kill "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  psql "$ADMIN" -qc "drop database if exists $DB with (force)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
URL="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do curl -fs "$URL/ready" >/dev/null && break; sleep 0.2; done
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
rss() { awk '/VmRSS/ {printf "%.1f MB", $2/1024}' "/proc/$PID/status"; }
echo "azth $(git rev-parse --short HEAD), $(nproc) cores, idle RSS $(rss)"

# Seed: tenant `bench` (registration open, lockout out of the way), users signed in.
OP=$(curl -fs "$URL/api/v1/auth/login" -H 'X-Tenant-ID: system' -H 'Content-Type: application/json' \
  -d "{\"identifier\":\"ops@bench.example\",\"password\":\"$BENCH_PASSWORD\"}" | json '["access_token"]')
curl -fs "$URL/api/v1/tenants" -H "Authorization: Bearer $OP" -H 'Content-Type: application/json' \
  -d "{\"name\":\"Bench\",\"slug\":\"bench\",\"settings\":{\"allow_registration\":true,\"max_login_attempts\":100},
       \"owner\":{\"email\":\"owner@bench.example\",\"password\":\"$BENCH_PASSWORD\"}}" >/dev/null
: >"$WORK/users.txt"; : >"$WORK/access.txt"; : >"$WORK/refresh.txt"
for i in $(seq 1 "$USERS"); do
  email="user$i@bench.example"
  curl -fs "$URL/api/v1/auth/register" -H 'X-Tenant-ID: bench' -H 'Content-Type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$BENCH_PASSWORD\"}" >/dev/null
  echo "$email" >>"$WORK/users.txt"
done
for i in $(seq 1 "$USERS"); do
  body=$(curl -fs "$URL/api/v1/auth/login" -H 'X-Tenant-ID: bench' -H 'Content-Type: application/json' \
    -d "{\"identifier\":\"user$i@bench.example\",\"password\":\"$BENCH_PASSWORD\"}")
  echo "$body" | json '["access_token"]' >>"$WORK/access.txt"
  echo "$body" | json '["refresh_token"]' >>"$WORK/refresh.txt"
done
echo "seeded $USERS users; RSS $(rss)"

# The hash ceiling: one login alone, 21 times; cores ÷ the median.
times=$(for i in $(seq 1 21); do
  curl -fs -o /dev/null -w '%{time_total}\n' "$URL/api/v1/auth/login" -H 'X-Tenant-ID: bench' \
    -H 'Content-Type: application/json' -d "{\"identifier\":\"user$i@bench.example\",\"password\":\"$BENCH_PASSWORD\"}"
done | sort -n)
median=$(echo "$times" | sed -n 11p)
ceiling=$(python3 -c "print(round($(nproc) / $median, 1))")
echo "one login alone: median ${median}s → hash ceiling $ceiling logins/s"

run() { # name script threads connections
  local out
  out=$(wrk -t "$3" -c "$4" -d "${SECS}s" --latency -s "bench/$2" "$URL" 2>&1)
  local rps p50 p99 errs
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  errs=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  printf '%-10s %10s req/s   p50 %8s   p99 %8s   non-2xx %s   RSS %s\n' "$1" "$rps" "$p50" "$p99" "${errs:-0}" "$(rss)"
}
echo "scenario        req/s (wrk, ${SECS}s each)"
run login login.lua 2 8
run refresh refresh.lua 8 8
run me me.lua 2 16
run authz authz.lua 2 16
run register register.lua 2 8
echo "RSS after the run: $(rss)"
