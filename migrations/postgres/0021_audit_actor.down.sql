-- 0021_audit_actor (down): the trigger of 0011, without the actor.

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

alter table audit_logs drop column actor;
