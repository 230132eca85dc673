//! TOTP (RFC 6238): SHA-1, 6 digits, 30-second steps, one step of drift
//! either way — the parameters every authenticator app supports. The
//! algorithm itself is totp-rs; this module fixes its parameters, builds the
//! `otpauth://` URI and the QR code, and returns the matched time step so the
//! caller can refuse a step already used (RFC 6238 §5.2).

use qrcode::QrCode;
use qrcode::render::svg;
use totp_rs::{Algorithm, Builder, Secret};
use zeroize::Zeroizing;

use super::CryptoError;
use super::token::random_bytes;

/// Seconds per step.
pub const STEP: u64 = 30;
/// Secret length in bytes (160 bits, as RFC 4226 recommends).
pub const SECRET_LEN: usize = 20;

/// A fresh random TOTP secret.
pub fn generate_secret() -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    Ok(Zeroizing::new(random_bytes::<SECRET_LEN>()?.to_vec()))
}

fn totp(secret: &[u8], digits: u8, skew: u16) -> Result<totp_rs::Totp, CryptoError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(digits)
        .with_skew(skew)
        .with_step_duration(STEP)
        .with_secret(Secret::from(secret))
        .build()
        .map_err(|_| CryptoError::InvalidKey("TOTP secret too short"))
}

/// The code of `digits` digits (6–8) for `unix_time`.
pub fn code_at(secret: &[u8], unix_time: u64, digits: u8) -> Result<String, CryptoError> {
    if !(6..=8).contains(&digits) {
        return Err(CryptoError::InvalidKey("TOTP digits must be 6 to 8"));
    }
    Ok(totp(secret, digits, 0)?.generate(unix_time).to_string())
}

/// Checks a 6-digit `code` at `unix_time` with one step of drift either
/// way; returns the matched time step. The comparison is constant-time.
pub fn verify(secret: &[u8], code: &str, unix_time: u64) -> Result<Option<u64>, CryptoError> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    Ok(totp(secret, 6, 1)?.check(code, unix_time))
}

/// Base32 (RFC 4648, no padding), the secret form authenticator apps take.
pub fn base32(secret: &[u8]) -> String {
    Secret::from(secret).to_base32().trim_end_matches('=').to_owned()
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `otpauth://totp/…` URI (Google Authenticator key-URI format).
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    let issuer = percent(&issuer.replace(':', ""));
    let account = percent(&account.replace(':', ""));
    format!(
        "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm=SHA1&digits=6&period={STEP}",
        base32(secret)
    )
}

/// `data` as a QR code in SVG.
pub fn qr_svg(data: &str) -> Result<String, CryptoError> {
    let code = QrCode::new(data.as_bytes()).map_err(|_| CryptoError::InvalidKey("data too long for a QR code"))?;
    Ok(code.render::<svg::Color<'_>>().min_dimensions(200, 200).quiet_zone(true).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows: the seed is the ASCII "12345678901234567890".
    const SEED: &[u8] = b"12345678901234567890";
    const VECTORS: &[(u64, &str)] = &[
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    #[test]
    fn rfc6238_appendix_b_sha1_eight_digits() {
        for (time, expected) in VECTORS {
            assert_eq!(code_at(SEED, *time, 8).unwrap(), *expected, "T={time}");
        }
    }

    #[test]
    fn rfc6238_appendix_b_sha1_six_digit_truncation() {
        // Six digits are the last six of the eight (the same HOTP value mod 10^6).
        for (time, expected) in VECTORS {
            assert_eq!(code_at(SEED, *time, 6).unwrap(), expected[2..], "T={time}");
        }
    }

    #[test]
    fn verify_allows_one_step_of_drift_and_reports_the_step() {
        let t = 1_234_567_890;
        let step = t / STEP;
        let now = code_at(SEED, t, 6).unwrap();
        assert_eq!(verify(SEED, &now, t).unwrap(), Some(step));
        let previous = code_at(SEED, t - STEP, 6).unwrap();
        assert_eq!(verify(SEED, &previous, t).unwrap(), Some(step - 1));
        let next = code_at(SEED, t + STEP, 6).unwrap();
        assert_eq!(verify(SEED, &next, t).unwrap(), Some(step + 1));
        let two_away = code_at(SEED, t - 2 * STEP, 6).unwrap();
        assert_eq!(verify(SEED, &two_away, t).unwrap(), None);
        assert_eq!(verify(SEED, "12345", t).unwrap(), None);
        assert_eq!(verify(SEED, "abcdef", t).unwrap(), None);
    }

    #[test]
    fn uri_and_qr() {
        assert_eq!(base32(b"12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let uri = otpauth_uri(SEED, "Acme Corp", "alice@example.com");
        assert_eq!(
            uri,
            "otpauth://totp/Acme%20Corp:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Acme%20Corp&algorithm=SHA1&digits=6&period=30"
        );
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg"), "{}", &svg[..60]);
        assert_eq!(generate_secret().unwrap().len(), 20);
    }
}
