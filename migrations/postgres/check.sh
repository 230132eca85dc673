#!/usr/bin/env bash
# check.sh — validate the PostgreSQL migrations of this directory against a
# live server (PostgreSQL 15+), the way the application uses them.
#
#   migrations/postgres/check.sh [ADMIN_URL]
#
# ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres) must be able
# to create roles. The script:
#   1. ensures a login role azth_check (NOSUPERUSER CREATEDB CREATEROLE, like
#      the application's connecting role) and, as that role, creates a scratch
#      database (name: $AZTH_CHECK_DB, default azth_check_<time>_<pid>);
#   2. applies every NNNN_*.up.sql in order, each with
#      psql -v ON_ERROR_STOP=1 --single-transaction (sqlx also runs every file
#      in its own transaction);
#   3. inserts data through app_admin / app_user transactions and asserts RLS
#      isolation, grants, audit contents, triggers, partition maintenance;
#   4. for every migration from the last to the first, with data present:
#      down, up again, down again (each step reverts and re-applies cleanly);
#      then checks the schema is empty, applies every up again, compares a
#      schema dump with the first one, and repeats the core assertions;
#   5. drops the scratch database (kept when AZTH_CHECK_KEEP=1).
# Exits non-zero on the first failure. Several copies may run concurrently
# (distinct database names); the role creation in 0001 is race-safe.
set -euo pipefail

ADMIN_URL=${1:-postgres://postgres@127.0.0.1:5432/postgres}
DB=${AZTH_CHECK_DB:-azth_check_$(date +%s)_$$}
CHECK_ROLE=azth_check
DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

export PGOPTIONS='-c client_min_messages=warning'
export PGCONNECT_TIMEOUT=10

die() { echo "FAIL - $*" >&2; exit 1; }

# URL of the same server for another role / database.
re='^(postgres(ql)?)://([^@/]*@)?([^/?]*)(/([^?]*))?(\?.*)?$'
[[ $ADMIN_URL =~ $re ]] || die "cannot parse admin URL: $ADMIN_URL"
HOSTPORT=${BASH_REMATCH[4]}
ADMIN_DB=${BASH_REMATCH[6]:-postgres}
QUERY=${BASH_REMATCH[7]:-}
[[ $DB =~ ^[a-z_][a-z0-9_]*$ ]] || die "scratch database name must match [a-z_][a-z0-9_]*: $DB"
ROLE_URL_BASE="postgres://${CHECK_ROLE}:${CHECK_ROLE}@${HOSTPORT}"
CHECK_MAINT_URL="${ROLE_URL_BASE}/${ADMIN_DB}${QUERY}"
CHECK_URL="${ROLE_URL_BASE}/${DB}${QUERY}"

apsql() { psql "$ADMIN_URL" -X -q -v ON_ERROR_STOP=1 "$@"; }
cpsql() { psql "$CHECK_URL" -X -q -v ON_ERROR_STOP=1 "$@"; }

shopt -s nullglob
UPS=("$DIR"/[0-9][0-9][0-9][0-9]_*.up.sql)
shopt -u nullglob
[[ ${#UPS[@]} -gt 0 ]] || die "no migrations in $DIR"
for f in "${UPS[@]}"; do
    [[ -f ${f%.up.sql}.down.sql ]] || die "missing down migration for $(basename "$f")"
    if grep -Eiq '^[[:space:]]*(begin|commit|start transaction|rollback)[[:space:]]*;' "$f" "${f%.up.sql}.down.sql"; then
        die "$(basename "${f%.up.sql}") contains BEGIN/COMMIT (sqlx wraps each file in a transaction)"
    fi
done

up() {   # up FILE
    local name; name=$(basename "$1" .up.sql)
    cpsql --single-transaction -f "$1" >/dev/null || die "up $name"
    echo "ok - up $name"
}
down() { # down UPFILE
    local f=${1%.up.sql}.down.sql name; name=$(basename "$1" .up.sql)
    cpsql --single-transaction -f "$f" >/dev/null || die "down $name"
    echo "ok - down $name"
}
all_up() { local f; for f in "${UPS[@]}"; do up "$f"; done; }

# check NAME <<'SQL' … SQL — runs the SQL (one psql session, stop on error)
# with two session-local helpers: pg_temp.ok(bool, text) raises unless the
# condition is true; pg_temp.fails(sql, sqlstate, text) raises unless the
# statement fails with exactly that SQLSTATE.
PRELUDE=$(cat <<'SQL'
create function pg_temp.ok(cond boolean, msg text) returns void
language plpgsql as $f$
begin
    if cond is not true then
        raise exception 'assertion failed: %', msg;
    end if;
end $f$;
create function pg_temp.fails(stmt text, state text, msg text) returns void
language plpgsql as $f$
begin
    begin
        execute stmt;
    exception when others then
        if sqlstate = state then
            return;
        end if;
        raise exception 'assertion failed: % (expected SQLSTATE %, got %: %)', msg, state, sqlstate, sqlerrm;
    end;
    raise exception 'assertion failed: % (succeeded, expected SQLSTATE %)', msg, state;
end $f$;
SQL
)
check() {
    local name=$1 sql out
    sql=$(cat)
    if out=$(printf '%s\n%s\n' "$PRELUDE" "$sql" | cpsql -v VERBOSITY=terse 2>&1 >/dev/null); then
        echo "ok - $name"
    else
        echo "FAIL - $name" >&2
        printf '%s\n' "$out" | sed 's/^/    /' >&2
        exit 1
    fi
}

cleanup() {
    local rc=$?
    if [[ ${AZTH_CHECK_KEEP:-0} == 1 ]]; then
        echo "# kept database $DB"
    else
        psql "$CHECK_MAINT_URL" -X -q -c "drop database if exists \"$DB\" with (force)" >/dev/null 2>&1 || true
    fi
    exit $rc
}

# --- 1. role and scratch database -------------------------------------------

apsql >/dev/null <<SQL || die "cannot ensure role $CHECK_ROLE"
do \$\$
begin
    begin
        create role $CHECK_ROLE login password '$CHECK_ROLE' nosuperuser createdb createrole;
    exception when duplicate_object or unique_violation then
        null;
    end;
    if exists (select 1 from pg_roles
               where rolname = '$CHECK_ROLE'
                 and (rolsuper or rolbypassrls or not rolcreatedb or not rolcreaterole or not rolcanlogin)) then
        alter role $CHECK_ROLE login nosuperuser nobypassrls createdb createrole;
    end if;
end
\$\$;
SQL
echo "ok - role $CHECK_ROLE (nosuperuser createdb createrole)"

trap cleanup EXIT
psql "$CHECK_MAINT_URL" -X -q -v ON_ERROR_STOP=1 -c "create database \"$DB\"" >/dev/null \
    || die "cannot create database $DB as $CHECK_ROLE"
echo "ok - scratch database $DB owned by $CHECK_ROLE"

# --- 2. migrations ------------------------------------------------------------

all_up
SCHEMA_BEFORE=$(pg_dump --schema-only --no-owner "$CHECK_URL" | grep -v '^--' | grep -v '^$' | grep -v '^\\\(un\)\?restrict ')

check "connecting role is a plain role holding the three app roles" <<'SQL'
select pg_temp.ok(not rolsuper and not rolbypassrls, 'connecting role is neither superuser nor bypassrls')
from pg_roles where rolname = current_user;
select pg_temp.ok(pg_has_role(current_user, r, 'member'), 'member of ' || r)
from unnest(array['app_user', 'app_admin', 'app_readonly']) as r;
select pg_temp.ok(count(*) = 3 and bool_and(not rolcanlogin), 'app roles exist and are NOLOGIN')
from pg_roles where rolname in ('app_user', 'app_admin', 'app_readonly');
select pg_temp.ok(count(*) = 9, 'RLS enabled and forced on the 9 tenant-aware tables: ' || count(*))
from pg_class
where relname in ('tenants', 'users', 'roles', 'user_roles', 'role_permissions',
                  'sessions', 'otp_codes', 'notifications', 'audit_logs')
  and relrowsecurity and relforcerowsecurity and relnamespace = current_schema()::text::regnamespace;
select pg_temp.ok(count(*) = 21 and count(*) filter (where scope = 'tenant') = 17,
                  'permission catalog: 21 permissions, 17 tenant-scope')
from permissions;
SQL

# Fixed ids: tenant A is the operators' tenant (slug 'system'), B a customer.
# TA a0000000-0000-4000-8000-00000000000a   UA a1000000-0000-4000-8000-00000000000a (A)
# TB b0000000-0000-4000-8000-00000000000b   UB b1000000-0000-4000-8000-00000000000b (B)
#                                           UC a2000000-0000-4000-8000-00000000000a (A)
seed() {
check "seed: tenants via app_admin, system roles, users via app_user" <<'SQL'
begin;
set local role app_admin;
insert into tenants (id, name, slug, domain) values
    ('a0000000-0000-4000-8000-00000000000a', 'System', 'system', null),
    ('b0000000-0000-4000-8000-00000000000b', 'Beta', 'beta', 'Beta.Example.COM');
select create_tenant_system_roles('a0000000-0000-4000-8000-00000000000a');
select create_tenant_system_roles('b0000000-0000-4000-8000-00000000000b');
select create_tenant_system_roles('b0000000-0000-4000-8000-00000000000b'); -- idempotent
commit;

begin;
set local role app_user;
select set_config('app.current_tenant_id', 'a0000000-0000-4000-8000-00000000000a', true),
       set_config('app.current_user_id', 'a1000000-0000-4000-8000-00000000000a', true),
       set_config('app.ip_address', '203.0.113.7', true),
       set_config('app.user_agent', 'ua', true);
insert into users (id, tenant_id, email, username, password_hash, mfa_secret, backup_codes,
                   email_verification_token, password_reset_token, phone)
values ('a1000000-0000-4000-8000-00000000000a', 'a0000000-0000-4000-8000-00000000000a',
        'alice@example.com', 'Alice', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
        'SEALED-TOTP-SECRET', array['code1', 'code2'], 'verify-token-hash', 'reset-token-hash',
        '+15550100');
insert into user_roles (tenant_id, user_id, role_id, assigned_by)
select tenant_id, 'a1000000-0000-4000-8000-00000000000a', id, 'a1000000-0000-4000-8000-00000000000a'
from roles where name = 'super_admin';
-- as app_user, with its own tenant set, the function works too (idempotent)
select create_tenant_system_roles('a0000000-0000-4000-8000-00000000000a');
commit;

begin;
set local role app_user;
select set_config('app.current_tenant_id', 'b0000000-0000-4000-8000-00000000000b', true),
       set_config('app.current_user_id', '', true),
       set_config('app.ip_address', '198.51.100.9', true),
       set_config('app.user_agent', 'ua-b', true);
insert into users (id, tenant_id, email, username, status)
values ('b1000000-0000-4000-8000-00000000000b', 'b0000000-0000-4000-8000-00000000000b',
        'bob@example.com', null, 'pending');
insert into sessions (tenant_id, user_id, token_hash, expires_at)
values ('b0000000-0000-4000-8000-00000000000b', 'b1000000-0000-4000-8000-00000000000b',
        'tok-b', now() + interval '1 hour');
insert into otp_codes (tenant_id, user_id, code_hash, type, purpose, target, expires_at)
values ('b0000000-0000-4000-8000-00000000000b', null, 'hmac', 'sms', 'login', '+15550199',
        now() + interval '10 minutes');
insert into notifications (tenant_id, user_id, type, template, recipient, content)
values ('b0000000-0000-4000-8000-00000000000b', 'b1000000-0000-4000-8000-00000000000b',
        'email', 'invite', 'bob@example.com', 'body with a live link');
commit;
SQL
}

assert_core() {
check "system roles and their permissions" <<'SQL'
begin;
set local role app_admin;
select pg_temp.ok(count(*) = 4, 'system tenant has owner, admin, member, super_admin')
from roles where tenant_id = 'a0000000-0000-4000-8000-00000000000a' and is_system;
select pg_temp.ok(array_agg(name::text order by name) = array['admin', 'member', 'owner'],
                  'other tenants have owner, admin, member')
from roles where tenant_id = 'b0000000-0000-4000-8000-00000000000b' and is_system;
select pg_temp.ok(
    (select count(*) from role_permissions rp join roles r on r.id = rp.role_id
      where r.tenant_id = t and r.name = 'owner') = 17
    and (select count(*) from role_permissions rp join roles r on r.id = rp.role_id
      where r.tenant_id = t and r.name = 'admin') = 16
    and not exists (select 1 from role_permissions rp join roles r on r.id = rp.role_id
                     join permissions p on p.id = rp.permission_id
                     where r.tenant_id = t and r.name = 'admin' and p.name = 'tenant:update')
    and not exists (select 1 from role_permissions rp join roles r on r.id = rp.role_id
                     where r.tenant_id = t and r.name = 'member'),
    'owner 17, admin 16 (no tenant:update), member 0 in tenant ' || t)
from unnest(array['a0000000-0000-4000-8000-00000000000a',
                  'b0000000-0000-4000-8000-00000000000b']::uuid[]) as t;
select pg_temp.ok(count(*) = 21, 'super_admin holds all 21 permissions: ' || count(*))
from role_permissions rp join roles r on r.id = rp.role_id where r.name = 'super_admin';
select pg_temp.ok(bool_and(rp.tenant_id = r.tenant_id), 'role_permissions.tenant_id = role tenant')
from role_permissions rp join roles r on r.id = rp.role_id;
commit;

-- as app_user of tenant B, tenant A is invisible: the function refuses it
begin;
set local role app_user;
select set_config('app.current_tenant_id', 'b0000000-0000-4000-8000-00000000000b', true);
select pg_temp.fails($q$select create_tenant_system_roles('a0000000-0000-4000-8000-00000000000a')$q$,
                     'P0002', 'app_user cannot create roles for another tenant');
commit;
SQL

check "RLS: app_user sees only its tenant" <<'SQL'
begin;
set local role app_user;
select set_config('app.current_tenant_id', 'a0000000-0000-4000-8000-00000000000a', true);
select pg_temp.ok((select count(*) from tenants) = 1, 'one tenant visible');
select pg_temp.ok((select slug from tenants) = 'system', 'its own tenant');
select pg_temp.ok((select count(*) from users) = 1, 'one user visible');
select pg_temp.ok(not exists (select 1 from users where id = 'b1000000-0000-4000-8000-00000000000b'),
                  'user of B invisible by id');
select pg_temp.ok((select count(*) from roles) = 4, 'only its 4 roles');
select pg_temp.ok((select count(*) from role_permissions) = 17 + 16 + 21, 'only its grants');
select pg_temp.ok((select count(*) from user_roles) = 1, 'only its assignments');
select pg_temp.ok((select count(*) from sessions) = 0 and (select count(*) from otp_codes) = 0
                  and (select count(*) from notifications) = 0, 'no sessions/otp/notifications of B');
select pg_temp.ok((select count(*) from audit_logs) > 0
                  and (select bool_and(tenant_id = 'a0000000-0000-4000-8000-00000000000a') from audit_logs),
                  'only its audit rows');
select pg_temp.ok((select count(*) from permissions) = 21, 'reads the catalog');
with u as (update users set first_name = 'x' where id = 'b1000000-0000-4000-8000-00000000000b' returning 1)
select pg_temp.ok((select count(*) from u) = 0, 'cannot update B''s user');
with d as (delete from sessions returning 1)
select pg_temp.ok((select count(*) from d) = 0, 'cannot delete B''s sessions');
commit;

begin;
set local role app_user;
select set_config('app.current_tenant_id', 'b0000000-0000-4000-8000-00000000000b', true);
select pg_temp.ok((select count(*) from users) = 1 and (select count(*) from sessions) = 1
                  and (select count(*) from otp_codes) = 1 and (select count(*) from notifications) = 1
                  and (select count(*) from roles) = 3,
                  'tenant B sees its own rows');
commit;

begin;
set local role app_readonly;
select set_config('app.current_tenant_id', 'b0000000-0000-4000-8000-00000000000b', true);
select pg_temp.ok((select count(*) from users) = 1 and (select count(*) from tenants) = 1,
                  'app_readonly sees its tenant');
select pg_temp.fails($q$update users set first_name = 'x'$q$, '42501', 'app_readonly cannot update');
select pg_temp.fails($q$select * from signing_keys$q$, '42501', 'app_readonly cannot read signing_keys');
commit;
SQL

check "RLS: no tenant set reads empty and refuses inserts" <<'SQL'
begin;
set local role app_user;
select pg_temp.ok(
    (select count(*) from tenants) + (select count(*) from users) + (select count(*) from roles)
    + (select count(*) from user_roles) + (select count(*) from role_permissions)
    + (select count(*) from sessions) + (select count(*) from otp_codes)
    + (select count(*) from notifications) + (select count(*) from audit_logs) = 0,
    'unset tenant: every table empty');
select pg_temp.fails($q$insert into users (tenant_id, email)
                        values ('a0000000-0000-4000-8000-00000000000a', 'x@example.com')$q$,
                     '42501', 'unset tenant: insert refused');
commit;

-- what a pooled connection reports after a tenant transaction: ''
begin;
set local role app_user;
select set_config('app.current_tenant_id', '', true);
select pg_temp.ok((select count(*) from users) = 0, 'empty-string tenant: empty, no cast error');
select pg_temp.fails($q$insert into audit_logs (tenant_id, action, resource_type)
                        values ('a0000000-0000-4000-8000-00000000000a', 'x', 'y')$q$,
                     '42501', 'empty-string tenant: audit insert refused');
commit;
SQL

check "RLS: cross-tenant writes refused" <<'SQL'
begin;
set local role app_user;
select set_config('app.current_tenant_id', 'a0000000-0000-4000-8000-00000000000a', true);
select pg_temp.fails($q$insert into users (tenant_id, email)
                        values ('b0000000-0000-4000-8000-00000000000b', 'evil@example.com')$q$,
                     '42501', 'insert into another tenant');
select pg_temp.fails($q$update users set tenant_id = 'b0000000-0000-4000-8000-00000000000b'
                        where id = 'a1000000-0000-4000-8000-00000000000a'$q$,
                     '42501', 'move a row to another tenant');
select pg_temp.fails($q$insert into audit_logs (tenant_id, action, resource_type)
                        values ('b0000000-0000-4000-8000-00000000000b', 'forged', 'users')$q$,
                     '42501', 'audit row for another tenant');
select pg_temp.fails($q$insert into user_roles (tenant_id, user_id, role_id)
                        select 'a0000000-0000-4000-8000-00000000000a',
                               'b1000000-0000-4000-8000-00000000000b', id from roles where name = 'member'$q$,
                     '23503', 'assign a role to another tenant''s user (composite FK)');
select pg_temp.fails($q$insert into sessions (tenant_id, user_id, token_hash, expires_at)
                        values ('a0000000-0000-4000-8000-00000000000a',
                                'b1000000-0000-4000-8000-00000000000b', 'tok-x', now())$q$,
                     '23503', 'session for another tenant''s user (composite FK)');
commit;
SQL

check "grants: least privilege for app_user" <<'SQL'
begin;
set local role app_user;
select set_config('app.current_tenant_id', 'a0000000-0000-4000-8000-00000000000a', true);
select pg_temp.fails($q$update audit_logs set action = 'x'$q$, '42501', 'app_user cannot UPDATE audit_logs');
select pg_temp.fails($q$delete from audit_logs$q$, '42501', 'app_user cannot DELETE audit_logs');
select pg_temp.fails($q$truncate audit_logs$q$, '42501', 'app_user cannot TRUNCATE audit_logs');
select pg_temp.fails($q$select count(*) from audit_logs_default$q$, '42501', 'app_user cannot read a partition directly');
select pg_temp.fails($q$insert into tenants (name, slug) values ('x', 'x')$q$, '42501', 'app_user cannot create tenants');
select pg_temp.fails($q$delete from tenants$q$, '42501', 'app_user cannot delete tenants');
select pg_temp.fails($q$insert into permissions (name, resource, action) values ('a:b', 'a', 'b')$q$,
                     '42501', 'app_user cannot change the catalog');
select pg_temp.fails($q$select * from signing_keys$q$, '42501', 'app_user cannot read signing_keys');
select pg_temp.fails($q$select create_audit_partitions(1)$q$, '42501', 'app_user cannot run partition maintenance');
select pg_temp.fails($q$select drop_audit_partitions_before(now())$q$, '42501', 'app_user cannot drop partitions');
update tenants set plan = 'pro' where id = 'a0000000-0000-4000-8000-00000000000a';
select pg_temp.ok((select plan from tenants) = 'pro', 'app_user updates its tenant');
commit;
begin;
set local role app_admin;
select pg_temp.fails($q$truncate audit_logs$q$, '42501', 'app_admin cannot TRUNCATE');
commit;
SQL

check "app_admin sees all; the owner without SET ROLE sees nothing" <<'SQL'
begin;
set local role app_admin;
select pg_temp.ok((select count(*) from tenants) = 2 and (select count(*) from users) = 2
                  and (select count(*) from roles) = 7 and (select count(*) from sessions) = 1,
                  'app_admin sees every tenant');
select pg_temp.ok((select count(distinct tenant_id) from audit_logs) = 2, 'app_admin sees all audit rows');
insert into signing_keys (kid, public_key, private_key_sealed) values ('k1', '\x01', '\x02');
select pg_temp.ok((select algorithm from signing_keys where kid = 'k1') = 'EdDSA', 'signing key stored');
commit;

select pg_temp.ok((select count(*) from users) = 0 and (select count(*) from tenants) = 0,
                  'owner, no role, no tenant: sees nothing');
begin;
select set_config('app.current_tenant_id', 'a0000000-0000-4000-8000-00000000000a', true);
select pg_temp.ok((select count(*) from users) = 0 and (select count(*) from audit_logs) = 0,
                  'owner with a tenant set but no SET ROLE: still nothing (inherited policies do not apply)');
commit;
SQL

check "audit rows: actor, tenant, ip, agent; secrets removed" <<'SQL'
begin;
set local role app_admin;
select pg_temp.ok(user_id = 'a1000000-0000-4000-8000-00000000000a'
                  and tenant_id = 'a0000000-0000-4000-8000-00000000000a'
                  and ip_address = '203.0.113.7'::inet and user_agent = 'ua'
                  and new_values ->> 'email' = 'alice@example.com'
                  and new_values ->> 'phone' = '+15550100'
                  and old_values is null,
                  'INSERT users audit row carries actor/tenant/ip/agent')
from audit_logs
where resource_type = 'users' and action = 'INSERT' and resource_id = 'a1000000-0000-4000-8000-00000000000a';
select pg_temp.ok(user_id is null and tenant_id = 'b0000000-0000-4000-8000-00000000000b'
                  and ip_address = '198.51.100.9'::inet,
                  'empty actor setting gives NULL user_id')
from audit_logs where resource_type = 'users' and resource_id = 'b1000000-0000-4000-8000-00000000000b'
                  and action = 'INSERT';
select pg_temp.ok(tenant_id = 'b0000000-0000-4000-8000-00000000000b' and user_id is null and ip_address is null,
                  'tenant created by app_admin without context: audit tenant falls back to the row id')
from audit_logs where resource_type = 'tenants' and action = 'INSERT'
                  and resource_id = 'b0000000-0000-4000-8000-00000000000b';
select pg_temp.ok(count(*) = 0, 'no audit row without a tenant')
from audit_logs where tenant_id is null;
select pg_temp.ok(count(*) = 0, 'no secret key in any audit row: ' || string_agg(k, ','))
from audit_logs a,
     lateral jsonb_object_keys(coalesce(a.old_values, '{}') || coalesce(a.new_values, '{}')) as k
where k in ('password_hash', 'mfa_secret', 'backup_codes')
   or k like '%token%' or k like '%secret%';
select pg_temp.ok(count(*) = 0, 'no secret value in any audit row')
from audit_logs
where (coalesce(old_values, '{}') || coalesce(new_values, '{}'))::text ~ '(argon2id|SEALED-TOTP|code1|token-hash)';
select pg_temp.ok(count(*) >= 1, 'audit rows for user_roles and role_permissions exist')
from audit_logs where resource_type = 'user_roles';
select pg_temp.ok(count(*) >= 17 + 16 + 21, 'role_permissions audited')
from audit_logs where resource_type = 'role_permissions';
select pg_temp.ok((select count(*) from audit_logs where resource_type = 'tenants' and action = 'UPDATE') >= 1,
                  'tenant update audited');
commit;
SQL

check "audit noise: secret-only updates and no-op updates write nothing; malformed ip tolerated" <<'SQL'
begin;
set local role app_user;
select set_config('app.current_tenant_id', 'a0000000-0000-4000-8000-00000000000a', true),
       set_config('app.current_user_id', 'a1000000-0000-4000-8000-00000000000a', true),
       set_config('app.ip_address', 'not an ip', true),
       set_config('app.user_agent', 'ua2', true);
create temp table n0 as select count(*) as c from audit_logs;
update users set password_hash = 'new-hash', mfa_secret = 'other', password_reset_token = null
where id = 'a1000000-0000-4000-8000-00000000000a';
update users set email = email where id = 'a1000000-0000-4000-8000-00000000000a';
select pg_temp.ok((select count(*) from audit_logs) = (select c from n0),
                  'secret-only and no-op updates: no audit row');
update users set first_name = 'Alice' where id = 'a1000000-0000-4000-8000-00000000000a';
select pg_temp.ok((select count(*) from audit_logs) = (select c from n0) + 1, 'real update: one audit row');
select pg_temp.ok(ip_address is null and user_agent = 'ua2' and action = 'UPDATE'
                  and new_values ->> 'first_name' = 'Alice' and old_values ->> 'first_name' is null
                  and not (new_values ? 'password_hash') and not (old_values ? 'mfa_secret'),
                  'malformed ip stored as NULL, old/new redacted')
from audit_logs where resource_type = 'users' and action = 'UPDATE'
order by created_at desc limit 1;
commit;
SQL

check "updated_at moves on UPDATE (tenants, users, roles)" <<'SQL'
begin;
set local role app_admin;
create temp table before_ts as
    select 'users' as t, updated_at from users where id = 'a1000000-0000-4000-8000-00000000000a'
    union all select 'tenants', updated_at from tenants where id = 'a0000000-0000-4000-8000-00000000000a'
    union all select 'roles', updated_at from roles
              where tenant_id = 'a0000000-0000-4000-8000-00000000000a' and name = 'member';
grant select on before_ts to app_user;
commit;
select pg_sleep(0.01);
begin;
set local role app_user;
select set_config('app.current_tenant_id', 'a0000000-0000-4000-8000-00000000000a', true);
update users set last_name = 'Liddell' where id = 'a1000000-0000-4000-8000-00000000000a';
update tenants set name = 'System operators';
update roles set description = 'everyone' where name = 'member';
select pg_temp.ok((select updated_at from users) > (select updated_at from before_ts where t = 'users'), 'users.updated_at');
select pg_temp.ok((select updated_at from tenants) > (select updated_at from before_ts where t = 'tenants'), 'tenants.updated_at');
select pg_temp.ok((select updated_at from roles where name = 'member') > (select updated_at from before_ts where t = 'roles'), 'roles.updated_at');
commit;
SQL

check "uniqueness: email per tenant, username case-insensitive, soft delete frees them, domain" <<'SQL'
begin;
set local role app_user;
select set_config('app.current_tenant_id', 'a0000000-0000-4000-8000-00000000000a', true);
select pg_temp.fails($q$insert into users (tenant_id, email, username)
                        values ('a0000000-0000-4000-8000-00000000000a', 'other@example.com', 'ALICE')$q$,
                     '23505', 'username unique case-insensitively');
select pg_temp.fails($q$insert into users (tenant_id, email)
                        values ('a0000000-0000-4000-8000-00000000000a', 'alice@example.com')$q$,
                     '23505', 'email unique per tenant');
insert into users (tenant_id, email) values ('a0000000-0000-4000-8000-00000000000a', 'nouser1@example.com');
insert into users (tenant_id, email) values ('a0000000-0000-4000-8000-00000000000a', 'nouser2@example.com');
select pg_temp.fails($q$insert into users (tenant_id, email, status)
                        values ('a0000000-0000-4000-8000-00000000000a', 'z@example.com', 'bogus')$q$,
                     '23514', 'user status checked');
commit;
begin;
set local role app_user;
select set_config('app.current_tenant_id', 'b0000000-0000-4000-8000-00000000000b', true);
insert into users (tenant_id, email, username)
values ('b0000000-0000-4000-8000-00000000000b', 'alice@example.com', 'alice');
update users set deleted_at = now() where email = 'bob@example.com';
insert into users (tenant_id, email) values ('b0000000-0000-4000-8000-00000000000b', 'bob@example.com');
select pg_temp.ok((select count(*) from users where email = 'bob@example.com') = 2, 'soft delete frees the email');
commit;
begin;
set local role app_admin;
select pg_temp.fails($q$insert into tenants (name, slug, domain) values ('c', 'c', 'beta.example.com')$q$,
                     '23505', 'domain unique case-insensitively');
select pg_temp.fails($q$insert into tenants (name, slug) values ('c', 'beta')$q$, '23505', 'slug unique');
select pg_temp.fails($q$update tenants set status = 'deleted'$q$, '23514', 'tenant status checked');
select pg_temp.ok((select slug from tenants where lower(domain) = lower('BETA.example.com')) = 'beta',
                  'tenant by Host, case-insensitively');
commit;
SQL

check "outbox: statuses, claim query uses the partial index" <<'SQL'
begin;
set local role app_admin;
select pg_temp.fails($q$update notifications set status = 'bogus'$q$, '23514', 'notification status checked');
select pg_temp.fails($q$update notifications set type = 'fax'$q$, '23514', 'notification type checked');
select pg_temp.fails($q$insert into otp_codes (tenant_id, code_hash, type, purpose, expires_at)
                        values ('b0000000-0000-4000-8000-00000000000b', 'h', 'sms', 'spam', now())$q$,
                     '23514', 'otp purpose checked');
set local enable_seqscan = off;
create temp table plan_text (line text);
do $$
declare r record;
begin
    for r in execute $e$explain select id from notifications
             where status in ('pending', 'retrying') and scheduled_at <= now()
             order by scheduled_at limit 10 for update skip locked$e$
    loop
        insert into plan_text values (r."QUERY PLAN");
    end loop;
end $$;
select pg_temp.ok(exists (select 1 from plan_text where line like '%idx_notifications_claim%'),
                  'claim query can use idx_notifications_claim');
with c as (
    select id from notifications
    where status in ('pending', 'retrying', 'sending') and scheduled_at <= now()
    order by scheduled_at limit 10 for update skip locked)
update notifications n set status = 'sending', scheduled_at = now() + interval '5 minutes'
from c where n.id = c.id;
select pg_temp.ok((select count(*) from notifications where status = 'sending') = 1, 'row claimed');
commit;
SQL

check "cascades: deleting a user under app_user removes its rows and audits them" <<'SQL'
begin;
set local role app_user;
select set_config('app.current_tenant_id', 'a0000000-0000-4000-8000-00000000000a', true),
       set_config('app.current_user_id', 'a1000000-0000-4000-8000-00000000000a', true);
insert into users (id, tenant_id, email)
values ('a2000000-0000-4000-8000-00000000000a', 'a0000000-0000-4000-8000-00000000000a', 'carol@example.com');
insert into user_roles (tenant_id, user_id, role_id, assigned_by)
select tenant_id, 'a2000000-0000-4000-8000-00000000000a', id, 'a1000000-0000-4000-8000-00000000000a'
from roles where name = 'member';
insert into sessions (tenant_id, user_id, token_hash, expires_at)
values ('a0000000-0000-4000-8000-00000000000a', 'a2000000-0000-4000-8000-00000000000a', 'tok-c', now() + interval '1 day');
insert into notifications (tenant_id, user_id, type, template, recipient, content)
values ('a0000000-0000-4000-8000-00000000000a', 'a2000000-0000-4000-8000-00000000000a',
        'sms', 'otp', '+15550111', '123456');
delete from users where id = 'a2000000-0000-4000-8000-00000000000a';
select pg_temp.ok(not exists (select 1 from user_roles where user_id = 'a2000000-0000-4000-8000-00000000000a')
                  and not exists (select 1 from sessions where token_hash = 'tok-c')
                  and not exists (select 1 from notifications where recipient = '+15550111'),
                  'dependants cascaded');
select pg_temp.ok(count(*) = 2, 'DELETE audited for users and the cascaded user_roles row: ' || count(*))
from audit_logs where action = 'DELETE' and resource_type in ('users', 'user_roles')
                  and old_values ->> (case resource_type when 'users' then 'id' else 'user_id' end)
                      = 'a2000000-0000-4000-8000-00000000000a';
commit;
-- hard-deleting the assigner nulls assigned_by instead of failing
begin;
set local role app_admin;
insert into users (id, tenant_id, email)
values ('a3000000-0000-4000-8000-00000000000a', 'a0000000-0000-4000-8000-00000000000a', 'dave@example.com');
update user_roles set assigned_by = 'a3000000-0000-4000-8000-00000000000a'
where user_id = 'a1000000-0000-4000-8000-00000000000a';
delete from users where id = 'a3000000-0000-4000-8000-00000000000a';
select pg_temp.ok((select assigned_by from user_roles where user_id = 'a1000000-0000-4000-8000-00000000000a') is null,
                  'assigned_by set null');
commit;
SQL
}

seed
assert_core

check "audit partitions: routing, moving rows out of DEFAULT, idempotence, retention" <<'SQL'
-- names of months relative to now (UTC)
create temp table m as
select i, 'audit_logs_' || to_char(date_trunc('month', now() at time zone 'UTC') + make_interval(months => i), 'YYYY_MM') as name,
       (date_trunc('month', now() at time zone 'UTC') + make_interval(months => i) + interval '1 day') at time zone 'UTC' as inside
from generate_series(-1, 8) as i;
grant select on m to public;

select pg_temp.ok(count(*) = 4, 'migration created current month + 3: ' || count(*))
from m where i between 0 and 3 and to_regclass(name) is not null;
select pg_temp.ok(to_regclass(name) is null, 'no partition for month +4 yet') from m where i = 4;

begin;
set local role app_admin;
insert into audit_logs (tenant_id, action, resource_type) values ('a0000000-0000-4000-8000-00000000000a', 'test.now', 'test');
insert into audit_logs (tenant_id, action, resource_type, created_at)
select 'a0000000-0000-4000-8000-00000000000a', 'test.future' || i, 'test', inside from m where i in (5, 6);
select pg_temp.ok(a.tableoid::regclass::text = m.name, 'current row routed to ' || m.name)
from audit_logs a, m where a.action = 'test.now' and m.i = 0;
select pg_temp.ok(count(*) = 2 and bool_and(tableoid::regclass::text = 'audit_logs_default'),
                  'future rows land in the DEFAULT partition')
from audit_logs where action like 'test.future%';
select pg_temp.ok(create_audit_partitions(7) = 4, 'created months +4..+7');
select pg_temp.ok(count(*) = 2 and bool_and(a.tableoid::regclass::text = m.name),
                  'rows moved from DEFAULT into their new partitions')
from audit_logs a join m on a.action = 'test.future' || m.i;
select pg_temp.ok(count(*) = 0, 'DEFAULT no longer holds them')
from audit_logs where tableoid = 'audit_logs_default'::regclass and action like 'test.future%';
select pg_temp.ok(create_audit_partitions(7) = 0, 'second run creates nothing');
select pg_temp.ok(create_audit_partitions(0) = 0, 'months_ahead 0 is idempotent too');
commit;

-- the new partitions carry the parent's indexes and no grants
select pg_temp.ok(count(*) = 5, 'partition indexes attached: ' || count(*))
from pg_index x join m on x.indrelid = to_regclass(m.name) where m.i = 6;
select pg_temp.ok(not has_table_privilege('app_user', m.name, 'select')
                  and not has_table_privilege('app_admin', m.name, 'select'),
                  'no direct grants on a new partition')
from m where i = 6;

-- retention: an old monthly partition (created by the owner) and an old row in DEFAULT
create table audit_logs_2000_01 partition of audit_logs for values from ('2000-01-01 00:00:00+00') to ('2000-02-01 00:00:00+00');
begin;
set local role app_admin;
insert into audit_logs (tenant_id, action, resource_type, created_at) values
    ('a0000000-0000-4000-8000-00000000000a', 'test.old', 'test', '2000-01-15 00:00:00+00'),
    ('a0000000-0000-4000-8000-00000000000a', 'test.older', 'test', '1999-06-01 00:00:00+00');
select pg_temp.ok(drop_audit_partitions_before('2000-01-31 00:00:00+00') = 0, 'month not entirely before cutoff is kept');
select pg_temp.ok(drop_audit_partitions_before('2000-02-01 00:00:00+00') = 1, 'old partition dropped');
select pg_temp.ok(to_regclass('audit_logs_2000_01') is null, 'audit_logs_2000_01 gone');
select pg_temp.ok(not exists (select 1 from audit_logs where action in ('test.old', 'test.older')),
                  'old rows gone, DEFAULT trimmed too');
select pg_temp.ok(exists (select 1 from audit_logs where action = 'test.now'), 'recent rows kept');
commit;
SQL

# --- 4. down / up with data ---------------------------------------------------

for (( k=${#UPS[@]}-1; k>=0; k-- )); do
    down "${UPS[$k]}"
    up "${UPS[$k]}"
    if [[ $(basename "${UPS[$k]}") == 0010_* ]]; then
check "re-applying 0010 with data restores the system roles' grants" <<'SQL'
begin;
set local role app_admin;
select pg_temp.ok(count(*) = 17 + 16 + 21 + 17 + 16, 'grants of system roles restored: ' || count(*))
from role_permissions rp join roles r on r.id = rp.role_id where r.is_system;
commit;
SQL
    fi
    down "${UPS[$k]}"
done

check "down to zero leaves nothing behind (roles kept)" <<'SQL'
select pg_temp.ok(count(*) = 0, 'no relations left: ' || coalesce(string_agg(relname, ', '), ''))
from pg_class where relnamespace = current_schema()::text::regnamespace;
select pg_temp.ok(count(*) = 0, 'no functions left: ' || coalesce(string_agg(proname, ', '), ''))
from pg_proc where pronamespace = current_schema()::text::regnamespace;
select pg_temp.ok(count(*) = 3, 'shared roles kept')
from pg_roles where rolname in ('app_user', 'app_admin', 'app_readonly');
SQL

all_up
SCHEMA_AFTER=$(pg_dump --schema-only --no-owner "$CHECK_URL" | grep -v '^--' | grep -v '^$' | grep -v '^\\\(un\)\?restrict ')
if [[ $SCHEMA_BEFORE != "$SCHEMA_AFTER" ]]; then
    diff <(printf '%s\n' "$SCHEMA_BEFORE") <(printf '%s\n' "$SCHEMA_AFTER") | head -40 >&2
    die "schema after down/up differs from the first migration"
fi
echo "ok - schema after down to zero and up again is identical"

seed
assert_core

echo "ALL CHECKS PASSED ($DB)"
