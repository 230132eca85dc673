-- 0020_notification_templates: per-tenant overrides of the built-in message
-- templates (minijinja), and the HTML part of queued email.
--
-- A tenant without a row for a template uses azth's built-in one. Rows are
-- validated by rendering them before they are saved.

create table notification_templates (
    id         uuid         primary key default gen_random_uuid(),
    tenant_id  uuid         not null references tenants (id),
    name       varchar(50)  not null,
    subject    text         not null,
    text_body  text         not null,
    html_body  text,
    created_at timestamptz  not null default now(),
    updated_at timestamptz  not null default now(),
    constraint notification_templates_name_check
        check (name in ('verification', 'password_reset', 'otp', 'account_locked', 'new_sign_in', 'invitation')),
    constraint notification_templates_tenant_name_key unique (tenant_id, name)
);

create trigger trigger_notification_templates_updated_at
    before update on notification_templates
    for each row execute function update_updated_at_column();

alter table notification_templates enable row level security;
alter table notification_templates force row level security;
create policy notification_templates_app_user on notification_templates for all to app_user
    using (current_user = 'app_user'
           and tenant_id = nullif(current_setting('app.current_tenant_id', true), '')::uuid)
    with check (current_user = 'app_user'
           and tenant_id = nullif(current_setting('app.current_tenant_id', true), '')::uuid);
create policy notification_templates_app_readonly on notification_templates for select to app_readonly
    using (current_user = 'app_readonly'
           and tenant_id = nullif(current_setting('app.current_tenant_id', true), '')::uuid);
create policy notification_templates_app_admin on notification_templates for all to app_admin
    using (current_user = 'app_admin')
    with check (current_user = 'app_admin');

grant select, insert, update, delete on notification_templates to app_user, app_admin;
grant select on notification_templates to app_readonly;

-- The HTML alternative of an email (the text part stays in content).
alter table notifications add column html_content text;
