-- 0003_tenants: the tenants table (one row per isolated customer), its
-- indexes, and its updated_at and audit triggers. Row-level security
-- (a tenant sees only its own row) is in 0009_row_level_security.

create table tenants (
    id         uuid         primary key default gen_random_uuid(),
    name       varchar(255) not null,
    slug       varchar(100) not null,
    domain     varchar(255),
    -- IMPROVED: NOT NULL on every column that has a default (status, plan,
    -- settings, created_at, updated_at): a NULL would bypass the status
    -- checks in the application and break ordering.
    status     varchar(20)  not null default 'active',
    plan       varchar(50)  not null default 'free',
    settings   jsonb        not null default '{}'::jsonb,
    created_at timestamptz  not null default now(),
    updated_at timestamptz  not null default now(),
    deleted_at timestamptz,
    -- Global (deleted tenants keep their slug reserved: tokens and links
    -- name tenants by slug, so a slug must never be reused).
    constraint tenants_slug_key unique (slug),
    -- IMPROVED: a tenant is 'active' or 'suspended'; deletion is deleted_at.
    constraint tenants_status_check check (status in ('active', 'suspended')),
    -- IMPROVED: settings is always a JSON object (the API merges keys into it).
    constraint tenants_settings_check check (jsonb_typeof(settings) = 'object')
);

-- IMPROVED: the seed's idx_tenants_slug duplicated the index behind the
-- UNIQUE constraint tenants_slug_key; dropped.
-- IMPROVED: idx_tenants_domain is UNIQUE on lower(domain) among live tenants:
-- the Host header is matched case-insensitively, and two tenants claiming one
-- domain would make that lookup ambiguous. Query with lower(domain) = lower($1).
create unique index idx_tenants_domain
    on tenants (lower(domain))
    where domain is not null and deleted_at is null;

create index idx_tenants_status on tenants (status);

create trigger trigger_tenants_updated_at
    before update on tenants
    for each row
    execute function update_updated_at_column();

create trigger trigger_tenants_audit
    after insert or update or delete on tenants
    for each row
    execute function create_audit_log();
