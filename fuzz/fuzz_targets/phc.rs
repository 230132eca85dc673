//! PHC strings as stored for passwords, and the configured hash parameters:
//! parsing never panics; verification runs only for cheap parameters (a
//! fuzzer asking for 1 GiB of Argon2 memory is not a finding).
#![no_main]

use argon2::password_hash::phc::PasswordHash;
use azth_core::crypto::hash::{self, HashParams};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = text.parse::<HashParams>();
    let _ = hash::needs_rehash(text, &HashParams::default());
    if let Ok(parsed) = PasswordHash::new(text) {
        let cheap = ["m", "t", "p"].iter().all(|k| parsed.params.get_decimal(*k).is_none_or(|v| v <= 64));
        if cheap {
            let _ = hash::verify_password(b"password", text);
        }
    }
});
