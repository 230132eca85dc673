-- 0012_second_factors (down)
alter table users drop column mfa_last_step;
