#!/usr/bin/env bash
# Runs every test against real PostgreSQL and Redis (started or installed
# by scripts/services.sh when they are not already there), then the
# black-box suites (API, CLI, walkthrough) once more on the embedded SQLite
# store: one suite, both backends.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/services.sh)"
cargo test --workspace --locked --all-targets "$@"
echo "== the same black-box suites on the embedded SQLite store"
AZTH_TEST_BACKEND=sqlite cargo test --workspace --locked --test api --test cli --test walkthrough "$@"
