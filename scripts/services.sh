#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) answer,
# installing them from Debian's packages and starting them when they do not.
# Prints the environment the tests need (source it, or eval its output):
#   AZTH_TEST_PG_ADMIN_URL  an administrative connection to the cluster
#   AZTH_TEST_REDIS_URL     the Redis the tests use (each test has its own key prefix)
set -euo pipefail

log() { printf '[services] %s\n' "$*" >&2; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
  for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 0.5; done
  log "nothing answers on 127.0.0.1:$1"; return 1
}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq >&2; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >&2
}

# --- PostgreSQL ---------------------------------------------------------
if ! port_open 5432; then
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    log "installing PostgreSQL"
    apt_install postgresql postgresql-client
  fi
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$version" ]; then
      version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
      as_root pg_createcluster "$version" main >&2
    fi
    log "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
  fi
  wait_port 5432
fi
command -v psql >/dev/null 2>&1 || apt_install postgresql-client

admin_url=${AZTH_TEST_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
if ! psql "$admin_url" -Atqc 'select 1' >/dev/null 2>&1; then
  # A packaged cluster: local peer authentication works for the postgres
  # user; give it a password so the tests can connect over TCP.
  if id postgres >/dev/null 2>&1; then
    as_root su postgres -c "psql -Atqc \"alter role postgres password 'postgres'\"" >/dev/null
    admin_url=postgres://postgres:postgres@127.0.0.1:5432/postgres
  fi
  psql "$admin_url" -Atqc 'select 1' >/dev/null || { log "cannot connect to PostgreSQL as an administrator"; exit 1; }
fi

# --- Redis --------------------------------------------------------------
if ! port_open 6379; then
  if ! command -v redis-server >/dev/null 2>&1; then
    log "installing Redis"
    apt_install redis-server
  fi
  log "starting Redis"
  mkdir -p /tmp/azth-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no \
    --dir /tmp/azth-redis --logfile /tmp/azth-redis/redis.log >&2
  wait_port 6379
fi

echo "export AZTH_TEST_PG_ADMIN_URL='$admin_url'"
echo "export AZTH_TEST_REDIS_URL='${AZTH_TEST_REDIS_URL:-redis://127.0.0.1:6379}'"
