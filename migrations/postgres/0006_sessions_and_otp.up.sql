-- 0006_sessions_and_otp: sign-in sessions (hashes of the session/refresh
-- tokens, revocation) and one-time codes (hashes, attempts, expiry).
-- Both gain tenant_id (not in the seed) so that their RLS policies need no
-- join; a composite foreign key makes it the tenant of the user.

create table sessions (
    id                 uuid        primary key default gen_random_uuid(),
    tenant_id          uuid        not null references tenants (id),
    user_id            uuid        not null,
    -- SHA-256 of the high-entropy session / access-binding token.
    token_hash         text        not null,
    -- SHA-256 of the current refresh token (token mode only).
    refresh_token_hash text,
    ip_address         inet,
    user_agent         text,
    -- IMPROVED: NOT NULL on defaulted timestamps.
    last_activity      timestamptz not null default now(),
    expires_at         timestamptz not null,
    -- Set when the session is revoked (logout, reuse, admin); revocation is
    -- immediate, expiry is expires_at / idle timeout.
    revoked_at         timestamptz,
    created_at         timestamptz not null default now(),
    constraint sessions_token_hash_key unique (token_hash),
    -- IMPROVED: composite key: the user belongs to tenant_id.
    constraint sessions_user_fkey foreign key (tenant_id, user_id)
        references users (tenant_id, id) on delete cascade
);

-- IMPROVED: the seed's UNIQUE refresh_token_hash becomes a partial unique
-- index: cookie-mode sessions (no refresh token) are not indexed.
create unique index sessions_refresh_token_hash_key
    on sessions (refresh_token_hash)
    where refresh_token_hash is not null;

-- IMPROVED: the seed's idx_sessions_token_hash duplicated the index of the
-- UNIQUE constraint sessions_token_hash_key; dropped. idx_sessions_user_id
-- becomes tenant-leading (tenant_id, user_id): "sessions of a user" (list,
-- revoke all) and the cascade from users.
create index idx_sessions_tenant_user on sessions (tenant_id, user_id);
-- Clean-up of expired / idle sessions by the worker.
create index idx_sessions_expires_at on sessions (expires_at);
create index idx_sessions_last_activity on sessions (last_activity);
-- Clean-up of revoked sessions (partial: most sessions are not revoked).
create index idx_sessions_revoked_at
    on sessions (revoked_at)
    where revoked_at is not null;

create table otp_codes (
    id           uuid         primary key default gen_random_uuid(),
    tenant_id    uuid         not null references tenants (id),
    -- NULL when the target belongs to no account (the send still "succeeds").
    user_id      uuid,
    -- HMAC of the code under a server key.
    code_hash    text         not null,
    type         varchar(20)  not null,
    purpose      varchar(50)  not null,
    -- Email address or phone number the code was sent to.
    target       varchar(255),
    -- IMPROVED: NOT NULL on defaulted counters and timestamps.
    attempts     integer      not null default 0,
    max_attempts integer      not null default 3,
    expires_at   timestamptz  not null,
    used_at      timestamptz,
    created_at   timestamptz  not null default now(),
    -- IMPROVED: the values the seed listed in comments, enforced.
    constraint otp_codes_type_check check (type in ('email', 'sms', 'totp')),
    constraint otp_codes_purpose_check
        check (purpose in ('login', 'verification', 'password_reset')),
    constraint otp_codes_attempts_check check (attempts >= 0 and max_attempts >= 1),
    -- IMPROVED: composite key: the user (when known) belongs to tenant_id.
    constraint otp_codes_user_fkey foreign key (tenant_id, user_id)
        references users (tenant_id, id) on delete cascade
);

-- IMPROVED: tenant-leading and partial (was user_id alone); also serves the
-- cascade from users.
create index idx_otp_codes_user_id
    on otp_codes (tenant_id, user_id)
    where user_id is not null;
-- IMPROVED: tenant-leading (was code_hash alone).
create index idx_otp_codes_code_hash on otp_codes (tenant_id, code_hash);
create index idx_otp_codes_expires_at on otp_codes (expires_at);
-- IMPROVED: replaces idx_otp_codes_type_purpose (type, purpose), two columns
-- of a handful of values each. /otp/verify looks up the newest code of a
-- (tenant, target, channel, purpose); per-target send limits count by
-- (tenant, target, created_at).
create index idx_otp_codes_target
    on otp_codes (tenant_id, target, type, purpose, created_at desc);
