-- 0004_users: user accounts, one set per tenant, with their indexes and
-- updated_at / audit triggers. Adds phone and phone_verified (SMS codes) to
-- the seed's columns; password_hash and username become optional.

create table users (
    id                            uuid         primary key default gen_random_uuid(),
    tenant_id                     uuid         not null references tenants (id),
    -- Stored trimmed and lowercased by the application.
    email                         varchar(255) not null,
    -- Optional at registration; unique per tenant case-insensitively.
    username                      varchar(100),
    -- NULL for invited ('pending') users who have not set a password yet.
    password_hash                 text,
    first_name                    varchar(100),
    last_name                     varchar(100),
    avatar                        text,
    -- E.164 as normalised by the application; a code target once verified.
    phone                         varchar(32),
    -- IMPROVED: NOT NULL on booleans, counters, status and timestamps that
    -- have defaults; three-valued booleans only invite bugs.
    email_verified                boolean      not null default false,
    phone_verified                boolean      not null default false,
    email_verification_token      text,
    email_verification_expires_at timestamptz,
    mfa_enabled                   boolean      not null default false,
    mfa_secret                    text,
    backup_codes                  text[],
    status                        varchar(20)  not null default 'active',
    last_login_at                 timestamptz,
    login_attempts                integer      not null default 0,
    locked_until                  timestamptz,
    password_reset_token          text,
    password_reset_expires_at     timestamptz,
    created_at                    timestamptz  not null default now(),
    updated_at                    timestamptz  not null default now(),
    deleted_at                    timestamptz,
    -- IMPROVED: the statuses of the API; 'pending' = invited, no password yet.
    constraint users_status_check
        check (status in ('active', 'inactive', 'suspended', 'pending')),
    constraint users_login_attempts_check check (login_attempts >= 0),
    -- IMPROVED: target of the composite foreign keys (tenant_id, user_id) of
    -- sessions, otp_codes, user_roles and notifications, which makes a row
    -- pointing at another tenant's user impossible. Also serves
    -- "users of tenant X" lookups and the foreign key to tenants.
    constraint users_tenant_id_id_key unique (tenant_id, id)
);

-- Email unique per tenant among live users (soft delete frees it).
create unique index idx_users_tenant_email
    on users (tenant_id, email)
    where deleted_at is null;

-- IMPROVED: case-insensitive (Alice and alice are one username), and
-- username is optional. Query with lower(username) = lower($1).
create unique index idx_users_tenant_username
    on users (tenant_id, lower(username))
    where deleted_at is null and username is not null;

-- IMPROVED: the seed's idx_users_created_at (created_at) and idx_users_status
-- (status) served no tenant query. GET /users lists one tenant ordered by
-- (created_at, id) with keyset cursors, optionally filtered by status; these
-- two indexes serve both directions.
create index idx_users_tenant_created
    on users (tenant_id, created_at, id);
create index idx_users_tenant_status
    on users (tenant_id, status, created_at, id);

-- IMPROVED: partial indexes on the nullable token columns: only the few rows
-- holding a live token are indexed.
create index idx_users_email_verification_token
    on users (email_verification_token)
    where email_verification_token is not null;
create index idx_users_password_reset_token
    on users (password_reset_token)
    where password_reset_token is not null;

-- IMPROVED: tenant-leading (was last_login_at alone).
create index idx_users_last_login
    on users (tenant_id, last_login_at)
    where last_login_at is not null;

-- Look-up of a user by phone (SMS codes) within a tenant.
create index idx_users_tenant_phone
    on users (tenant_id, phone)
    where phone is not null and deleted_at is null;

create trigger trigger_users_updated_at
    before update on users
    for each row
    execute function update_updated_at_column();

create trigger trigger_users_audit
    after insert or update or delete on users
    for each row
    execute function create_audit_log();
