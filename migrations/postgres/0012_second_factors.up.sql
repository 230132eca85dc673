-- 0012_second_factors: what TOTP needs beyond the seed's mfa_secret and
-- backup_codes.
--
-- users.mfa_last_step is the RFC 6238 time step of the last TOTP code
-- accepted: a code whose step is not newer is refused, so each code works
-- at most once (replay protection). Secrets stay sealed in mfa_secret
-- (AES-256-GCM under the master key); backup_codes holds HMAC-SHA256 digests
-- under a server key, never the codes. One-time-code look-ups use
-- idx_otp_codes_target from 0006.
alter table users add column mfa_last_step bigint;
