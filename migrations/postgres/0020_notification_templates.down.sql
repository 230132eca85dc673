-- 0020_notification_templates (down)
alter table notifications drop column html_content;
drop table notification_templates;
