-- 0009_row_level_security (down): revokes the table grants, drops every
-- policy and disables row-level security again. The roles themselves are
-- cluster-wide and stay (see 0001).

revoke all
    on tenants, users, roles, permissions, user_roles, role_permissions,
       sessions, otp_codes, notifications, audit_logs, signing_keys
    from app_user, app_admin, app_readonly;

drop policy audit_logs_app_admin on audit_logs;
drop policy audit_logs_app_readonly on audit_logs;
drop policy audit_logs_app_user_insert on audit_logs;
drop policy audit_logs_app_user_select on audit_logs;
alter table audit_logs no force row level security;
alter table audit_logs disable row level security;

drop policy tenants_app_admin on tenants;
drop policy tenants_app_readonly on tenants;
drop policy tenants_app_user_update on tenants;
drop policy tenants_app_user_select on tenants;
alter table tenants no force row level security;
alter table tenants disable row level security;

do $$
declare
    t text;
begin
    foreach t in array array['users', 'roles', 'user_roles', 'role_permissions',
                             'sessions', 'otp_codes', 'notifications']
    loop
        execute format('drop policy %I on %I', t || '_app_admin', t);
        execute format('drop policy %I on %I', t || '_app_readonly', t);
        execute format('drop policy %I on %I', t || '_app_user', t);
        execute format('alter table %I no force row level security', t);
        execute format('alter table %I disable row level security', t);
    end loop;
end
$$;
