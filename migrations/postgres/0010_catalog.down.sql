-- 0010_catalog (down): removes the catalog permissions (their grants to
-- roles go with them, ON DELETE CASCADE) and create_tenant_system_roles.
-- The roles it created stay; 0005's down drops them with the table.
-- Runs as app_admin so the cascade's audit rows pass the audit_logs policy.

set local role app_admin;
delete from permissions
where name in (
    'tenant:read', 'tenant:update',
    'users:read', 'users:create', 'users:update', 'users:delete',
    'roles:read', 'roles:create', 'roles:update', 'roles:delete', 'roles:assign',
    'permissions:read', 'sessions:read', 'sessions:revoke', 'audit:read',
    'notifications:read', 'notifications:manage',
    'tenants:read', 'tenants:create', 'tenants:update', 'tenants:delete'
);
reset role;

drop function create_tenant_system_roles(uuid);
