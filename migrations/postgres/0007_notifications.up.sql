-- 0007_notifications: the notification outbox. A request inserts a row in
-- its own transaction; workers on any node claim due rows with
-- FOR UPDATE SKIP LOCKED, deliver them, and retry with backoff up to
-- max_retries.
--
-- Status lifecycle (IMPROVED: enforced by a CHECK; the seed left it open):
--   pending   queued, due at scheduled_at
--   sending   claimed by a worker; scheduled_at is pushed to the end of the
--             claim's lease, so if the node dies mid-delivery the row becomes
--             due again when the lease runs out (nothing is lost)
--   retrying  a delivery failed and retries remain; due again at scheduled_at
--             (the backoff)
--   sent      delivered (sent_at set); final
--   failed    gave up after max_retries, or permanent error; final until an
--             operator retries it (back to pending)
-- Due rows: status in ('pending', 'retrying', 'sending') and
-- scheduled_at <= now() — see idx_notifications_claim.

create table notifications (
    id            uuid         primary key default gen_random_uuid(),
    tenant_id     uuid         not null references tenants (id),
    user_id       uuid,
    type          varchar(50)  not null,
    template      varchar(100) not null,
    recipient     varchar(255) not null,
    subject       varchar(255),
    -- Holds live links and codes: never exposed by the API.
    content       text         not null,
    -- IMPROVED: NOT NULL on defaulted columns.
    status        varchar(20)  not null default 'pending',
    sent_at       timestamptz,
    error_message text,
    retry_count   integer      not null default 0,
    max_retries   integer      not null default 3,
    scheduled_at  timestamptz  not null default now(),
    created_at    timestamptz  not null default now(),
    constraint notifications_type_check check (type in ('email', 'sms', 'push')),
    constraint notifications_status_check
        check (status in ('pending', 'sending', 'retrying', 'sent', 'failed')),
    constraint notifications_retry_check check (retry_count >= 0 and max_retries >= 0),
    -- IMPROVED: composite key: the user (when known) belongs to tenant_id.
    constraint notifications_user_fkey foreign key (tenant_id, user_id)
        references users (tenant_id, id) on delete cascade
);

-- IMPROVED: the worker's claim query
--   select … from notifications
--   where status in ('pending', 'retrying', 'sending') and scheduled_at <= now()
--   order by scheduled_at limit $1 for update skip locked
-- reads only due candidates from this partial index (a subset of those
-- statuses in the query works too). It replaces idx_notifications_scheduled_at
-- and idx_notifications_status, which indexed every sent row forever.
create index idx_notifications_claim
    on notifications (scheduled_at)
    where status in ('pending', 'retrying', 'sending');

-- IMPROVED: tenant-leading versions of the seed's single-column indexes:
-- GET /notifications (newest first, keyset on (created_at, id)), filtered by
-- status; idx_notifications_type becomes (tenant_id, type, created_at) for
-- the per-tenant daily SMS count (sms_daily_limit).
create index idx_notifications_tenant_created
    on notifications (tenant_id, created_at desc, id desc);
create index idx_notifications_tenant_status
    on notifications (tenant_id, status, created_at desc);
create index idx_notifications_tenant_type
    on notifications (tenant_id, type, created_at);
-- IMPROVED: tenant-leading and partial; also serves the cascade from users.
create index idx_notifications_user_id
    on notifications (tenant_id, user_id)
    where user_id is not null;
