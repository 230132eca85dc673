-- 0008_signing_keys: the JWT signing keys (global, not tenant-scoped, so no
-- row-level security; only app_admin may read it, see 0009).
--
-- One key signs at a time (retired_at IS NULL); after rotation the retired
-- key stays published in the JWKS until expires_at, i.e. until every token
-- it signed has expired. The private key is sealed (AES-256-GCM under the
-- master key) before it reaches the database.

create table signing_keys (
    id                 uuid        primary key default gen_random_uuid(),
    kid                text        not null,
    algorithm          text        not null default 'EdDSA',
    public_key         bytea       not null,
    private_key_sealed bytea       not null,
    created_at         timestamptz not null default now(),
    retired_at         timestamptz,
    expires_at         timestamptz,
    constraint signing_keys_kid_key unique (kid)
);
