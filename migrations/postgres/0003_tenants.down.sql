-- 0003_tenants (down): drops tenants with its indexes and triggers.
-- Audit rows about tenants stay in audit_logs (no foreign key).

drop table tenants;
