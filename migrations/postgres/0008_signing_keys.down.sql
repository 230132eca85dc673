-- 0008_signing_keys (down): drops the signing keys. Tokens they signed can
-- no longer be verified.

drop table signing_keys;
