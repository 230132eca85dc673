-- 0001_roles_and_functions (down): drops the shared trigger functions and
-- the schema grants.
--
-- The roles app_user, app_admin and app_readonly are NOT dropped, and the
-- connecting role keeps its membership: roles are cluster-wide and shared
-- by every database of the cluster (other test databases migrated in
-- parallel, other environments); dropping them here would break those, and
-- DROP ROLE would fail anyway while any other database grants them
-- privileges.

drop function create_audit_log();
drop function audit_redact(jsonb);
drop function update_updated_at_column();

do $$
begin
    if has_schema_privilege(current_schema(), 'USAGE WITH GRANT OPTION') then
        execute format('revoke usage on schema %I from app_user, app_admin, app_readonly',
                       current_schema());
    end if;
end
$$;
