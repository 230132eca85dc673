#!/usr/bin/env bash
# Load test (issue 9): azth in release mode on PostgreSQL + Redis (loopback)
# and wrk with Lua scenarios: password login, refresh, GET /me, POST
# /authz/check, register. Prints req/s, p50, p99 and errors per scenario,
# the hash ceiling (cores ÷ the median of one login made alone, measured in
# the same run) and azth's RSS. Each scenario runs BENCH_RUNS times (default
# 3) and the median is reported. Then: GET /me and POST /authz/check paced at
# half their peak (p99), a login flood at twice the hash ceiling beside a
# paced GET /me (bench/flood.py), and a cold start to /ready with the
# migrations already applied. Installs wrk from Debian when missing.
# BENCH_PROFILE=1 also samples every CPU with perf during the first run of
# each scenario and prints the CPU share per process and azth's hottest
# functions (needs linux-perf).
#
#   bench/load.sh [seconds per scenario, default 15] [users, default 200]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-15}"
USERS="${2:-200}"
PORT="${BENCH_PORT:-18181}"
RUNS="${BENCH_RUNS:-3}"
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
peak() { awk '/VmHWM/ {printf "%.1f MB", $2/1024}' "/proc/$PID/status"; }
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

wrk_stats() { python3 bench/wrk_stats.py; } # wrk output → "req/s p50 p99 non-2xx" (ms)
median_of() { # lines "a b c d" → the line of the median req/s
  sort -n -k1 | sed -n "$(( (RUNS + 1) / 2 ))p"
}
declare -A PEAK
profile() { # name: with BENCH_PROFILE=1, samples every CPU while wrk runs (perf, software clock)
  [ "${BENCH_PROFILE:-0}" = 1 ] || return 0
  perf record -a -g -F 499 -e cpu-clock -o "$WORK/perf-$1.data" -- sleep "$SECS" >/dev/null 2>&1 &
  PERF_PID=$!
}
profile_report() { # name: CPU share per process, then azth's hottest functions
  [ "${BENCH_PROFILE:-0}" = 1 ] || return 0
  wait "$PERF_PID" || true
  echo "  $1: CPU by process (perf, all CPUs):"
  perf report -i "$WORK/perf-$1.data" --no-children --sort comm --stdio 2>/dev/null \
    | grep -E '^ +[0-9.]+%' | head -6 | sed 's/^/    /' || true
  echo "  $1: azth's hottest functions:"
  perf report -i "$WORK/perf-$1.data" --no-children --comm azth,tokio-rt-worker,azth-hash-0,azth-hash-1 \
    --sort sym --stdio -g none 2>/dev/null | grep -E '^ +[0-9.]+%' | head -8 | cut -c1-110 | sed 's/^/    /' || true
}
fresh_refresh_tokens() { # one new session per wrk thread for each refresh run: wrk drops the
  # answers in flight when it stops, so the tokens a run ended with may be spent already,
  # and replaying one revokes its session (and the access tokens of that session)
  : >"$WORK/refresh.txt"
  for i in $(seq 1 8); do
    curl -fs "$URL/api/v1/auth/login" -H 'X-Tenant-ID: bench' -H 'Content-Type: application/json' \
      -d "{\"identifier\":\"user$i@bench.example\",\"password\":\"$BENCH_PASSWORD\"}" \
      | json '["refresh_token"]' >>"$WORK/refresh.txt"
  done
}
run() { # name script threads connections
  local lines="" line
  for r in $(seq 1 "$RUNS"); do
    [ "$1" = refresh ] && fresh_refresh_tokens
    [ "$r" = 1 ] && profile "$1"
    line=$(wrk -t "$3" -c "$4" -d "${SECS}s" --latency -s "bench/$2" "$URL" 2>&1 | wrk_stats)
    [ "$r" = 1 ] && profile_report "$1"
    lines+="$line"$'\n'
    read -r rps p50 p99 errs <<<"$line"
    printf '  %-9s run %d: %9.1f req/s  p50 %7.2f ms  p99 %7.2f ms  non-2xx %s\n' "$1" "$r" "$rps" "$p50" "$p99" "$errs"
  done
  read -r rps p50 p99 errs <<<"$(printf '%s' "$lines" | median_of)"
  PEAK[$1]=$rps
  printf '%-10s median of %d: %9.1f req/s  p50 %7.2f ms  p99 %7.2f ms  non-2xx %s  RSS %s\n' \
    "$1" "$RUNS" "$rps" "$p50" "$p99" "$errs" "$(rss)"
}
paced() { # scenario rate connections seconds → wrk stats line
  BENCH_SCENARIO=$1 BENCH_RATE=$2 BENCH_CONNECTIONS=$3 \
    wrk -t 2 -c "$3" -d "${4}s" --latency -s bench/paced.lua "$URL" 2>&1 | wrk_stats
}
echo "scenario        (wrk, ${SECS}s each, $RUNS runs)"
run login login.lua 2 8
echo "login: $(python3 -c "print(round(100 * ${PEAK[login]} / $ceiling, 1))")% of the hash ceiling ($ceiling/s)"
run refresh refresh.lua 8 8
run me me.lua 2 16
run authz authz.lua 2 16
run register register.lua 2 8
echo "RSS after the scenarios: $(rss); peak RSS since start: $(peak)"

echo "== at half their peak (paced)"
for s in me authz; do
  half=$(python3 -c "print(int(float('${PEAK[$s]}') / 2))")
  read -r rps p50 p99 errs <<<"$(paced "$s" "$half" 16 "$SECS")"
  printf '%-6s offered %5d/s: achieved %7.1f req/s  p50 %5.2f ms  p99 %5.2f ms  non-2xx %s\n' "$s" "$half" "$rps" "$p50" "$p99" "$errs"
done

echo "== login flood at twice the hash ceiling, GET /me paced beside it"
me_rate=$(python3 -c "print(int(float('${PEAK[me]}') / 4))")
read -r _ _ idle_p99 _ <<<"$(paced me "$me_rate" 8 "$SECS")"
flood_rate=$(python3 -c "print(round(2 * $ceiling, 1))")
paced me "$me_rate" 8 "$SECS" >"$WORK/me-during-flood.txt" &
ME_PID=$!
flood=$(python3 bench/flood.py "$URL" "$flood_rate" "$SECS" "$WORK/users.txt" bench)
wait "$ME_PID"
read -r me_rps _ flood_p99 me_errs <<<"$(cat "$WORK/me-during-flood.txt")"
echo "GET /me at ${me_rate}/s: p99 ${idle_p99} ms alone, ${flood_p99} ms during the flood ($(python3 -c "print(round($flood_p99 / $idle_p99, 2))")×; non-2xx $me_errs)"
echo "flood offered ${flood_rate}/s: $flood"
echo "peak RSS since start: $(peak)"

echo "== cold start to /ready (migrations already applied)"
kill "$PID"; wait "$PID" 2>/dev/null || true
starts=""
for i in 1 2 3; do
  t0=$(date +%s%N)
  "$BIN" serve >>"$WORK/azth.log" 2>&1 &
  PID=$!
  until curl -fs "$URL/ready" >/dev/null 2>&1; do sleep 0.01; done
  t1=$(date +%s%N)
  starts+="$(( (t1 - t0) / 1000000 )) "
  [ "$i" = 3 ] || { kill "$PID"; wait "$PID" 2>/dev/null || true; }
done
echo "cold start to /ready: ${starts}ms; idle RSS after start: $(rss)"
