-- 0004_users (down): drops users with its indexes and triggers.
-- Audit rows about users stay in audit_logs (no foreign key).

drop table users;
