-- 0022_case_folded_lookups (down): the expression indexes of 0003 and 0004.

drop index idx_tenants_domain;
alter table tenants drop column domain_lower;
create unique index idx_tenants_domain
    on tenants (lower(domain))
    where domain is not null and deleted_at is null;

drop index idx_users_tenant_username;
alter table users drop column username_lower;
create unique index idx_users_tenant_username
    on users (tenant_id, lower(username))
    where deleted_at is null and username is not null;
