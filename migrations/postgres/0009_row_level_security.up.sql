-- 0009_row_level_security: tenant isolation and least-privilege grants.
--
-- Enables and FORCEs row-level security on every tenant-aware table
-- (tenants, users, roles, user_roles, role_permissions, sessions, otp_codes,
-- notifications, audit_logs), creates the policies of app_user,
-- app_readonly and app_admin, and grants table privileges.
--
-- The application never queries as the connecting role. Each transaction
-- starts with SET LOCAL ROLE app_user plus
--   set_config('app.current_tenant_id' | 'app.current_user_id'
--              | 'app.ip_address' | 'app.user_agent', …, true)
-- or, for named system operations, SET LOCAL ROLE app_admin.
--
-- Tenant predicate: tenant_id = NULLIF(current_setting('app.current_tenant_id',
-- true), '')::uuid (id = … on tenants). The NULLIF matters: after a
-- transaction that set it, a pooled connection reports '' rather than NULL,
-- and ''::uuid would raise. With no tenant set every table reads empty and
-- every INSERT is refused.
--
-- IMPROVED: each policy also requires current_user to BE its role. PostgreSQL
-- applies a policy "TO r" to every role that inherits r, and the connecting
-- role (the table owner) is a member of all three roles; without this guard
-- the owner would match app_admin's USING (true) and see every tenant,
-- so code that forgot SET LOCAL ROLE would silently read across tenants.
-- With it, the owner matches no policy and FORCE ROW LEVEL SECURITY leaves
-- it seeing nothing (fail closed). Consequence: data migrations that must
-- read or write rows run SET LOCAL ROLE app_admin (see 0010). Reporting
-- logins granted app_readonly must SET ROLE app_readonly too.
-- current_user is stable, so the guard is evaluated once per query.
--
-- Foreign-key checks and ON DELETE CASCADE run as the table owner with RLS
-- suspended (PostgreSQL's referential-integrity context), so they work
-- across these policies; audit rows of cascaded deletes are written after
-- the statement, as the role that issued it.
--
-- audit_logs partitions get neither RLS nor grants: they are reachable only
-- through the parent (which has both) or by the owner.

-- Tables whose rows carry tenant_id.
do $$
declare
    t text;
begin
    foreach t in array array['users', 'roles', 'user_roles', 'role_permissions',
                             'sessions', 'otp_codes', 'notifications']
    loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);

        execute format($p$
            create policy %I on %I for all to app_user
                using (current_user = 'app_user'
                       and tenant_id = nullif(current_setting('app.current_tenant_id', true), '')::uuid)
                with check (current_user = 'app_user'
                       and tenant_id = nullif(current_setting('app.current_tenant_id', true), '')::uuid)
            $p$, t || '_app_user', t);

        execute format($p$
            create policy %I on %I for select to app_readonly
                using (current_user = 'app_readonly'
                       and tenant_id = nullif(current_setting('app.current_tenant_id', true), '')::uuid)
            $p$, t || '_app_readonly', t);

        execute format($p$
            create policy %I on %I for all to app_admin
                using (current_user = 'app_admin')
                with check (current_user = 'app_admin')
            $p$, t || '_app_admin', t);
    end loop;
end
$$;

-- tenants: a tenant is its own row (id). app_user may read and update it
-- (PATCH /tenant), never insert or delete: tenants are created by app_admin.
alter table tenants enable row level security;
alter table tenants force row level security;

create policy tenants_app_user_select on tenants for select to app_user
    using (current_user = 'app_user'
           and id = nullif(current_setting('app.current_tenant_id', true), '')::uuid);
create policy tenants_app_user_update on tenants for update to app_user
    using (current_user = 'app_user'
           and id = nullif(current_setting('app.current_tenant_id', true), '')::uuid)
    with check (current_user = 'app_user'
           and id = nullif(current_setting('app.current_tenant_id', true), '')::uuid);
create policy tenants_app_readonly on tenants for select to app_readonly
    using (current_user = 'app_readonly'
           and id = nullif(current_setting('app.current_tenant_id', true), '')::uuid);
create policy tenants_app_admin on tenants for all to app_admin
    using (current_user = 'app_admin')
    with check (current_user = 'app_admin');

-- audit_logs: app_user reads and appends its tenant's rows; there is no
-- UPDATE or DELETE policy for it (and no such privilege below).
alter table audit_logs enable row level security;
alter table audit_logs force row level security;

create policy audit_logs_app_user_select on audit_logs for select to app_user
    using (current_user = 'app_user'
           and tenant_id = nullif(current_setting('app.current_tenant_id', true), '')::uuid);
create policy audit_logs_app_user_insert on audit_logs for insert to app_user
    with check (current_user = 'app_user'
           and tenant_id = nullif(current_setting('app.current_tenant_id', true), '')::uuid);
create policy audit_logs_app_readonly on audit_logs for select to app_readonly
    using (current_user = 'app_readonly'
           and tenant_id = nullif(current_setting('app.current_tenant_id', true), '')::uuid);
create policy audit_logs_app_admin on audit_logs for all to app_admin
    using (current_user = 'app_admin')
    with check (current_user = 'app_admin');

-- Grants (least privilege).
-- app_user: full DML on its tenant's data, except: tenants read/update only;
-- audit_logs read/append only (never UPDATE/DELETE); the permission catalog
-- read-only; signing_keys nothing (key loading is a system() operation).
grant select, insert, update, delete
    on users, roles, user_roles, role_permissions, sessions, otp_codes, notifications
    to app_user;
grant select, update on tenants to app_user;
grant select, insert on audit_logs to app_user;
grant select on permissions to app_user;

-- app_admin: every table. IMPROVED: DML only (SELECT, INSERT, UPDATE,
-- DELETE) rather than ALL: TRUNCATE would wipe tables past RLS and the audit
-- triggers, TRIGGER would let it attach code to tables, REFERENCES is
-- never needed. The owner keeps those for migrations and tests.
grant select, insert, update, delete
    on tenants, users, roles, permissions, user_roles, role_permissions,
       sessions, otp_codes, notifications, audit_logs, signing_keys
    to app_admin;

-- app_readonly: reads everything but the signing keys.
grant select
    on tenants, users, roles, permissions, user_roles, role_permissions,
       sessions, otp_codes, notifications, audit_logs
    to app_readonly;
