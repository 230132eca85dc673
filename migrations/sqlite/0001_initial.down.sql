-- Reverts 0001_initial: drops every table (their indexes and triggers go with them).
drop table audit_context;
drop table audit_logs;
drop table signing_keys;
drop table notification_templates;
drop table notifications;
drop table otp_codes;
drop table refresh_tokens;
drop table sessions;
drop table role_permissions;
drop table user_roles;
drop table permissions;
drop table roles;
drop table users;
drop table tenants;
