-- 0001_roles_and_functions: cluster roles and the shared trigger functions.
--
-- Creates the NOLOGIN roles the application switches to with SET LOCAL ROLE
-- (app_user: tenant-bound, row-level security enforced; app_admin: named
-- system operations across tenants; app_readonly: tenant-bound reporting),
-- grants them to the connecting role, and defines the functions every later
-- migration's triggers use: update_updated_at_column(), audit_redact(jsonb)
-- and create_audit_log().
--
-- sqlx runs this file inside its own transaction: no BEGIN/COMMIT here.
-- The connecting role needs CREATEROLE (not superuser, not BYPASSRLS).

-- Roles are cluster-wide while this migration runs once per database, and a
-- test suite migrates many databases of one cluster concurrently. Each
-- CREATE ROLE is therefore guarded: duplicate_object when the role already
-- exists, unique_violation when a concurrent transaction created it between
-- our check and our insert into pg_authid.
do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'app_user') then
        create role app_user nologin;
    end if;
exception when duplicate_object or unique_violation then
    null;
end
$$;

do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'app_admin') then
        create role app_admin nologin;
    end if;
exception when duplicate_object or unique_violation then
    null;
end
$$;

do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'app_readonly') then
        create role app_readonly nologin;
    end if;
exception when duplicate_object or unique_violation then
    null;
end
$$;

-- The connecting role must be a member to SET LOCAL ROLE to them. Granting
-- an existing membership only raises a NOTICE, but two concurrent grants of
-- the same membership race on pg_auth_members' unique index.
do $$
begin
    grant app_user, app_admin, app_readonly to current_user;
exception when duplicate_object or unique_violation then
    null;
end
$$;

-- Schema usage for the three roles (PostgreSQL 15 no longer lets PUBLIC
-- create in "public", but PUBLIC keeps USAGE; be explicit anyway). Only
-- possible when the connecting role owns the schema or holds the grant
-- option; otherwise the roles rely on PUBLIC's USAGE.
do $$
begin
    if has_schema_privilege(current_schema(), 'USAGE WITH GRANT OPTION') then
        execute format('grant usage on schema %I to app_user, app_admin, app_readonly',
                       current_schema());
    else
        raise notice 'azth: cannot grant usage on schema %; relying on PUBLIC', current_schema();
    end if;
end
$$;

-- updated_at maintenance, from the seed. Works under RLS (BEFORE UPDATE).
create or replace function update_updated_at_column()
returns trigger
language plpgsql
as $$
begin
    new.updated_at = now();
    return new;
end;
$$;

-- IMPROVED: the seed's audit trigger copied whole rows, password hashes
-- included, into audit_logs. Every audited row now passes through this
-- redaction first. It removes, at the top level of the row object:
--   * password_hash, mfa_secret, backup_codes (named in the design);
--   * every key containing "token" or "secret", so future token and
--     token-hash columns are covered without touching this function;
--   * defensively, every key ending in "_hash" and every key containing
--     "private_key" (code_hash, any other stored hash, sealed key material).
-- Nested objects (tenants.settings) are kept: their keys such as
-- "access_token_ttl_seconds" are policy, not secrets.
create or replace function audit_redact(p_row jsonb)
returns jsonb
language sql
immutable
strict
parallel safe
as $$
    select coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb)
    from jsonb_each(p_row) as e
    where lower(e.key) not in ('password_hash', 'mfa_secret', 'backup_codes')
      and strpos(lower(e.key), 'token') = 0
      and strpos(lower(e.key), 'secret') = 0
      and strpos(lower(e.key), 'private_key') = 0
      and right(lower(e.key), 5) <> '_hash'
$$;

-- Row-level audit trigger (AFTER INSERT OR UPDATE OR DELETE, FOR EACH ROW).
--
-- Context comes from the transaction-local settings the store sets with
-- set_config(…, true): app.current_user_id (actor), app.current_tenant_id,
-- app.ip_address, app.user_agent. Each is read with
-- NULLIF(current_setting(name, true), '') because a pooled connection
-- reports '' (not NULL) after a transaction that set it.
--
-- IMPROVED over the seed:
--   * secrets are removed (audit_redact) from old_values/new_values;
--   * a malformed ip (or uuid) setting yields NULL instead of aborting the
--     audited write (the cast is guarded by an exception block that is only
--     entered when the setting is non-empty);
--   * the audit row's tenant falls back to the row's own tenant (tenant_id,
--     or id for tenants) when no tenant is set (app_admin system work), so
--     it is never NULL for tenant data;
--   * an UPDATE whose redacted old and new rows differ only in updated_at
--     (a no-op update, or one touching only secret columns) writes nothing;
--   * created_at is clock_timestamp(), so several audit rows of one
--     transaction keep their order.
--
-- SECURITY INVOKER on purpose: run by app_user, the INSERT must pass the
-- audit_logs WITH CHECK policy, which it does because the audit tenant is
-- the current tenant (or, under RLS, the row's tenant, which equals it).
-- A SECURITY DEFINER version would run as the table owner, which FORCE
-- ROW LEVEL SECURITY leaves without any policy.
create or replace function create_audit_log()
returns trigger
language plpgsql
as $$
declare
    v_row        jsonb;
    v_old        jsonb;
    v_new        jsonb;
    v_row_tenant uuid;
    v_tenant     uuid;
    v_actor      uuid;
    v_ip         inet;
    v_raw        text;
begin
    if tg_op in ('UPDATE', 'DELETE') then
        v_row := to_jsonb(old);
        v_old := audit_redact(v_row);
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        v_row := to_jsonb(new);
        v_new := audit_redact(v_row);
    end if;

    if tg_op = 'UPDATE' and (v_old - 'updated_at') = (v_new - 'updated_at') then
        return null;
    end if;

    if tg_table_name = 'tenants' then
        v_row_tenant := (v_row ->> 'id')::uuid;
    else
        v_row_tenant := (v_row ->> 'tenant_id')::uuid;
    end if;

    v_raw := nullif(current_setting('app.current_tenant_id', true), '');
    if v_raw is not null then
        begin
            v_tenant := v_raw::uuid;
        exception when data_exception then
            v_tenant := null;
        end;
    end if;

    v_raw := nullif(current_setting('app.current_user_id', true), '');
    if v_raw is not null then
        begin
            v_actor := v_raw::uuid;
        exception when data_exception then
            v_actor := null;
        end;
    end if;

    v_raw := nullif(current_setting('app.ip_address', true), '');
    if v_raw is not null then
        begin
            v_ip := v_raw::inet;
        exception when data_exception then
            v_ip := null;
        end;
    end if;

    insert into audit_logs (
        tenant_id, user_id, action, resource_type, resource_id,
        old_values, new_values, ip_address, user_agent, created_at
    ) values (
        coalesce(v_tenant, v_row_tenant), v_actor, tg_op, tg_table_name,
        (v_row ->> 'id')::uuid, v_old, v_new, v_ip,
        nullif(current_setting('app.user_agent', true), ''), clock_timestamp()
    );

    return null; -- AFTER trigger: the result is ignored
end;
$$;

-- Pin search_path (the trigger functions run as whichever role fires them)
-- to this schema; pg_catalog is searched first implicitly, pg_temp last.
do $$
begin
    execute format('alter function update_updated_at_column() set search_path = %I, pg_temp', current_schema());
    execute format('alter function audit_redact(jsonb) set search_path = %I, pg_temp', current_schema());
    execute format('alter function create_audit_log() set search_path = %I, pg_temp', current_schema());
end
$$;

-- Least privilege on functions: PUBLIC gets EXECUTE by default. Trigger
-- functions need no EXECUTE at fire time (only at CREATE TRIGGER, done by
-- the owner); audit_redact is called from inside the trigger by the role
-- doing the write, and is handy for the application's own audit rows.
revoke execute on function update_updated_at_column() from public;
revoke execute on function create_audit_log() from public;
revoke execute on function audit_redact(jsonb) from public;
grant execute on function audit_redact(jsonb) to app_user, app_admin;
