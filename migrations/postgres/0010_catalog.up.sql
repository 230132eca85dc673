-- 0010_catalog: the permission catalog of the API (resource:action, scope
-- 'tenant' or 'system') and create_tenant_system_roles(tenant_id), which
-- gives a tenant its system roles. Every tenant creation calls it; this
-- migration also calls it for tenants that already exist (idempotent), so
-- re-applying it after a down restores their system roles' grants.

insert into permissions (name, resource, action, scope, description) values
    ('tenant:read',          'tenant',        'read',   'tenant', 'View the tenant and its settings'),
    ('tenant:update',        'tenant',        'update', 'tenant', 'Change the tenant and its settings'),
    ('users:read',           'users',         'read',   'tenant', 'List and view users'),
    ('users:create',         'users',         'create', 'tenant', 'Create and invite users'),
    ('users:update',         'users',         'update', 'tenant', 'Change, restore and unlock users'),
    ('users:delete',         'users',         'delete', 'tenant', 'Delete users'),
    ('roles:read',           'roles',         'read',   'tenant', 'List roles, assignments and effective permissions'),
    ('roles:create',         'roles',         'create', 'tenant', 'Create roles'),
    ('roles:update',         'roles',         'update', 'tenant', 'Change roles and their permissions'),
    ('roles:delete',         'roles',         'delete', 'tenant', 'Delete roles'),
    ('roles:assign',         'roles',         'assign', 'tenant', 'Assign roles to users and remove them'),
    ('permissions:read',     'permissions',   'read',   'tenant', 'View the permission catalog'),
    ('sessions:read',        'sessions',      'read',   'tenant', 'View users'' sessions'),
    ('sessions:revoke',      'sessions',      'revoke', 'tenant', 'Revoke users'' sessions'),
    ('audit:read',           'audit',         'read',   'tenant', 'View and export the audit log'),
    ('notifications:read',   'notifications', 'read',   'tenant', 'View notifications'),
    ('notifications:manage', 'notifications', 'manage', 'tenant', 'Retry notifications'),
    ('tenants:read',         'tenants',       'read',   'system', 'List and view all tenants'),
    ('tenants:create',       'tenants',       'create', 'system', 'Create tenants'),
    ('tenants:update',       'tenants',       'update', 'system', 'Change, suspend and activate tenants'),
    ('tenants:delete',       'tenants',       'delete', 'system', 'Delete tenants')
on conflict (name) do nothing;

-- create_tenant_system_roles(p_tenant_id): creates the tenant's system roles
-- (is_system = true) and their grants, skipping what exists:
--   owner        every tenant-scope permission
--   admin        every tenant-scope permission but tenant:update
--   member       none
--   super_admin  every permission, tenant and system scope — only for the
--                tenant whose slug is 'system' (the operators' tenant)
-- Re-running it also grants permissions added to the catalog since.
--
-- SECURITY INVOKER on purpose: as app_admin it works for any tenant; as
-- app_user it works for the current tenant only (RLS hides other tenants,
-- which then raise "tenant not found") — no privilege is lent to callers.
create or replace function create_tenant_system_roles(p_tenant_id uuid)
returns void
language plpgsql
as $$
declare
    v_slug text;
begin
    select t.slug into v_slug from tenants t where t.id = p_tenant_id;
    if not found then
        raise exception 'create_tenant_system_roles: tenant % not found', p_tenant_id
            using errcode = 'no_data_found';
    end if;

    insert into roles (tenant_id, name, description, is_system)
    select p_tenant_id, r.name, r.description, true
    from (values
        ('owner',       'Every tenant permission'),
        ('admin',       'Every tenant permission except changing the tenant itself'),
        ('member',      'Signed-in user without administrative permissions'),
        ('super_admin', 'System operator: every permission, tenant and system scope')
    ) as r (name, description)
    where r.name <> 'super_admin' or v_slug = 'system'
    on conflict (tenant_id, name) where deleted_at is null do nothing;

    insert into role_permissions (tenant_id, role_id, permission_id)
    select p_tenant_id, r.id, p.id
    from roles r
    join permissions p
      on case r.name
             when 'owner'       then p.scope = 'tenant'
             when 'admin'       then p.scope = 'tenant' and p.name <> 'tenant:update'
             when 'super_admin' then v_slug = 'system'
             else false
         end
    where r.tenant_id = p_tenant_id
      and r.is_system
      and r.deleted_at is null
    on conflict (role_id, permission_id) do nothing;
end;
$$;

do $$
begin
    execute format('alter function create_tenant_system_roles(uuid) set search_path = %I, pg_temp', current_schema());
end
$$;

revoke execute on function create_tenant_system_roles(uuid) from public;
grant execute on function create_tenant_system_roles(uuid) to app_admin, app_user;

-- Existing tenants (re-applying after a down). The owner sees no rows under
-- FORCE ROW LEVEL SECURITY (0009), so this data step runs as app_admin; the
-- role is reset before sqlx records the migration.
set local role app_admin;
select create_tenant_system_roles(t.id) from tenants t where t.deleted_at is null;
reset role;
