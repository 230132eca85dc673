//! Sealing secrets at rest (JWT signing keys, TOTP secrets) under the master
//! key (`AZTH_MASTER_KEY`) with AES-256-GCM.
//!
//! Sealed format, version 1:
//!
//! ```text
//! 0x01 ‖ nonce (12 bytes, random) ‖ ciphertext ‖ tag (16 bytes)
//! ```
//!
//! The version byte is authenticated along with the caller's associated data
//! (AAD = `0x01 ‖ aad`), so it cannot be swapped without detection, and a
//! later format can be told apart by its first byte.

use std::fmt;

use aes_gcm::aead::{Aead as _, AeadInOut as _, KeyInit as _, Nonce, Payload};
use aes_gcm::{Aes256Gcm, Key};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use super::CryptoError;
use super::token::random_bytes;

/// The format version written by [`MasterKey::seal`].
const VERSION_1: u8 = 1;
/// AES-GCM nonce length.
const NONCE_LEN: usize = 12;
/// AES-GCM tag length.
const TAG_LEN: usize = 16;
/// Length of the master key (AES-256).
const KEY_LEN: usize = 32;

/// The 256-bit key sealing secrets at rest.
///
/// SECURITY: the bytes live in `Zeroizing` and are wiped on drop; `Debug`
/// prints no key material and there is deliberately no `Serialize` or `Clone`
/// (share it behind an `Arc`). Only [`MasterKey::to_base64`] reveals it, for
/// writing the generated key file.
pub struct MasterKey {
    bytes: Zeroizing<[u8; KEY_LEN]>,
}

impl MasterKey {
    /// Parses the key from standard base64 (with padding) of exactly 32 bytes,
    /// the form of `AZTH_MASTER_KEY` and the key file. Surrounding whitespace
    /// (a trailing newline in a file) is ignored.
    pub fn from_base64(encoded: &str) -> Result<Self, CryptoError> {
        let decoded = Zeroizing::new(
            STANDARD
                .decode(encoded.trim())
                .map_err(|_| CryptoError::InvalidKey("the master key is not valid base64"))?,
        );
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        if decoded.len() != KEY_LEN {
            return Err(CryptoError::InvalidKey("the master key must decode to exactly 32 bytes"));
        }
        bytes.copy_from_slice(&decoded);
        Ok(Self { bytes })
    }

    /// A fresh random key from the OS CSPRNG.
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self { bytes: Zeroizing::new(random_bytes::<KEY_LEN>()?) })
    }

    /// The key as standard base64 (44 characters), for writing the key file.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.bytes.as_slice()))
    }

    /// Encrypts and authenticates `plaintext`, binding it to `aad`.
    ///
    /// `aad` is not stored: pass the same bytes to [`MasterKey::open`]. Use it
    /// to pin a secret to its row (e.g. `b"jwt_key:" ‖ key id`), so a sealed value
    /// copied into another row or column does not open.
    ///
    /// SECURITY: a random 96-bit nonce per call; stay well below 2^32 seals per
    /// master key (NIST SP 800-38D §8.3), far beyond what key and TOTP-secret
    /// writes reach.
    /// A 32-byte subkey for `label` (HMAC-SHA256 of the label under the
    /// master key), e.g. the key that digests one-time and backup codes.
    /// Distinct labels give independent keys; the master key never leaves.
    pub fn derive(&self, label: &str) -> Zeroizing<[u8; KEY_LEN]> {
        use hmac::{KeyInit, Mac};
        let mut out = Zeroizing::new([0u8; KEY_LEN]);
        if let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(self.bytes.as_slice()) {
            mac.update(b"azth-derive-v1:");
            mac.update(label.as_bytes());
            out.copy_from_slice(&mac.finalize().into_bytes());
        }
        out
    }

    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let nonce_bytes = random_bytes::<NONCE_LEN>()?;
        let nonce = Nonce::<Aes256Gcm>::from(nonce_bytes);
        let full_aad = versioned_aad(VERSION_1, aad);
        let ciphertext =
            self.cipher().encrypt(&nonce, Payload { msg: plaintext, aad: &full_aad }).map_err(|_| CryptoError::Seal)?;
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(VERSION_1);
        sealed.extend_from_slice(&nonce_bytes);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Authenticates and decrypts what [`MasterKey::seal`] produced with the same `aad`.
    ///
    /// A wrong key, wrong `aad`, truncated or altered input all give
    /// [`CryptoError::Open`] (an unknown first byte gives
    /// [`CryptoError::UnknownSealVersion`]); no partial plaintext is ever returned.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let Some((&version, rest)) = sealed.split_first() else {
            return Err(CryptoError::Open);
        };
        if version != VERSION_1 {
            return Err(CryptoError::UnknownSealVersion(version));
        }
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Open);
        }
        let (nonce_bytes, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::<Aes256Gcm>::try_from(nonce_bytes).map_err(|_| CryptoError::Open)?;
        let full_aad = versioned_aad(version, aad);
        // SECURITY: decrypt in a buffer that is wiped on drop, so neither the
        // plaintext nor a rejected attempt lingers in freed memory.
        let mut buffer = Zeroizing::new(ciphertext.to_vec());
        self.cipher().decrypt_in_place(&nonce, &full_aad, &mut *buffer).map_err(|_| CryptoError::Open)?;
        Ok(buffer)
    }

    /// An AES-256-GCM instance for one operation (the key schedule is cheap
    /// next to the database round trip around it, and is wiped on drop).
    fn cipher(&self) -> Aes256Gcm {
        // Borrowed as the cipher's key type in place: no unwiped copy on the stack.
        let key: &Key<Aes256Gcm> = (&*self.bytes).into();
        Aes256Gcm::new(key)
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// The associated data actually authenticated: the format version, then the caller's.
fn versioned_aad(version: u8, aad: &[u8]) -> Vec<u8> {
    let mut full = Vec::with_capacity(1 + aad.len());
    full.push(version);
    full.extend_from_slice(aad);
    full
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let key = MasterKey::generate().unwrap();
        for plaintext in [&b""[..], b"x", b"a totp secret", &[0xffu8; 4096]] {
            let sealed = key.seal(plaintext, b"ctx").unwrap();
            assert_eq!(sealed.len(), 1 + NONCE_LEN + plaintext.len() + TAG_LEN);
            assert_eq!(sealed[0], VERSION_1);
            assert_eq!(key.open(&sealed, b"ctx").unwrap().as_slice(), plaintext);
        }
    }

    #[test]
    fn same_plaintext_seals_differently() {
        let key = MasterKey::generate().unwrap();
        assert_ne!(key.seal(b"secret", b"").unwrap(), key.seal(b"secret", b"").unwrap());
    }

    #[test]
    fn wrong_key_fails() {
        let sealed = MasterKey::generate().unwrap().seal(b"secret", b"ctx").unwrap();
        let other = MasterKey::generate().unwrap();
        assert_eq!(other.open(&sealed, b"ctx"), Err(CryptoError::Open));
    }

    #[test]
    fn wrong_aad_fails() {
        let key = MasterKey::generate().unwrap();
        let sealed = key.seal(b"secret", b"jwt_key:k1").unwrap();
        assert_eq!(key.open(&sealed, b"jwt_key:k2"), Err(CryptoError::Open));
        assert_eq!(key.open(&sealed, b""), Err(CryptoError::Open));
    }

    #[test]
    fn every_tampered_byte_fails() {
        let key = MasterKey::generate().unwrap();
        let sealed = key.seal(b"secret", b"ctx").unwrap();
        for index in 1..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[index] ^= 0x01;
            assert_eq!(key.open(&tampered, b"ctx"), Err(CryptoError::Open), "byte {index}");
        }
        let mut extended = sealed.clone();
        extended.push(0);
        assert_eq!(key.open(&extended, b"ctx"), Err(CryptoError::Open));
    }

    #[test]
    fn version_byte_is_checked() {
        let key = MasterKey::generate().unwrap();
        let mut sealed = key.seal(b"secret", b"ctx").unwrap();
        sealed[0] = 2;
        assert_eq!(key.open(&sealed, b"ctx"), Err(CryptoError::UnknownSealVersion(2)));
        sealed[0] = 0;
        assert_eq!(key.open(&sealed, b"ctx"), Err(CryptoError::UnknownSealVersion(0)));
    }

    #[test]
    fn truncated_input_fails_without_panicking() {
        let key = MasterKey::generate().unwrap();
        let sealed = key.seal(b"secret", b"ctx").unwrap();
        for len in 0..sealed.len() {
            assert!(key.open(&sealed[..len], b"ctx").is_err(), "length {len}");
        }
        assert_eq!(key.open(&[], b""), Err(CryptoError::Open));
        assert_eq!(key.open(&[VERSION_1], b""), Err(CryptoError::Open));
    }

    #[test]
    fn base64_round_trip_and_validation() {
        let key = MasterKey::generate().unwrap();
        let encoded = key.to_base64();
        assert_eq!(encoded.len(), 44);
        let again = MasterKey::from_base64(&encoded).unwrap();
        let sealed = key.seal(b"secret", b"").unwrap();
        assert_eq!(again.open(&sealed, b"").unwrap().as_slice(), b"secret");
        assert!(MasterKey::from_base64(&format!("{}\n", encoded.as_str())).is_ok(), "key files end in a newline");

        for bad in [
            String::new(),
            "not base64!".into(),
            STANDARD.encode([0u8; 31]),
            STANDARD.encode([0u8; 33]),
            STANDARD.encode([0u8; 64]),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0xffu8; 32]),
        ] {
            assert!(matches!(MasterKey::from_base64(&bad), Err(CryptoError::InvalidKey(_))), "{bad:?}");
        }
    }

    #[test]
    fn debug_is_redacted() {
        let key = MasterKey::from_base64(&STANDARD.encode([0x41u8; 32])).unwrap();
        let printed = format!("{key:?}");
        assert_eq!(printed, "MasterKey(<redacted>)");
        assert!(!printed.contains(key.to_base64().as_str()));
    }
}
