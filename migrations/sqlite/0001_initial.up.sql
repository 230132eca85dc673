-- The embedded schema (SQLite): the seed's tables with types mapped honestly.
--
-- Types: uuid -> TEXT (hyphenated, lower case); timestamptz -> INTEGER
-- (microseconds since the Unix epoch, UTC, always written by the store);
-- varchar(n) -> TEXT with a CHECK on length(); boolean -> INTEGER 0/1 with a CHECK; jsonb -> TEXT checked by json_valid;
-- text[] -> TEXT holding a JSON array; inet -> TEXT; bytea -> BLOB.
--
-- There is no row-level security in SQLite: tenant isolation is enforced by
-- the store, whose every tenant-scoped query names the tenant (ARCHITECTURE.md).
-- The composite foreign keys (tenant_id, user_id)/(tenant_id, role_id) of the
-- PostgreSQL schema are kept, so no row can point at another tenant's row.
--
-- IMPROVED (over the seed, as in migrations/postgres): audit rows never hold
-- password hashes, second-factor secrets, backup codes or tokens; audit_logs
-- has no foreign keys (history outlives what it describes); NOT NULL and
-- CHECK on every column with a default or a closed set of values.
--
-- Differences from PostgreSQL, on purpose:
-- * audit_logs is one table (SQLite has no partitions); retention deletes by
--   created_at through idx_audit_logs_created.
-- * updated_at is set by the store in each UPDATE (a trigger updating its own
--   table would re-fire the audit trigger).
-- * The audit triggers read the actor, tenant, ip and user agent from
--   audit_context, a one-row table the store fills at the start of each write
--   transaction and empties before commit (SQLite has no set_config; writes
--   are serialised, so the row belongs to the transaction that holds the
--   write lock).

create table tenants (
    id         text    primary key not null,
    name       text    not null check (length(name) <= 255),
    slug       text    not null check (length(slug) <= 100),
    domain     text check (length(domain) <= 255),
    status     text    not null default 'active' check (status in ('active', 'suspended')),
    plan       text    not null default 'free' check (length(plan) <= 50),
    settings   text    not null default '{}' check (json_valid(settings) and json_type(settings) = 'object'),
    created_at integer not null,
    updated_at integer not null,
    deleted_at integer,
    constraint tenants_slug_key unique (slug)
);
create unique index idx_tenants_domain on tenants (lower(domain)) where domain is not null and deleted_at is null;
create index idx_tenants_status on tenants (status);
create index idx_tenants_created on tenants (created_at, id);

create table users (
    id                            text    primary key not null,
    tenant_id                     text    not null references tenants (id),
    email                         text    not null check (length(email) <= 255),
    username                      text check (length(username) <= 100),
    password_hash                 text,
    first_name                    text check (length(first_name) <= 100),
    last_name                     text check (length(last_name) <= 100),
    avatar                        text,
    phone                         text check (length(phone) <= 32),
    email_verified                integer not null default 0 check (email_verified in (0, 1)),
    phone_verified                integer not null default 0 check (phone_verified in (0, 1)),
    email_verification_token      text,
    email_verification_expires_at integer,
    mfa_enabled                   integer not null default 0 check (mfa_enabled in (0, 1)),
    mfa_secret                    text,
    mfa_last_step                 integer,
    -- JSON array of backup-code digests (text[] in PostgreSQL).
    backup_codes                  text check (backup_codes is null or (json_valid(backup_codes) and json_type(backup_codes) = 'array')),
    status                        text    not null default 'active'
                                  check (status in ('active', 'inactive', 'suspended', 'pending')),
    last_login_at                 integer,
    login_attempts                integer not null default 0 check (login_attempts >= 0),
    locked_until                  integer,
    password_reset_token          text,
    password_reset_expires_at     integer,
    created_at                    integer not null,
    updated_at                    integer not null,
    deleted_at                    integer,
    constraint users_tenant_id_id_key unique (tenant_id, id)
);
create unique index idx_users_tenant_email on users (tenant_id, email) where deleted_at is null;
-- Usernames are ASCII (the API checks [A-Za-z0-9._-]), so SQLite's ASCII lower() folds them fully.
create unique index idx_users_tenant_username on users (tenant_id, lower(username))
    where deleted_at is null and username is not null;
create index idx_users_tenant_created on users (tenant_id, created_at, id);
create index idx_users_tenant_status on users (tenant_id, status, created_at, id);
create index idx_users_email_verification_token on users (email_verification_token)
    where email_verification_token is not null;
create index idx_users_password_reset_token on users (password_reset_token) where password_reset_token is not null;
create index idx_users_tenant_phone on users (tenant_id, phone) where phone is not null and deleted_at is null;

create table roles (
    id          text    primary key not null,
    tenant_id   text    not null references tenants (id),
    name        text    not null check (length(name) <= 100),
    description text,
    is_system   integer not null default 0 check (is_system in (0, 1)),
    created_at  integer not null,
    updated_at  integer not null,
    deleted_at  integer,
    constraint roles_tenant_id_id_key unique (tenant_id, id)
);
create unique index idx_roles_tenant_name on roles (tenant_id, name) where deleted_at is null;

create table permissions (
    id          text    primary key not null,
    name        text    not null,
    resource    text    not null,
    action      text    not null,
    scope       text    not null default 'tenant' check (scope in ('tenant', 'system')),
    description text,
    created_at  integer not null,
    constraint permissions_name_key unique (name),
    constraint permissions_name_check check (name = resource || ':' || action)
);

create table user_roles (
    id          text    primary key not null,
    tenant_id   text    not null references tenants (id),
    user_id     text    not null,
    role_id     text    not null,
    assigned_by text    references users (id) on delete set null,
    assigned_at integer not null,
    expires_at  integer,
    created_at  integer not null,
    constraint user_roles_user_fkey foreign key (tenant_id, user_id) references users (tenant_id, id) on delete cascade,
    constraint user_roles_role_fkey foreign key (tenant_id, role_id) references roles (tenant_id, id) on delete cascade
);
create unique index idx_user_roles_user_role on user_roles (user_id, role_id);
create index idx_user_roles_tenant_role on user_roles (tenant_id, role_id);
create index idx_user_roles_tenant_user on user_roles (tenant_id, user_id);
create index idx_user_roles_assigned_by on user_roles (assigned_by) where assigned_by is not null;

create table role_permissions (
    id            text    primary key not null,
    tenant_id     text    not null references tenants (id),
    role_id       text    not null,
    permission_id text    not null references permissions (id) on delete cascade,
    created_at    integer not null,
    constraint role_permissions_role_fkey foreign key (tenant_id, role_id) references roles (tenant_id, id) on delete cascade
);
create unique index idx_role_permissions_role_permission on role_permissions (role_id, permission_id);
create index idx_role_permissions_tenant_role on role_permissions (tenant_id, role_id);
create index idx_role_permissions_permission_id on role_permissions (permission_id);

create table sessions (
    id            text    primary key not null,
    tenant_id     text    not null references tenants (id),
    user_id       text    not null,
    token_hash    text    not null,
    ip_address    text,
    user_agent    text,
    -- JSON array of authentication methods (text[] in PostgreSQL).
    amr           text    not null default '[]' check (json_valid(amr) and json_type(amr) = 'array'),
    mode          text    not null default 'token' check (mode in ('token', 'cookie')),
    last_activity integer not null,
    expires_at    integer not null,
    revoked_at    integer,
    created_at    integer not null,
    constraint sessions_token_hash_key unique (token_hash),
    constraint sessions_user_fkey foreign key (tenant_id, user_id) references users (tenant_id, id) on delete cascade
);
create index idx_sessions_tenant_user on sessions (tenant_id, user_id);
create index idx_sessions_expires_at on sessions (expires_at);
create index idx_sessions_revoked_at on sessions (revoked_at) where revoked_at is not null;

create table refresh_tokens (
    token_hash text    primary key not null,
    tenant_id  text    not null references tenants (id),
    session_id text    not null references sessions (id) on delete cascade,
    created_at integer not null,
    expires_at integer not null,
    spent_at   integer
);
create index idx_refresh_tokens_tenant_session on refresh_tokens (tenant_id, session_id);
create index idx_refresh_tokens_session on refresh_tokens (session_id);
create index idx_refresh_tokens_expires_at on refresh_tokens (expires_at);

create table otp_codes (
    id           text    primary key not null,
    tenant_id    text    not null references tenants (id),
    user_id      text,
    code_hash    text    not null,
    type         text    not null check (type in ('email', 'sms', 'totp')),
    purpose      text    not null check (purpose in ('login', 'verification', 'password_reset')),
    target       text check (length(target) <= 255),
    attempts     integer not null default 0,
    max_attempts integer not null default 3,
    expires_at   integer not null,
    used_at      integer,
    created_at   integer not null,
    constraint otp_codes_attempts_check check (attempts >= 0 and max_attempts >= 1),
    constraint otp_codes_user_fkey foreign key (tenant_id, user_id) references users (tenant_id, id) on delete cascade
);
create index idx_otp_codes_user_id on otp_codes (tenant_id, user_id) where user_id is not null;
create index idx_otp_codes_expires_at on otp_codes (expires_at);
create index idx_otp_codes_target on otp_codes (tenant_id, target, type, purpose, created_at desc);
create index idx_otp_codes_tenant_type_created on otp_codes (tenant_id, type, created_at);

create table notifications (
    id            text    primary key not null,
    tenant_id     text    not null references tenants (id),
    user_id       text,
    type          text    not null check (type in ('email', 'sms', 'push')),
    template      text    not null check (length(template) <= 100),
    recipient     text    not null check (length(recipient) <= 255),
    subject       text check (length(subject) <= 255),
    content       text    not null,
    html_content  text,
    status        text    not null default 'pending'
                  check (status in ('pending', 'sending', 'retrying', 'sent', 'failed')),
    sent_at       integer,
    error_message text,
    retry_count   integer not null default 0,
    max_retries   integer not null default 3,
    scheduled_at  integer not null,
    created_at    integer not null,
    constraint notifications_retry_check check (retry_count >= 0 and max_retries >= 0),
    constraint notifications_user_fkey foreign key (tenant_id, user_id) references users (tenant_id, id) on delete cascade
);
create index idx_notifications_claim on notifications (scheduled_at) where status in ('pending', 'retrying', 'sending');
create index idx_notifications_tenant_created on notifications (tenant_id, created_at desc, id desc);
create index idx_notifications_tenant_status on notifications (tenant_id, status, created_at desc);
create index idx_notifications_user_id on notifications (tenant_id, user_id) where user_id is not null;

create table notification_templates (
    id         text    primary key not null,
    tenant_id  text    not null references tenants (id),
    name       text    not null check (name in ('verification', 'password_reset', 'otp', 'account_locked',
                                                'new_sign_in', 'invitation')),
    subject    text    not null,
    text_body  text    not null,
    html_body  text,
    created_at integer not null,
    updated_at integer not null,
    constraint notification_templates_tenant_name_key unique (tenant_id, name)
);

create table signing_keys (
    id                 text    primary key not null,
    kid                text    not null,
    algorithm          text    not null default 'EdDSA',
    public_key         blob    not null,
    private_key_sealed blob    not null,
    created_at         integer not null,
    retired_at         integer,
    expires_at         integer,
    constraint signing_keys_kid_key unique (kid)
);

-- IMPROVED: no foreign keys (history outlives what it describes).
create table audit_logs (
    id            text    primary key not null,
    tenant_id     text,
    user_id       text,
    action        text    not null,
    resource_type text    not null,
    resource_id   text,
    old_values    text check (old_values is null or json_valid(old_values)),
    new_values    text check (new_values is null or json_valid(new_values)),
    ip_address    text,
    user_agent    text,
    actor         text,
    -- Strictly increasing (the triggers and the store take max(now, last + 1)),
    -- so (created_at, id) orders rows as they were written.
    created_at    integer not null
);
create index idx_audit_logs_tenant_created on audit_logs (tenant_id, created_at desc, id desc);
create index idx_audit_logs_tenant_user on audit_logs (tenant_id, user_id, created_at desc, id desc);
create index idx_audit_logs_tenant_action on audit_logs (tenant_id, action, created_at desc, id desc);
create index idx_audit_logs_tenant_resource on audit_logs (tenant_id, resource_type, resource_id, created_at desc, id desc);
create index idx_audit_logs_created on audit_logs (created_at);

-- Who acts in the current write transaction (see the header). At most one row.
create table audit_context (
    id          integer primary key check (id = 1),
    tenant_id   text,
    user_id     text,
    ip_address  text,
    user_agent  text,
    actor       text
);

-- The permission catalog (as migrations/postgres/0010_catalog.up.sql).
insert into permissions (id, name, resource, action, scope, description, created_at) values
    ('0190a000-0000-7000-8000-000000000001', 'tenant:read',          'tenant',        'read',   'tenant', 'View the tenant and its settings', 0),
    ('0190a000-0000-7000-8000-000000000002', 'tenant:update',        'tenant',        'update', 'tenant', 'Change the tenant and its settings', 0),
    ('0190a000-0000-7000-8000-000000000003', 'users:read',           'users',         'read',   'tenant', 'List and view users', 0),
    ('0190a000-0000-7000-8000-000000000004', 'users:create',         'users',         'create', 'tenant', 'Create and invite users', 0),
    ('0190a000-0000-7000-8000-000000000005', 'users:update',         'users',         'update', 'tenant', 'Change, restore and unlock users', 0),
    ('0190a000-0000-7000-8000-000000000006', 'users:delete',         'users',         'delete', 'tenant', 'Delete users', 0),
    ('0190a000-0000-7000-8000-000000000007', 'roles:read',           'roles',         'read',   'tenant', 'List roles, assignments and effective permissions', 0),
    ('0190a000-0000-7000-8000-000000000008', 'roles:create',         'roles',         'create', 'tenant', 'Create roles', 0),
    ('0190a000-0000-7000-8000-000000000009', 'roles:update',         'roles',         'update', 'tenant', 'Change roles and their permissions', 0),
    ('0190a000-0000-7000-8000-00000000000a', 'roles:delete',         'roles',         'delete', 'tenant', 'Delete roles', 0),
    ('0190a000-0000-7000-8000-00000000000b', 'roles:assign',         'roles',         'assign', 'tenant', 'Assign roles to users and remove them', 0),
    ('0190a000-0000-7000-8000-00000000000c', 'permissions:read',     'permissions',   'read',   'tenant', 'View the permission catalog', 0),
    ('0190a000-0000-7000-8000-00000000000d', 'sessions:read',        'sessions',      'read',   'tenant', 'View users'' sessions', 0),
    ('0190a000-0000-7000-8000-00000000000e', 'sessions:revoke',      'sessions',      'revoke', 'tenant', 'Revoke users'' sessions', 0),
    ('0190a000-0000-7000-8000-00000000000f', 'audit:read',           'audit',         'read',   'tenant', 'View and export the audit log', 0),
    ('0190a000-0000-7000-8000-000000000010', 'notifications:read',   'notifications', 'read',   'tenant', 'View notifications', 0),
    ('0190a000-0000-7000-8000-000000000011', 'notifications:manage', 'notifications', 'manage', 'tenant', 'Retry notifications', 0),
    ('0190a000-0000-7000-8000-000000000012', 'tenants:read',         'tenants',       'read',   'system', 'List and view all tenants', 0),
    ('0190a000-0000-7000-8000-000000000013', 'tenants:create',       'tenants',       'create', 'system', 'Create tenants', 0),
    ('0190a000-0000-7000-8000-000000000014', 'tenants:update',       'tenants',       'update', 'system', 'Change, suspend and activate tenants', 0),
    ('0190a000-0000-7000-8000-000000000015', 'tenants:delete',       'tenants',       'delete', 'system', 'Delete tenants', 0);

-- Audit triggers on tenants, users, roles, user_roles and role_permissions:
-- the same rows as PostgreSQL's create_audit_log(), with the same redaction
-- (each json_object lists the columns kept; password_hash, mfa_secret,
-- backup_codes and the token columns are never listed) and the same rule
-- that an UPDATE changing only updated_at/last_login_at (or only redacted
-- columns) writes no row. Generated by hand from the column lists; keep them
-- in step with the tables above.

create trigger trigger_tenants_audit_insert
after insert on tenants
begin
    insert into audit_logs (id, tenant_id, user_id, action, resource_type, resource_id,
                            old_values, new_values, ip_address, user_agent, actor, created_at)
    select lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
           coalesce((select tenant_id from audit_context where id = 1), new.id),
           (select user_id from audit_context where id = 1),
           'INSERT', 'tenants', new.id,
           null,
           json_object(
        'id', new.id,
        'name', new.name,
        'slug', new.slug,
        'domain', new.domain,
        'status', new.status,
        'plan', new.plan,
        'settings', json(new.settings),
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at / 1000000.0, 'unixepoch'),
        'updated_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.updated_at / 1000000.0, 'unixepoch'),
        'deleted_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.deleted_at / 1000000.0, 'unixepoch')),
           (select ip_address from audit_context where id = 1),
           (select user_agent from audit_context where id = 1),
           (select actor from audit_context where id = 1),
           max(cast((julianday('now') - 2440587.5) * 86400000000.0 as integer), coalesce((select max(created_at) from audit_logs), 0) + 1);
end;

create trigger trigger_tenants_audit_update
after update on tenants
when json_object(
        'id', old.id,
        'name', old.name,
        'slug', old.slug,
        'domain', old.domain,
        'status', old.status,
        'plan', old.plan,
        'settings', json(old.settings),
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.created_at / 1000000.0, 'unixepoch'),
        'deleted_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.deleted_at / 1000000.0, 'unixepoch'))
  is not json_object(
        'id', new.id,
        'name', new.name,
        'slug', new.slug,
        'domain', new.domain,
        'status', new.status,
        'plan', new.plan,
        'settings', json(new.settings),
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at / 1000000.0, 'unixepoch'),
        'deleted_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.deleted_at / 1000000.0, 'unixepoch'))
begin
    insert into audit_logs (id, tenant_id, user_id, action, resource_type, resource_id,
                            old_values, new_values, ip_address, user_agent, actor, created_at)
    select lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
           coalesce((select tenant_id from audit_context where id = 1), new.id),
           (select user_id from audit_context where id = 1),
           'UPDATE', 'tenants', new.id,
           json_object(
        'id', old.id,
        'name', old.name,
        'slug', old.slug,
        'domain', old.domain,
        'status', old.status,
        'plan', old.plan,
        'settings', json(old.settings),
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.created_at / 1000000.0, 'unixepoch'),
        'updated_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.updated_at / 1000000.0, 'unixepoch'),
        'deleted_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.deleted_at / 1000000.0, 'unixepoch')),
           json_object(
        'id', new.id,
        'name', new.name,
        'slug', new.slug,
        'domain', new.domain,
        'status', new.status,
        'plan', new.plan,
        'settings', json(new.settings),
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at / 1000000.0, 'unixepoch'),
        'updated_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.updated_at / 1000000.0, 'unixepoch'),
        'deleted_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.deleted_at / 1000000.0, 'unixepoch')),
           (select ip_address from audit_context where id = 1),
           (select user_agent from audit_context where id = 1),
           (select actor from audit_context where id = 1),
           max(cast((julianday('now') - 2440587.5) * 86400000000.0 as integer), coalesce((select max(created_at) from audit_logs), 0) + 1);
end;

create trigger trigger_tenants_audit_delete
after delete on tenants
begin
    insert into audit_logs (id, tenant_id, user_id, action, resource_type, resource_id,
                            old_values, new_values, ip_address, user_agent, actor, created_at)
    select lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
           coalesce((select tenant_id from audit_context where id = 1), old.id),
           (select user_id from audit_context where id = 1),
           'DELETE', 'tenants', old.id,
           json_object(
        'id', old.id,
        'name', old.name,
        'slug', old.slug,
        'domain', old.domain,
        'status', old.status,
        'plan', old.plan,
        'settings', json(old.settings),
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.created_at / 1000000.0, 'unixepoch'),
        'updated_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.updated_at / 1000000.0, 'unixepoch'),
        'deleted_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.deleted_at / 1000000.0, 'unixepoch')),
           null,
           (select ip_address from audit_context where id = 1),
           (select user_agent from audit_context where id = 1),
           (select actor from audit_context where id = 1),
           max(cast((julianday('now') - 2440587.5) * 86400000000.0 as integer), coalesce((select max(created_at) from audit_logs), 0) + 1);
end;

create trigger trigger_users_audit_insert
after insert on users
begin
    insert into audit_logs (id, tenant_id, user_id, action, resource_type, resource_id,
                            old_values, new_values, ip_address, user_agent, actor, created_at)
    select lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
           coalesce((select tenant_id from audit_context where id = 1), new.tenant_id),
           (select user_id from audit_context where id = 1),
           'INSERT', 'users', new.id,
           null,
           json_object(
        'id', new.id,
        'tenant_id', new.tenant_id,
        'email', new.email,
        'username', new.username,
        'first_name', new.first_name,
        'last_name', new.last_name,
        'avatar', new.avatar,
        'phone', new.phone,
        'email_verified', json(case when new.email_verified then 'true' else 'false' end),
        'phone_verified', json(case when new.phone_verified then 'true' else 'false' end),
        'email_verification_expires_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.email_verification_expires_at / 1000000.0, 'unixepoch'),
        'mfa_enabled', json(case when new.mfa_enabled then 'true' else 'false' end),
        'mfa_last_step', new.mfa_last_step,
        'status', new.status,
        'last_login_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.last_login_at / 1000000.0, 'unixepoch'),
        'login_attempts', new.login_attempts,
        'locked_until', strftime('%Y-%m-%dT%H:%M:%fZ', new.locked_until / 1000000.0, 'unixepoch'),
        'password_reset_expires_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.password_reset_expires_at / 1000000.0, 'unixepoch'),
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at / 1000000.0, 'unixepoch'),
        'updated_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.updated_at / 1000000.0, 'unixepoch'),
        'deleted_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.deleted_at / 1000000.0, 'unixepoch')),
           (select ip_address from audit_context where id = 1),
           (select user_agent from audit_context where id = 1),
           (select actor from audit_context where id = 1),
           max(cast((julianday('now') - 2440587.5) * 86400000000.0 as integer), coalesce((select max(created_at) from audit_logs), 0) + 1);
end;

create trigger trigger_users_audit_update
after update on users
when json_object(
        'id', old.id,
        'tenant_id', old.tenant_id,
        'email', old.email,
        'username', old.username,
        'first_name', old.first_name,
        'last_name', old.last_name,
        'avatar', old.avatar,
        'phone', old.phone,
        'email_verified', json(case when old.email_verified then 'true' else 'false' end),
        'phone_verified', json(case when old.phone_verified then 'true' else 'false' end),
        'email_verification_expires_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.email_verification_expires_at / 1000000.0, 'unixepoch'),
        'mfa_enabled', json(case when old.mfa_enabled then 'true' else 'false' end),
        'mfa_last_step', old.mfa_last_step,
        'status', old.status,
        'login_attempts', old.login_attempts,
        'locked_until', strftime('%Y-%m-%dT%H:%M:%fZ', old.locked_until / 1000000.0, 'unixepoch'),
        'password_reset_expires_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.password_reset_expires_at / 1000000.0, 'unixepoch'),
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.created_at / 1000000.0, 'unixepoch'),
        'deleted_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.deleted_at / 1000000.0, 'unixepoch'))
  is not json_object(
        'id', new.id,
        'tenant_id', new.tenant_id,
        'email', new.email,
        'username', new.username,
        'first_name', new.first_name,
        'last_name', new.last_name,
        'avatar', new.avatar,
        'phone', new.phone,
        'email_verified', json(case when new.email_verified then 'true' else 'false' end),
        'phone_verified', json(case when new.phone_verified then 'true' else 'false' end),
        'email_verification_expires_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.email_verification_expires_at / 1000000.0, 'unixepoch'),
        'mfa_enabled', json(case when new.mfa_enabled then 'true' else 'false' end),
        'mfa_last_step', new.mfa_last_step,
        'status', new.status,
        'login_attempts', new.login_attempts,
        'locked_until', strftime('%Y-%m-%dT%H:%M:%fZ', new.locked_until / 1000000.0, 'unixepoch'),
        'password_reset_expires_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.password_reset_expires_at / 1000000.0, 'unixepoch'),
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at / 1000000.0, 'unixepoch'),
        'deleted_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.deleted_at / 1000000.0, 'unixepoch'))
begin
    insert into audit_logs (id, tenant_id, user_id, action, resource_type, resource_id,
                            old_values, new_values, ip_address, user_agent, actor, created_at)
    select lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
           coalesce((select tenant_id from audit_context where id = 1), new.tenant_id),
           (select user_id from audit_context where id = 1),
           'UPDATE', 'users', new.id,
           json_object(
        'id', old.id,
        'tenant_id', old.tenant_id,
        'email', old.email,
        'username', old.username,
        'first_name', old.first_name,
        'last_name', old.last_name,
        'avatar', old.avatar,
        'phone', old.phone,
        'email_verified', json(case when old.email_verified then 'true' else 'false' end),
        'phone_verified', json(case when old.phone_verified then 'true' else 'false' end),
        'email_verification_expires_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.email_verification_expires_at / 1000000.0, 'unixepoch'),
        'mfa_enabled', json(case when old.mfa_enabled then 'true' else 'false' end),
        'mfa_last_step', old.mfa_last_step,
        'status', old.status,
        'last_login_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.last_login_at / 1000000.0, 'unixepoch'),
        'login_attempts', old.login_attempts,
        'locked_until', strftime('%Y-%m-%dT%H:%M:%fZ', old.locked_until / 1000000.0, 'unixepoch'),
        'password_reset_expires_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.password_reset_expires_at / 1000000.0, 'unixepoch'),
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.created_at / 1000000.0, 'unixepoch'),
        'updated_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.updated_at / 1000000.0, 'unixepoch'),
        'deleted_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.deleted_at / 1000000.0, 'unixepoch')),
           json_object(
        'id', new.id,
        'tenant_id', new.tenant_id,
        'email', new.email,
        'username', new.username,
        'first_name', new.first_name,
        'last_name', new.last_name,
        'avatar', new.avatar,
        'phone', new.phone,
        'email_verified', json(case when new.email_verified then 'true' else 'false' end),
        'phone_verified', json(case when new.phone_verified then 'true' else 'false' end),
        'email_verification_expires_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.email_verification_expires_at / 1000000.0, 'unixepoch'),
        'mfa_enabled', json(case when new.mfa_enabled then 'true' else 'false' end),
        'mfa_last_step', new.mfa_last_step,
        'status', new.status,
        'last_login_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.last_login_at / 1000000.0, 'unixepoch'),
        'login_attempts', new.login_attempts,
        'locked_until', strftime('%Y-%m-%dT%H:%M:%fZ', new.locked_until / 1000000.0, 'unixepoch'),
        'password_reset_expires_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.password_reset_expires_at / 1000000.0, 'unixepoch'),
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at / 1000000.0, 'unixepoch'),
        'updated_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.updated_at / 1000000.0, 'unixepoch'),
        'deleted_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.deleted_at / 1000000.0, 'unixepoch')),
           (select ip_address from audit_context where id = 1),
           (select user_agent from audit_context where id = 1),
           (select actor from audit_context where id = 1),
           max(cast((julianday('now') - 2440587.5) * 86400000000.0 as integer), coalesce((select max(created_at) from audit_logs), 0) + 1);
end;

create trigger trigger_users_audit_delete
after delete on users
begin
    insert into audit_logs (id, tenant_id, user_id, action, resource_type, resource_id,
                            old_values, new_values, ip_address, user_agent, actor, created_at)
    select lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
           coalesce((select tenant_id from audit_context where id = 1), old.tenant_id),
           (select user_id from audit_context where id = 1),
           'DELETE', 'users', old.id,
           json_object(
        'id', old.id,
        'tenant_id', old.tenant_id,
        'email', old.email,
        'username', old.username,
        'first_name', old.first_name,
        'last_name', old.last_name,
        'avatar', old.avatar,
        'phone', old.phone,
        'email_verified', json(case when old.email_verified then 'true' else 'false' end),
        'phone_verified', json(case when old.phone_verified then 'true' else 'false' end),
        'email_verification_expires_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.email_verification_expires_at / 1000000.0, 'unixepoch'),
        'mfa_enabled', json(case when old.mfa_enabled then 'true' else 'false' end),
        'mfa_last_step', old.mfa_last_step,
        'status', old.status,
        'last_login_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.last_login_at / 1000000.0, 'unixepoch'),
        'login_attempts', old.login_attempts,
        'locked_until', strftime('%Y-%m-%dT%H:%M:%fZ', old.locked_until / 1000000.0, 'unixepoch'),
        'password_reset_expires_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.password_reset_expires_at / 1000000.0, 'unixepoch'),
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.created_at / 1000000.0, 'unixepoch'),
        'updated_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.updated_at / 1000000.0, 'unixepoch'),
        'deleted_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.deleted_at / 1000000.0, 'unixepoch')),
           null,
           (select ip_address from audit_context where id = 1),
           (select user_agent from audit_context where id = 1),
           (select actor from audit_context where id = 1),
           max(cast((julianday('now') - 2440587.5) * 86400000000.0 as integer), coalesce((select max(created_at) from audit_logs), 0) + 1);
end;

create trigger trigger_roles_audit_insert
after insert on roles
begin
    insert into audit_logs (id, tenant_id, user_id, action, resource_type, resource_id,
                            old_values, new_values, ip_address, user_agent, actor, created_at)
    select lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
           coalesce((select tenant_id from audit_context where id = 1), new.tenant_id),
           (select user_id from audit_context where id = 1),
           'INSERT', 'roles', new.id,
           null,
           json_object(
        'id', new.id,
        'tenant_id', new.tenant_id,
        'name', new.name,
        'description', new.description,
        'is_system', json(case when new.is_system then 'true' else 'false' end),
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at / 1000000.0, 'unixepoch'),
        'updated_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.updated_at / 1000000.0, 'unixepoch'),
        'deleted_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.deleted_at / 1000000.0, 'unixepoch')),
           (select ip_address from audit_context where id = 1),
           (select user_agent from audit_context where id = 1),
           (select actor from audit_context where id = 1),
           max(cast((julianday('now') - 2440587.5) * 86400000000.0 as integer), coalesce((select max(created_at) from audit_logs), 0) + 1);
end;

create trigger trigger_roles_audit_update
after update on roles
when json_object(
        'id', old.id,
        'tenant_id', old.tenant_id,
        'name', old.name,
        'description', old.description,
        'is_system', json(case when old.is_system then 'true' else 'false' end),
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.created_at / 1000000.0, 'unixepoch'),
        'deleted_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.deleted_at / 1000000.0, 'unixepoch'))
  is not json_object(
        'id', new.id,
        'tenant_id', new.tenant_id,
        'name', new.name,
        'description', new.description,
        'is_system', json(case when new.is_system then 'true' else 'false' end),
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at / 1000000.0, 'unixepoch'),
        'deleted_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.deleted_at / 1000000.0, 'unixepoch'))
begin
    insert into audit_logs (id, tenant_id, user_id, action, resource_type, resource_id,
                            old_values, new_values, ip_address, user_agent, actor, created_at)
    select lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
           coalesce((select tenant_id from audit_context where id = 1), new.tenant_id),
           (select user_id from audit_context where id = 1),
           'UPDATE', 'roles', new.id,
           json_object(
        'id', old.id,
        'tenant_id', old.tenant_id,
        'name', old.name,
        'description', old.description,
        'is_system', json(case when old.is_system then 'true' else 'false' end),
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.created_at / 1000000.0, 'unixepoch'),
        'updated_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.updated_at / 1000000.0, 'unixepoch'),
        'deleted_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.deleted_at / 1000000.0, 'unixepoch')),
           json_object(
        'id', new.id,
        'tenant_id', new.tenant_id,
        'name', new.name,
        'description', new.description,
        'is_system', json(case when new.is_system then 'true' else 'false' end),
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at / 1000000.0, 'unixepoch'),
        'updated_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.updated_at / 1000000.0, 'unixepoch'),
        'deleted_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.deleted_at / 1000000.0, 'unixepoch')),
           (select ip_address from audit_context where id = 1),
           (select user_agent from audit_context where id = 1),
           (select actor from audit_context where id = 1),
           max(cast((julianday('now') - 2440587.5) * 86400000000.0 as integer), coalesce((select max(created_at) from audit_logs), 0) + 1);
end;

create trigger trigger_roles_audit_delete
after delete on roles
begin
    insert into audit_logs (id, tenant_id, user_id, action, resource_type, resource_id,
                            old_values, new_values, ip_address, user_agent, actor, created_at)
    select lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
           coalesce((select tenant_id from audit_context where id = 1), old.tenant_id),
           (select user_id from audit_context where id = 1),
           'DELETE', 'roles', old.id,
           json_object(
        'id', old.id,
        'tenant_id', old.tenant_id,
        'name', old.name,
        'description', old.description,
        'is_system', json(case when old.is_system then 'true' else 'false' end),
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.created_at / 1000000.0, 'unixepoch'),
        'updated_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.updated_at / 1000000.0, 'unixepoch'),
        'deleted_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.deleted_at / 1000000.0, 'unixepoch')),
           null,
           (select ip_address from audit_context where id = 1),
           (select user_agent from audit_context where id = 1),
           (select actor from audit_context where id = 1),
           max(cast((julianday('now') - 2440587.5) * 86400000000.0 as integer), coalesce((select max(created_at) from audit_logs), 0) + 1);
end;

create trigger trigger_user_roles_audit_insert
after insert on user_roles
begin
    insert into audit_logs (id, tenant_id, user_id, action, resource_type, resource_id,
                            old_values, new_values, ip_address, user_agent, actor, created_at)
    select lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
           coalesce((select tenant_id from audit_context where id = 1), new.tenant_id),
           (select user_id from audit_context where id = 1),
           'INSERT', 'user_roles', new.id,
           null,
           json_object(
        'id', new.id,
        'tenant_id', new.tenant_id,
        'user_id', new.user_id,
        'role_id', new.role_id,
        'assigned_by', new.assigned_by,
        'assigned_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.assigned_at / 1000000.0, 'unixepoch'),
        'expires_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.expires_at / 1000000.0, 'unixepoch'),
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at / 1000000.0, 'unixepoch')),
           (select ip_address from audit_context where id = 1),
           (select user_agent from audit_context where id = 1),
           (select actor from audit_context where id = 1),
           max(cast((julianday('now') - 2440587.5) * 86400000000.0 as integer), coalesce((select max(created_at) from audit_logs), 0) + 1);
end;

create trigger trigger_user_roles_audit_update
after update on user_roles
when json_object(
        'id', old.id,
        'tenant_id', old.tenant_id,
        'user_id', old.user_id,
        'role_id', old.role_id,
        'assigned_by', old.assigned_by,
        'assigned_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.assigned_at / 1000000.0, 'unixepoch'),
        'expires_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.expires_at / 1000000.0, 'unixepoch'),
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.created_at / 1000000.0, 'unixepoch'))
  is not json_object(
        'id', new.id,
        'tenant_id', new.tenant_id,
        'user_id', new.user_id,
        'role_id', new.role_id,
        'assigned_by', new.assigned_by,
        'assigned_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.assigned_at / 1000000.0, 'unixepoch'),
        'expires_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.expires_at / 1000000.0, 'unixepoch'),
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at / 1000000.0, 'unixepoch'))
begin
    insert into audit_logs (id, tenant_id, user_id, action, resource_type, resource_id,
                            old_values, new_values, ip_address, user_agent, actor, created_at)
    select lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
           coalesce((select tenant_id from audit_context where id = 1), new.tenant_id),
           (select user_id from audit_context where id = 1),
           'UPDATE', 'user_roles', new.id,
           json_object(
        'id', old.id,
        'tenant_id', old.tenant_id,
        'user_id', old.user_id,
        'role_id', old.role_id,
        'assigned_by', old.assigned_by,
        'assigned_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.assigned_at / 1000000.0, 'unixepoch'),
        'expires_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.expires_at / 1000000.0, 'unixepoch'),
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.created_at / 1000000.0, 'unixepoch')),
           json_object(
        'id', new.id,
        'tenant_id', new.tenant_id,
        'user_id', new.user_id,
        'role_id', new.role_id,
        'assigned_by', new.assigned_by,
        'assigned_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.assigned_at / 1000000.0, 'unixepoch'),
        'expires_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.expires_at / 1000000.0, 'unixepoch'),
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at / 1000000.0, 'unixepoch')),
           (select ip_address from audit_context where id = 1),
           (select user_agent from audit_context where id = 1),
           (select actor from audit_context where id = 1),
           max(cast((julianday('now') - 2440587.5) * 86400000000.0 as integer), coalesce((select max(created_at) from audit_logs), 0) + 1);
end;

create trigger trigger_user_roles_audit_delete
after delete on user_roles
begin
    insert into audit_logs (id, tenant_id, user_id, action, resource_type, resource_id,
                            old_values, new_values, ip_address, user_agent, actor, created_at)
    select lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
           coalesce((select tenant_id from audit_context where id = 1), old.tenant_id),
           (select user_id from audit_context where id = 1),
           'DELETE', 'user_roles', old.id,
           json_object(
        'id', old.id,
        'tenant_id', old.tenant_id,
        'user_id', old.user_id,
        'role_id', old.role_id,
        'assigned_by', old.assigned_by,
        'assigned_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.assigned_at / 1000000.0, 'unixepoch'),
        'expires_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.expires_at / 1000000.0, 'unixepoch'),
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.created_at / 1000000.0, 'unixepoch')),
           null,
           (select ip_address from audit_context where id = 1),
           (select user_agent from audit_context where id = 1),
           (select actor from audit_context where id = 1),
           max(cast((julianday('now') - 2440587.5) * 86400000000.0 as integer), coalesce((select max(created_at) from audit_logs), 0) + 1);
end;

create trigger trigger_role_permissions_audit_insert
after insert on role_permissions
begin
    insert into audit_logs (id, tenant_id, user_id, action, resource_type, resource_id,
                            old_values, new_values, ip_address, user_agent, actor, created_at)
    select lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
           coalesce((select tenant_id from audit_context where id = 1), new.tenant_id),
           (select user_id from audit_context where id = 1),
           'INSERT', 'role_permissions', new.id,
           null,
           json_object(
        'id', new.id,
        'tenant_id', new.tenant_id,
        'role_id', new.role_id,
        'permission_id', new.permission_id,
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at / 1000000.0, 'unixepoch')),
           (select ip_address from audit_context where id = 1),
           (select user_agent from audit_context where id = 1),
           (select actor from audit_context where id = 1),
           max(cast((julianday('now') - 2440587.5) * 86400000000.0 as integer), coalesce((select max(created_at) from audit_logs), 0) + 1);
end;

create trigger trigger_role_permissions_audit_update
after update on role_permissions
when json_object(
        'id', old.id,
        'tenant_id', old.tenant_id,
        'role_id', old.role_id,
        'permission_id', old.permission_id,
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.created_at / 1000000.0, 'unixepoch'))
  is not json_object(
        'id', new.id,
        'tenant_id', new.tenant_id,
        'role_id', new.role_id,
        'permission_id', new.permission_id,
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at / 1000000.0, 'unixepoch'))
begin
    insert into audit_logs (id, tenant_id, user_id, action, resource_type, resource_id,
                            old_values, new_values, ip_address, user_agent, actor, created_at)
    select lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
           coalesce((select tenant_id from audit_context where id = 1), new.tenant_id),
           (select user_id from audit_context where id = 1),
           'UPDATE', 'role_permissions', new.id,
           json_object(
        'id', old.id,
        'tenant_id', old.tenant_id,
        'role_id', old.role_id,
        'permission_id', old.permission_id,
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.created_at / 1000000.0, 'unixepoch')),
           json_object(
        'id', new.id,
        'tenant_id', new.tenant_id,
        'role_id', new.role_id,
        'permission_id', new.permission_id,
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at / 1000000.0, 'unixepoch')),
           (select ip_address from audit_context where id = 1),
           (select user_agent from audit_context where id = 1),
           (select actor from audit_context where id = 1),
           max(cast((julianday('now') - 2440587.5) * 86400000000.0 as integer), coalesce((select max(created_at) from audit_logs), 0) + 1);
end;

create trigger trigger_role_permissions_audit_delete
after delete on role_permissions
begin
    insert into audit_logs (id, tenant_id, user_id, action, resource_type, resource_id,
                            old_values, new_values, ip_address, user_agent, actor, created_at)
    select lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
           coalesce((select tenant_id from audit_context where id = 1), old.tenant_id),
           (select user_id from audit_context where id = 1),
           'DELETE', 'role_permissions', old.id,
           json_object(
        'id', old.id,
        'tenant_id', old.tenant_id,
        'role_id', old.role_id,
        'permission_id', old.permission_id,
        'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', old.created_at / 1000000.0, 'unixepoch')),
           null,
           (select ip_address from audit_context where id = 1),
           (select user_agent from audit_context where id = 1),
           (select actor from audit_context where id = 1),
           max(cast((julianday('now') - 2440587.5) * 86400000000.0 as integer), coalesce((select max(created_at) from audit_logs), 0) + 1);
end;
