#!/usr/bin/env bash
# Runs azth locally against PostgreSQL and Redis on loopback (started or
# installed when missing), in a database `azth` owned by a role `azth`.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/services.sh)"
psql "$AZTH_TEST_PG_ADMIN_URL" -Atqc "select 1 from pg_roles where rolname = 'azth'" | grep -q 1 ||
  psql "$AZTH_TEST_PG_ADMIN_URL" -qc "create role azth login createrole password 'azth'"
psql "$AZTH_TEST_PG_ADMIN_URL" -Atqc "select 1 from pg_database where datname = 'azth'" | grep -q 1 ||
  psql "$AZTH_TEST_PG_ADMIN_URL" -qc "create database azth owner azth"
export AZTH_DATABASE_URL=${AZTH_DATABASE_URL:-postgres://azth:azth@127.0.0.1:5432/azth}
export AZTH_REDIS_URL=${AZTH_REDIS_URL:-redis://127.0.0.1:6379}
exec cargo run --release --locked -p azth -- "${@:-serve}"
