//! Access tokens: compact JWS (RFC 7515/7519) signed with EdDSA over Ed25519
//! (RFC 8037), verifiable by anyone holding the JWKS
//! (`/.well-known/jwks.json`).
//!
//! jsonwebtoken (rust_crypto backend) does the JOSE encoding and the signature
//! check; key generation and storage use ed25519-dalek. Verification accepts
//! EdDSA only, picks the key solely by the header `kid` the caller resolved,
//! and checks `iss`, `aud`, `exp`, `nbf` and `iat` itself, so the clock is an
//! argument ([`verify_at`]) rather than hidden inside the library.

use std::collections::HashSet;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::{Zeroize as _, Zeroizing};

use super::CryptoError;
use super::token::random_bytes;
use crate::error::ErrorCode;

/// Length of an Ed25519 seed (private key) and of a public key.
const KEY_LEN: usize = 32;
/// Longest key id accepted.
const MAX_KID_LEN: usize = 128;
/// Longest token [`verify`] looks at; azth's access tokens are about 600 bytes.
const MAX_TOKEN_LEN: usize = 8 * 1024;

/// PKCS#8 v1 `PrivateKeyInfo` prefix for an Ed25519 seed (RFC 8410 §7 and
/// §10.3): SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING {
/// OCTET STRING (32 bytes) } }. jsonwebtoken's rust_crypto signer reads its
/// `EncodingKey::from_ed_der` bytes with ed25519-dalek's `from_pkcs8_der`, so
/// this DER (what `openssl genpkey -algorithm ed25519 -outform DER` writes) is
/// exactly what it expects.
const PKCS8_ED25519_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/// The claims of an azth access token (API.md "Tokens and sessions").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer: `AZTH_PUBLIC_URL`.
    pub iss: String,
    /// Subject: the user id (a UUID, as a string; RFC 7519 §4.1.2 makes it a StringOrURI).
    pub sub: String,
    /// Audience: `azth` unless configured otherwise. A single string, never an array.
    pub aud: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    /// Not before, seconds since the Unix epoch.
    pub nbf: i64,
    /// Unique token id.
    pub jti: String,
    /// Tenant id.
    pub tid: Uuid,
    /// Session id; revoking the session makes the token useless at the next check.
    pub sid: Uuid,
    /// Authentication methods (RFC 8176: `pwd`, `otp`, `mfa`, `sms`, plus azth's `email`).
    pub amr: Vec<String>,
}

/// Why [`verify`] refused a token. Deliberately coarse: the client learns
/// only whether refreshing could help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum JwtError {
    /// Signed correctly and otherwise valid, but past `exp` plus the leeway.
    #[error("the token has expired")]
    Expired,
    /// Anything else: malformed, wrong algorithm, key, signature, issuer or
    /// audience, missing claims, not yet valid.
    #[error("the token is invalid")]
    Invalid,
}

impl JwtError {
    /// The API error code for this failure (`TOKEN_EXPIRED` or `TOKEN_INVALID`).
    pub const fn code(self) -> ErrorCode {
        match self {
            Self::Expired => ErrorCode::TokenExpired,
            Self::Invalid => ErrorCode::TokenInvalid,
        }
    }
}

/// An Ed25519 private key with its key id, for signing access tokens.
///
/// SECURITY: ed25519-dalek and jsonwebtoken wipe their copies on drop;
/// `Debug` shows the kid and public key only; no `Serialize`. Persist it only
/// as [`SigningKey::private_bytes`] sealed under the master key.
pub struct SigningKey {
    kid: String,
    key: ed25519_dalek::SigningKey,
    encoding: EncodingKey,
}

impl SigningKey {
    /// A new random key (seed from the OS CSPRNG) named `kid`.
    pub fn generate(kid: String) -> Result<Self, CryptoError> {
        let seed = Zeroizing::new(random_bytes::<KEY_LEN>()?);
        Self::from_private_bytes(kid, seed.as_slice())
    }

    /// Rebuilds a key from its 32-byte Ed25519 seed (RFC 8032 §5.1.5), the
    /// form [`SigningKey::private_bytes`] returns.
    pub fn from_private_bytes(kid: String, private: &[u8]) -> Result<Self, CryptoError> {
        check_kid(&kid)?;
        let mut seed = Zeroizing::new([0u8; KEY_LEN]);
        if private.len() != KEY_LEN {
            return Err(CryptoError::InvalidKey("an Ed25519 private key is a 32-byte seed"));
        }
        seed.copy_from_slice(private);
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let der = pkcs8_der(&seed);
        Ok(Self { kid, key, encoding: EncodingKey::from_ed_der(&der) })
    }

    /// The 32-byte seed, to be sealed with the master key before it is stored.
    pub fn private_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut seed = self.key.to_bytes();
        let copy = Zeroizing::new(seed.to_vec());
        seed.zeroize();
        copy
    }

    /// The 32-byte public key (RFC 8032 encoding, the JWK `x`).
    pub fn public_bytes(&self) -> [u8; KEY_LEN] {
        self.key.verifying_key().to_bytes()
    }

    /// The key id written into token headers and the JWKS.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The matching public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey::from_dalek(self.kid.clone(), self.key.verifying_key())
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("x", &URL_SAFE_NO_PAD.encode(self.public_bytes()))
            .field("private", &"<redacted>")
            .finish()
    }
}

/// An Ed25519 public key with its key id: verifies tokens and renders as a JWK.
#[derive(Clone)]
pub struct VerifyingKey {
    kid: String,
    public: [u8; KEY_LEN],
    decoding: DecodingKey,
}

impl VerifyingKey {
    /// Builds a verifying key from a key id and the 32-byte public key.
    ///
    /// SECURITY: rejects encodings that are not a curve point and the
    /// small-order ("weak") points, for which signatures prove nothing.
    pub fn new(kid: String, public: [u8; KEY_LEN]) -> Result<Self, CryptoError> {
        check_kid(&kid)?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&public)
            .map_err(|_| CryptoError::InvalidKey("not an Ed25519 public key"))?;
        if key.is_weak() {
            return Err(CryptoError::InvalidKey("a small-order Ed25519 public key"));
        }
        Ok(Self::from_dalek(kid, key))
    }

    fn from_dalek(kid: String, key: ed25519_dalek::VerifyingKey) -> Self {
        let public = key.to_bytes();
        // jsonwebtoken's rust_crypto verifier reads the raw 32 bytes.
        Self { kid, public, decoding: DecodingKey::from_ed_der(&public) }
    }

    /// The key id tokens signed by this key carry in their header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The 32-byte public key.
    pub fn public_bytes(&self) -> [u8; KEY_LEN] {
        self.public
    }

    /// The public JWK (RFC 8037 §2): `{"kty":"OKP","crv":"Ed25519","x",…,"kid","alg":"EdDSA","use":"sig"}`.
    pub fn jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(self.public),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        })
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey").field("kid", &self.kid).field("x", &URL_SAFE_NO_PAD.encode(self.public)).finish()
    }
}

/// The JWK Set (RFC 7517 §5) for `/.well-known/jwks.json`: `{"keys": [...]}`.
pub fn jwks(keys: &[VerifyingKey]) -> serde_json::Value {
    serde_json::json!({ "keys": keys.iter().map(VerifyingKey::jwk).collect::<Vec<_>>() })
}

/// Signs `claims` as a compact JWS with header `{"typ":"JWT","alg":"EdDSA","kid":…}`.
pub fn sign(claims: &AccessClaims, key: &SigningKey) -> Result<String, CryptoError> {
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some("JWT".to_owned());
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.encoding).map_err(|_| CryptoError::Sign)
}

/// The `kid` of a token's header, to pick the verifying key.
///
/// SECURITY: nothing is verified here; the result only selects among keys
/// azth already trusts, and [`verify`] checks it again.
pub fn decode_kid(token: &str) -> Option<String> {
    if token.len() > MAX_TOKEN_LEN {
        return None;
    }
    jsonwebtoken::decode_header(token).ok()?.kid
}

/// Verifies an access token against `key` at the current time.
///
/// See [`verify_at`]; this reads the system clock.
pub fn verify(
    token: &str,
    key: &VerifyingKey,
    issuer: &str,
    audience: &str,
    leeway_secs: u64,
) -> Result<AccessClaims, JwtError> {
    verify_at(token, key, issuer, audience, leeway_secs, unix_now())
}

/// Verifies an access token against `key` as of `now` (seconds since the Unix epoch).
///
/// Accepts only: an EdDSA signature by `key`; a header whose `kid` equals the
/// key's and whose `typ`, if present, is `JWT`, with no `crit`; `iss` equal to
/// `issuer` and `aud` equal to `audience` (a single string); `exp`, `nbf` and
/// `iat` present, with `nbf` and `iat` at most `leeway_secs` in the future.
/// Past `exp` plus the leeway gives [`JwtError::Expired`], but only for a
/// token that passes every other check; everything else is [`JwtError::Invalid`].
///
/// SECURITY: the algorithm comes from this function, never from the token,
/// so `alg: none` (any casing), HS256 keyed with the public key, RS*/ES*/PS*
/// all fail. Header `jwk`, `jku`, `x5u` and `x5c` are never used to find a key.
pub fn verify_at(
    token: &str,
    key: &VerifyingKey,
    issuer: &str,
    audience: &str,
    leeway_secs: u64,
    now: i64,
) -> Result<AccessClaims, JwtError> {
    // SECURITY: bound the work an unauthenticated caller can cause.
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::Invalid);
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Invalid)?;
    if header.alg != Algorithm::EdDSA
        || header.kid.as_deref() != Some(key.kid.as_str())
        || header.typ.as_deref().is_some_and(|typ| !typ.eq_ignore_ascii_case("JWT"))
        // RFC 7515 §4.1.11: extensions we do not understand must be refused.
        || header.crit.is_some()
    {
        return Err(JwtError::Invalid);
    }

    let mut validation = Validation::new(Algorithm::EdDSA);
    // Time claims are checked below against the injected `now`.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.leeway = 0;
    validation.required_spec_claims = ["exp", "nbf", "iss", "aud", "sub"].map(str::to_owned).into_iter().collect();
    validation.iss = Some(HashSet::from([issuer.to_owned()]));
    validation.aud = Some(HashSet::from([audience.to_owned()]));
    let claims =
        jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &validation).map_err(|_| JwtError::Invalid)?.claims;

    // Exact comparison; jsonwebtoken would also accept arrays.
    if claims.iss != issuer || claims.aud != audience {
        return Err(JwtError::Invalid);
    }
    let leeway = i64::try_from(leeway_secs).unwrap_or(i64::MAX);
    let latest_acceptable = now.saturating_add(leeway);
    if claims.nbf > latest_acceptable || claims.iat > latest_acceptable {
        return Err(JwtError::Invalid);
    }
    // RFC 7519 §4.1.4: valid only while now < exp (plus leeway).
    if claims.exp.saturating_add(leeway) <= now {
        return Err(JwtError::Expired);
    }
    Ok(claims)
}

/// Seconds since the Unix epoch by the system clock (0 if it reads before 1970).
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
}

/// Key ids appear in headers, URLs and logs: 1–128 characters of `[A-Za-z0-9._-]`.
fn check_kid(kid: &str) -> Result<(), CryptoError> {
    let well_formed = !kid.is_empty()
        && kid.len() <= MAX_KID_LEN
        && kid.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if well_formed { Ok(()) } else { Err(CryptoError::InvalidKeyId) }
}

/// The PKCS#8 v1 DER of an Ed25519 seed (see [`PKCS8_ED25519_PREFIX`]).
fn pkcs8_der(seed: &[u8; KEY_LEN]) -> Zeroizing<Vec<u8>> {
    let mut der = Zeroizing::new(Vec::with_capacity(PKCS8_ED25519_PREFIX.len() + KEY_LEN));
    der.extend_from_slice(&PKCS8_ED25519_PREFIX);
    der.extend_from_slice(seed);
    der
}

#[cfg(test)]
mod tests;
