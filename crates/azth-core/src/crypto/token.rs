//! Random bytes and opaque tokens from the operating system's CSPRNG, SHA-256
//! digests for storing tokens by lookup key, and constant-time comparison.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroize as _;

use super::CryptoError;

/// `N` bytes from the operating system's CSPRNG (`getrandom`).
///
/// SECURITY: never a userspace PRNG seeded once; every call asks the kernel.
/// The kernel call only fails on exotic platforms or a broken sandbox, which is
/// reported instead of degrading to weaker randomness.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|_| CryptoError::Rng)?;
    Ok(bytes)
}

/// A fresh opaque token: 32 random bytes (256 bits), base64url without
/// padding, so 43 characters safe in URLs, headers and cookies.
///
/// Used for refresh, reset, verification and MFA tokens. Store only its
/// [`sha256_hex`] and look the digest up: no in-memory comparison is needed.
pub fn random_token() -> Result<String, CryptoError> {
    let mut bytes = random_bytes::<32>()?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    bytes.zeroize();
    Ok(token)
}

/// The SHA-256 digest of `data` as 64 lowercase hex characters.
///
/// SECURITY: fine for high-entropy inputs such as [`random_token`] output;
/// never use it for passwords or short codes (use Argon2 or an HMAC with a
/// server pepper instead).
pub fn sha256_hex(data: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(data);
    let mut out = String::with_capacity(digest.len() * 2);
    for byte in digest.iter() {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

/// Whether `a` and `b` are equal, in time independent of their contents.
///
/// SECURITY: the running time depends on the lengths only; slices of different
/// length are unequal at once. Compare fixed-length values (digests, codes)
/// so that the length reveals nothing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_bytes_differ_between_calls() {
        let a = random_bytes::<32>().unwrap();
        let b = random_bytes::<32>().unwrap();
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 32]);
    }

    #[test]
    fn random_token_is_43_url_safe_chars_and_unique() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_eq!(a.len(), 43);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'), "{a}");
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
    }

    #[test]
    fn sha256_hex_matches_known_vectors() {
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn constant_time_eq_compares_contents_and_lengths() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}

/// HMAC-SHA256 of `data` under `key`, hex: the stored form of short codes
/// (one-time codes, backup codes), which are too guessable for a bare hash.
pub fn hmac_sha256_hex(key: &[u8], data: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    use std::fmt::Write;
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(data);
    mac.finalize().into_bytes().iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[cfg(test)]
mod hmac_tests {
    #[test]
    fn hmac_sha256_matches_rfc4231_case_2() {
        assert_eq!(
            super::hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
