#!/usr/bin/env bash
# Runs every test against real PostgreSQL and Redis (started or installed
# by scripts/services.sh when they are not already there).
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/services.sh)"
exec cargo test --workspace --locked --all-targets "$@"
