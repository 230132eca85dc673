//! Access-token parsing and verification: any input is refused or accepted,
//! never a panic. A fixed key, issuer and clock; the corpus starts from a
//! valid token (fuzz/corpus/jwt) so mutations reach the signature check.
#![no_main]

use std::sync::OnceLock;

use azth_core::crypto::jwt::{self, SigningKey};
use libfuzzer_sys::fuzz_target;

fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::from_private_bytes("fuzz-key".into(), &[7u8; 32]).expect("a fixed seed"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else { return };
    let _ = jwt::decode_kid(token);
    let _ = jwt::verify_at(token, &key().verifying_key(), "https://azth.example", "azth", 30, 1_700_000_000);
});
