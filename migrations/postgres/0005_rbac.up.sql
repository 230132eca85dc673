-- 0005_rbac: role-based access control. roles (per tenant), permissions
-- (the global catalog, seeded in 0010_catalog), user_roles (assignments) and
-- role_permissions (grants), with their triggers.
--
-- user_roles and role_permissions gain tenant_id (not in the seed) so that
-- their RLS policies need no join; composite foreign keys guarantee it is
-- the tenant of the user and of the role they point to.

create table roles (
    id          uuid         primary key default gen_random_uuid(),
    tenant_id   uuid         not null references tenants (id),
    name        varchar(100) not null,
    description text,
    -- IMPROVED: NOT NULL on defaulted columns.
    is_system   boolean      not null default false,
    created_at  timestamptz  not null default now(),
    updated_at  timestamptz  not null default now(),
    deleted_at  timestamptz,
    -- IMPROVED: target of the composite foreign keys of user_roles and
    -- role_permissions (no assignment or grant can cross tenants).
    constraint roles_tenant_id_id_key unique (tenant_id, id)
);

-- Role name unique per tenant among live roles. create_tenant_system_roles
-- relies on it: ON CONFLICT (tenant_id, name) WHERE deleted_at IS NULL.
create unique index idx_roles_tenant_name
    on roles (tenant_id, name)
    where deleted_at is null;

create table permissions (
    id          uuid         primary key default gen_random_uuid(),
    name        varchar(100) not null,
    resource    varchar(50)  not null,
    action      varchar(50)  not null,
    -- IMPROVED: NOT NULL, and only 'tenant' or 'system'.
    scope       varchar(20)  not null default 'tenant',
    description text,
    created_at  timestamptz  not null default now(),
    constraint permissions_name_key unique (name),
    constraint permissions_scope_check check (scope in ('tenant', 'system')),
    -- IMPROVED: the name is always resource:action.
    constraint permissions_name_check check (name = resource || ':' || action)
);

-- IMPROVED: the seed's idx_permissions_resource (resource) is a prefix of
-- the unique (resource, action) index below; dropped.
create unique index idx_permissions_resource_action on permissions (resource, action);
create index idx_permissions_action on permissions (action);

create table user_roles (
    id          uuid        primary key default gen_random_uuid(),
    tenant_id   uuid        not null references tenants (id),
    user_id     uuid        not null,
    role_id     uuid        not null,
    -- IMPROVED: ON DELETE SET NULL. With the seed's plain reference, hard-
    -- deleting (purging) a user who ever assigned a role failed. Not tied to
    -- the tenant: a system operator may assign roles in another tenant.
    assigned_by uuid        references users (id) on delete set null,
    -- IMPROVED: NOT NULL on defaulted timestamps.
    assigned_at timestamptz not null default now(),
    expires_at  timestamptz,
    created_at  timestamptz not null default now(),
    -- IMPROVED: composite keys: the user and the role belong to tenant_id.
    constraint user_roles_user_fkey foreign key (tenant_id, user_id)
        references users (tenant_id, id) on delete cascade,
    constraint user_roles_role_fkey foreign key (tenant_id, role_id)
        references roles (tenant_id, id) on delete cascade
);

create unique index idx_user_roles_user_role on user_roles (user_id, role_id);
-- IMPROVED: the seed's idx_user_roles_user_id (user_id) is a prefix of the
-- unique index above; dropped. idx_user_roles_role_id becomes tenant-leading
-- (tenant_id, role_id): it serves "users holding role X" (the users list's
-- role filter) and the cascade from roles.
create index idx_user_roles_tenant_role on user_roles (tenant_id, role_id);
-- IMPROVED: partial; only time-limited assignments are indexed.
create index idx_user_roles_expires_at
    on user_roles (expires_at)
    where expires_at is not null;
-- Serves the ON DELETE SET NULL from users.
create index idx_user_roles_assigned_by
    on user_roles (assigned_by)
    where assigned_by is not null;

create table role_permissions (
    id            uuid        primary key default gen_random_uuid(),
    tenant_id     uuid        not null references tenants (id),
    role_id       uuid        not null,
    permission_id uuid        not null references permissions (id) on delete cascade,
    created_at    timestamptz not null default now(),
    -- IMPROVED: composite key: the role belongs to tenant_id.
    constraint role_permissions_role_fkey foreign key (tenant_id, role_id)
        references roles (tenant_id, id) on delete cascade
);

create unique index idx_role_permissions_role_permission
    on role_permissions (role_id, permission_id);
-- Tenant-leading: all grants of a tenant's roles at once (GET /roles).
create index idx_role_permissions_tenant_role on role_permissions (tenant_id, role_id);
-- IMPROVED: serves the cascade from permissions (the seed had no index).
create index idx_role_permissions_permission_id on role_permissions (permission_id);

create trigger trigger_roles_updated_at
    before update on roles
    for each row
    execute function update_updated_at_column();

create trigger trigger_roles_audit
    after insert or update or delete on roles
    for each row
    execute function create_audit_log();

create trigger trigger_user_roles_audit
    after insert or update or delete on user_roles
    for each row
    execute function create_audit_log();

create trigger trigger_role_permissions_audit
    after insert or update or delete on role_permissions
    for each row
    execute function create_audit_log();
