-- 0022_case_folded_lookups: sign-in by username and tenant look-up by domain
-- become index look-ups again under row-level security.
--
-- IMPROVED (found by bench/scale.sh's EXPLAIN): under RLS PostgreSQL lets
-- only LEAKPROOF functions run before the policy, and lower() is not one.
-- So `lower(username) = lower($1)` could not be an index condition: a
-- sign-in by username read every user of the tenant that has a username,
-- and `lower(domain) = lower($1)` read the whole domain index on every
-- tenant-cache miss. Stored lowercase copies compared with plain `=`
-- (texteq is leakproof; lower() then applies to the parameter only) are
-- index conditions. The unique indexes keep their names (the store maps
-- them to the fields `username` and `domain`).

alter table users
    add column username_lower varchar(100) generated always as (lower(username)) stored;
drop index idx_users_tenant_username;
create unique index idx_users_tenant_username
    on users (tenant_id, username_lower)
    where deleted_at is null and username_lower is not null;

alter table tenants
    add column domain_lower varchar(255) generated always as (lower(domain)) stored;
drop index idx_tenants_domain;
create unique index idx_tenants_domain
    on tenants (domain_lower)
    where domain_lower is not null and deleted_at is null;
