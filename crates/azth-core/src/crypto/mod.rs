//! Cryptographic primitives of azth, with no I/O: password hashing
//! ([`hash`]), random tokens and digests ([`token`]), sealing secrets at rest
//! under the master key ([`seal`]) and EdDSA access tokens ([`jwt`]).
//!
//! Everything here is pure computation; the caller decides where keys live
//! and runs the slow parts (Argon2) on the bounded hashing pool.

pub mod hash;
pub mod jwt;
pub mod seal;
pub mod token;
pub mod totp;

pub use hash::{DummyHash, HashParams, hash_password, needs_rehash, verify_password};
pub use jwt::{AccessClaims, JwtError, SigningKey, VerifyingKey};
pub use seal::MasterKey;
pub use token::{constant_time_eq, random_bytes, random_token, sha256_hex};

/// Every failure of this module except JWT verification (see [`JwtError`]).
///
/// SECURITY: messages name what went wrong, never the password, key, token or
/// plaintext involved, so they are safe to log and to wrap in other errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// A password-hash parameter string (`AZTH_PASSWORD_HASH`) was rejected.
    #[error("invalid password hash parameters: {0}")]
    InvalidHashParams(String),
    /// A stored password hash is not a well-formed PHC string.
    #[error("the stored password hash is malformed")]
    MalformedHash,
    /// A stored password hash is well-formed but uses something azth does not verify.
    #[error("the stored password hash is not supported: {0}")]
    UnsupportedHash(&'static str),
    /// Argon2 refused to hash (parameters out of its range).
    #[error("password hashing failed")]
    Hashing,
    /// The operating system's random number generator failed.
    #[error("the operating system random number generator failed")]
    Rng,
    /// Key material has the wrong length or encoding.
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// A key id is empty, too long or has characters outside `[A-Za-z0-9._-]`.
    #[error("invalid key id: 1 to 128 characters from [A-Za-z0-9._-] required")]
    InvalidKeyId,
    /// Encryption failed (the input exceeds what AES-GCM can encrypt under one nonce).
    #[error("encryption failed")]
    Seal,
    /// Sealed data did not open: wrong key, wrong associated data, truncated or tampered.
    #[error("decryption failed: wrong key, wrong associated data or corrupted input")]
    Open,
    /// Sealed data starts with a format version this build does not know.
    #[error("sealed data has unknown format version {0}")]
    UnknownSealVersion(u8),
    /// Signing an access token failed.
    #[error("signing the token failed")]
    Sign,
}
