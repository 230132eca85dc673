-- 0005_rbac (down): drops role_permissions, user_roles, permissions and
-- roles (dependants first). Audit rows about them stay in audit_logs.

drop table role_permissions;
drop table user_roles;
drop table permissions;
drop table roles;
