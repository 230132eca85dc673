#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets) for SECONDS each, FUZZ_JOBS
# (default 2, one per core here) at a time, on the stable toolchain without
# a sanitizer (`-s none`; STACK.md). fuzz/README.md has the details.
#
#   scripts/fuzz.sh --ci     # CI (.ci/run): 60 s each
#   scripts/fuzz.sh 600      # by hand: 10 minutes each
#   scripts/fuzz.sh [SECS]   # default 60
#
# The targets are built with `cargo fuzz build --dev`, i.e. fuzz/Cargo.toml's
# [profile.dev]: a cheap optimisation level instead of cargo-fuzz's default
# (opt-level 3 forced to one codegen unit), which took ~13 min to build here.
# Installs cargo-fuzz when missing. A crash, timeout or OOM fails the script
# and leaves its input in fuzz/artifacts/<target>/: turn it into a
# regression test beside the code it broke. Logs: fuzz/logs/<target>.log.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=60
case "${1:-}" in
  --ci) ;;
  '') ;;
  *[!0-9]*) echo "usage: scripts/fuzz.sh [--ci | SECONDS]" >&2; exit 2 ;;
  *) secs="$1" ;;
esac
jobs="${FUZZ_JOBS:-2}"

command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
# An explicit target dir: a CARGO_TARGET_DIR meant for the main workspace
# must not receive (or be thrashed by) the instrumented build.
build=(--dev -s none --target-dir fuzz/target)
start=$(date +%s)
cargo fuzz build "${build[@]}"
echo "== fuzz build: $(($(date +%s) - start)) s"
bindir=fuzz/target/x86_64-unknown-linux-gnu/debug

# One target: its corpus (fuzz/corpus, not committed) grows from the committed
# seeds (fuzz/seeds, read-only here). Records the exit status for the summary.
run_target() {
  local target="$1" rc=0 TIMEFORMAT=%U
  mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target" "fuzz/seeds/$target"
  # libFuzzer stops itself after -max_total_time; `timeout` only guards a
  # wedged process. `time` records the CPU seconds the target really got: on
  # a shared machine executions per CPU second compare, per wall second not.
  { time timeout --kill-after=10 "$((secs + 120))" "$bindir/$target" \
    -artifact_prefix="fuzz/artifacts/$target/" -max_total_time="$secs" \
    -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    "fuzz/corpus/$target" "fuzz/seeds/$target" >"fuzz/logs/$target.log" 2>&1 || rc=$?; } 2>"fuzz/logs/$target.cpu"
  echo "$rc" >"fuzz/logs/$target.rc"
}

mkdir -p fuzz/logs
targets=$(cargo fuzz list)
echo "== fuzz $(echo "$targets" | wc -w) targets, ${secs} s each, $jobs at a time"
for target in $targets; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  run_target "$target" &
done
wait

failed=0
for target in $targets; do
  log="fuzz/logs/$target.log"
  rc=$(cat "fuzz/logs/$target.rc")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  cpu=$(tail -1 "fuzz/logs/$target.cpu")
  corpus=$(find "fuzz/corpus/$target" -type f | wc -l)
  printf '%-16s %s  executions=%s  cpu=%ss  (%s/cpu-s)  corpus=%s  peak_rss=%sMB\n' "$target" \
    "$([ "$rc" = 0 ] && echo ok || echo "FAILED rc=$rc")" "${execs:-?}" "$cpu" \
    "$(awk -v e="${execs:-0}" -v c="$cpu" 'BEGIN { printf "%d", (c > 0 ? e / c : 0) }')" "$corpus" "${rss:-?}"
  if [ "$rc" != 0 ]; then
    failed=1
    grep -E 'panicked|ERROR: libFuzzer|SUMMARY|Test unit written|^artifact_prefix' "$log" | head -20 >&2 || true
    echo "fuzz: $target failed (log $log); inputs in fuzz/artifacts/$target/:" >&2
    ls -1 "fuzz/artifacts/$target" >&2 || true
  fi
done
echo "== fuzz total: $(($(date +%s) - start)) s"
exit "$failed"
