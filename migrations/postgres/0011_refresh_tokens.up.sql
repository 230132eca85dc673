-- 0011_refresh_tokens: refresh-token rotation with reuse detection, and
-- what a session must remember to mint its next access token.
--
-- Every refresh token ever issued for a session is kept (as a SHA-256 hash)
-- until the session expires: presenting one that was already spent is how
-- theft is detected (RFC 9700 §4.14.2), and then the whole session is
-- revoked. `spent_at` is set by a single UPDATE … WHERE spent_at IS NULL, so
-- of two concurrent refreshes with one token exactly one wins.
--
-- sessions.amr keeps the authentication methods of the sign-in (RFC 8176)
-- for the tokens minted by refresh; sessions.mode says whether the session
-- is held by an API client (token) or a browser (cookie).
--
-- The audit trigger also stops recording updates that only move
-- last_login_at: every successful sign-in already writes the application
-- event auth.login.succeeded, and a second row per login is noise.

create table refresh_tokens (
    token_hash text        primary key,
    tenant_id  uuid        not null references tenants (id),
    session_id uuid        not null references sessions (id) on delete cascade,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    spent_at   timestamptz
);
create index idx_refresh_tokens_tenant_session on refresh_tokens (tenant_id, session_id);
create index idx_refresh_tokens_expires_at on refresh_tokens (expires_at);

alter table sessions
    add column amr text[] not null default '{}',
    add column mode varchar(10) not null default 'token'
        constraint sessions_mode_check check (mode in ('token', 'cookie'));

-- The seed's single refresh_token_hash column is superseded by the table above.
drop index sessions_refresh_token_hash_key;
alter table sessions drop column refresh_token_hash;

alter table refresh_tokens enable row level security;
alter table refresh_tokens force row level security;
create policy refresh_tokens_app_user on refresh_tokens for all to app_user
    using (current_user = 'app_user'
           and tenant_id = nullif(current_setting('app.current_tenant_id', true), '')::uuid)
    with check (current_user = 'app_user'
           and tenant_id = nullif(current_setting('app.current_tenant_id', true), '')::uuid);
create policy refresh_tokens_app_readonly on refresh_tokens for select to app_readonly
    using (current_user = 'app_readonly'
           and tenant_id = nullif(current_setting('app.current_tenant_id', true), '')::uuid);
create policy refresh_tokens_app_admin on refresh_tokens for all to app_admin
    using (current_user = 'app_admin')
    with check (current_user = 'app_admin');

grant select, insert, update, delete on refresh_tokens to app_user, app_admin;
grant select on refresh_tokens to app_readonly;

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

    if tg_op = 'UPDATE' and (v_old - array['updated_at', 'last_login_at']) = (v_new - array['updated_at', 'last_login_at']) then
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

-- CREATE OR REPLACE resets the function's settings: pin search_path again.
do $$
begin
    execute format('alter function create_audit_log() set search_path = %I, pg_temp', current_schema());
end
$$;
