//! Tests of the access-token module: round trips, and every way a forged,
//! altered or foreign token must fail.

use super::*;
use ed25519_dalek::Signer as _;
use hmac::{KeyInit as _, Mac as _};
use serde_json::{Value, json};

const ISS: &str = "https://id.example.test";
const AUD: &str = "azth";
const LEEWAY: u64 = 30;
const NOW: i64 = 1_750_000_000;

fn claims_at(now: i64) -> AccessClaims {
    AccessClaims {
        iss: ISS.to_owned(),
        sub: Uuid::now_v7().to_string(),
        aud: AUD.to_owned(),
        exp: now + 900,
        iat: now,
        nbf: now,
        jti: Uuid::new_v4().to_string(),
        tid: Uuid::now_v7(),
        sid: Uuid::now_v7(),
        amr: vec!["pwd".to_owned()],
    }
}

fn key(kid: &str) -> SigningKey {
    SigningKey::generate(kid.to_owned()).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn b64_json(value: &Value) -> String {
    b64(&serde_json::to_vec(value).unwrap())
}

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// A token built by hand: the header and claims as given, signed by `signer`.
fn forge(header: &Value, claims: &Value, signer: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let message = format!("{}.{}", b64_json(header), b64_json(claims));
    let signature = signer(message.as_bytes());
    format!("{message}.{}", b64(&signature))
}

fn ed25519_signer(key: &SigningKey) -> impl Fn(&[u8]) -> Vec<u8> + '_ {
    |message| key.key.sign(message).to_bytes().to_vec()
}

fn hs256(secret: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn good_header(kid: &str) -> Value {
    json!({"alg": "EdDSA", "typ": "JWT", "kid": kid})
}

fn check(token: &str, key: &VerifyingKey) -> Result<AccessClaims, JwtError> {
    verify_at(token, key, ISS, AUD, LEEWAY, NOW)
}

#[test]
fn round_trip() {
    let signing = key("k1");
    let claims = claims_at(NOW);
    let token = sign(&claims, &signing).unwrap();
    assert_eq!(check(&token, &signing.verifying_key()), Ok(claims.clone()));
    assert_eq!(decode_kid(&token).as_deref(), Some("k1"));

    let header = decode_part(token.split('.').next().unwrap());
    assert_eq!(header, json!({"alg": "EdDSA", "typ": "JWT", "kid": "k1"}));
    let payload = decode_part(token.split('.').nth(1).unwrap());
    assert_eq!(payload["sub"], json!(claims.sub));
    assert_eq!(payload["tid"], json!(claims.tid.to_string()));
    assert_eq!(payload["amr"], json!(["pwd"]));
}

#[test]
fn round_trip_on_the_system_clock() {
    let signing = key("k1");
    let claims = claims_at(unix_now());
    let token = sign(&claims, &signing).unwrap();
    assert_eq!(verify(&token, &signing.verifying_key(), ISS, AUD, LEEWAY), Ok(claims));
}

#[test]
fn hand_forged_token_with_our_key_verifies() {
    // Proves the forging helper is sound, so the rejections below mean something.
    let signing = key("k1");
    let claims = claims_at(NOW);
    let token = forge(&good_header("k1"), &serde_json::to_value(&claims).unwrap(), ed25519_signer(&signing));
    assert_eq!(check(&token, &signing.verifying_key()), Ok(claims));
}

#[test]
fn tampered_payload_is_invalid() {
    let signing = key("k1");
    let token = sign(&claims_at(NOW), &signing).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload = decode_part(parts[1]);
    payload["sub"] = json!(Uuid::now_v7().to_string());
    let tampered = format!("{}.{}.{}", parts[0], b64_json(&payload), parts[2]);
    assert_eq!(check(&tampered, &signing.verifying_key()), Err(JwtError::Invalid));

    let mut payload = decode_part(parts[1]);
    payload["exp"] = json!(NOW + 999_999);
    let tampered = format!("{}.{}.{}", parts[0], b64_json(&payload), parts[2]);
    assert_eq!(check(&tampered, &signing.verifying_key()), Err(JwtError::Invalid));
}

#[test]
fn tampered_signature_is_invalid() {
    let signing = key("k1");
    let token = sign(&claims_at(NOW), &signing).unwrap();
    let (message, signature) = token.rsplit_once('.').unwrap();
    let mut raw = URL_SAFE_NO_PAD.decode(signature).unwrap();
    for index in [0, 31, 32, 63] {
        raw[index] ^= 0x01;
        let tampered = format!("{message}.{}", b64(&raw));
        assert_eq!(check(&tampered, &signing.verifying_key()), Err(JwtError::Invalid));
        raw[index] ^= 0x01;
    }
    let truncated = format!("{message}.{}", b64(&raw[..63]));
    assert_eq!(check(&truncated, &signing.verifying_key()), Err(JwtError::Invalid));
}

#[test]
fn stripped_signature_is_invalid() {
    let signing = key("k1");
    let token = sign(&claims_at(NOW), &signing).unwrap();
    let (message, _) = token.rsplit_once('.').unwrap();
    for stripped in [format!("{message}."), message.to_owned(), format!("{message}.."), format!("{token}.")] {
        assert_eq!(check(&stripped, &signing.verifying_key()), Err(JwtError::Invalid), "{stripped}");
    }
}

#[test]
fn alg_none_in_any_casing_is_invalid() {
    let signing = key("k1");
    let claims = serde_json::to_value(claims_at(NOW)).unwrap();
    let real = sign(&claims_at(NOW), &signing).unwrap();
    let real_signature = real.rsplit_once('.').unwrap().1.to_owned();
    for alg in ["none", "None", "NONE", "nOnE", "noNe", ""] {
        let header = json!({"alg": alg, "typ": "JWT", "kid": "k1"});
        let unsigned = forge(&header, &claims, |_| Vec::new());
        assert_eq!(check(&unsigned, &signing.verifying_key()), Err(JwtError::Invalid), "{alg}");
        let message = unsigned.trim_end_matches('.');
        assert_eq!(check(message, &signing.verifying_key()), Err(JwtError::Invalid), "{alg}");
        let with_real_signature = format!("{message}.{real_signature}");
        assert_eq!(check(&with_real_signature, &signing.verifying_key()), Err(JwtError::Invalid), "{alg}");
    }
    let no_alg = forge(&json!({"typ": "JWT", "kid": "k1"}), &claims, ed25519_signer(&signing));
    assert_eq!(check(&no_alg, &signing.verifying_key()), Err(JwtError::Invalid));
}

#[test]
fn hs256_keyed_with_the_public_key_is_invalid() {
    let signing = key("k1");
    let verifying = signing.verifying_key();
    let claims = serde_json::to_value(claims_at(NOW)).unwrap();
    let public = verifying.public_bytes();
    let x = b64(&public);
    let jwk = serde_json::to_vec(&verifying.jwk()).unwrap();
    let jwks = serde_json::to_vec(&jwks(std::slice::from_ref(&verifying))).unwrap();
    for alg in ["HS256", "HS384", "HS512", "hs256"] {
        for secret in [&public[..], x.as_bytes(), &jwk, &jwks] {
            let header = json!({"alg": alg, "typ": "JWT", "kid": "k1"});
            let token = forge(&header, &claims, |message| hs256(secret, message));
            assert_eq!(check(&token, &verifying), Err(JwtError::Invalid), "{alg}");
        }
    }
}

#[test]
fn other_asymmetric_algorithms_are_invalid() {
    let signing = key("k1");
    let claims = serde_json::to_value(claims_at(NOW)).unwrap();
    for alg in ["RS256", "RS512", "PS256", "ES256", "ES384", "ES256K", "EdDSA25519", "Ed25519", "eddsa"] {
        let header = json!({"alg": alg, "typ": "JWT", "kid": "k1"});
        // Even an Ed25519 signature by the right key must not pass under another name.
        let token = forge(&header, &claims, ed25519_signer(&signing));
        assert_eq!(check(&token, &signing.verifying_key()), Err(JwtError::Invalid), "{alg}");
    }
}

#[test]
fn expired_is_expired_only_past_the_leeway() {
    let signing = key("k1");
    let verifying = signing.verifying_key();
    let mut claims = claims_at(NOW - 1000);
    claims.exp = NOW - 31;
    assert_eq!(check(&sign(&claims, &signing).unwrap(), &verifying), Err(JwtError::Expired));
    claims.exp = NOW - 30;
    assert_eq!(check(&sign(&claims, &signing).unwrap(), &verifying), Err(JwtError::Expired));
    claims.exp = NOW - 29;
    assert!(check(&sign(&claims, &signing).unwrap(), &verifying).is_ok());
    claims.exp = NOW - 1;
    let token = sign(&claims, &signing).unwrap();
    assert_eq!(verify_at(&token, &verifying, ISS, AUD, 0, NOW), Err(JwtError::Expired));
}

#[test]
fn expired_but_otherwise_bad_is_invalid() {
    let signing = key("k1");
    let mut claims = claims_at(NOW - 1000);
    claims.exp = NOW - 500;
    claims.aud = "other".to_owned();
    assert_eq!(check(&sign(&claims, &signing).unwrap(), &signing.verifying_key()), Err(JwtError::Invalid));
    let mut claims = claims_at(NOW - 1000);
    claims.exp = NOW - 500;
    let other = key("k1");
    assert_eq!(check(&sign(&claims, &other).unwrap(), &signing.verifying_key()), Err(JwtError::Invalid));
}

#[test]
fn not_yet_valid_or_issued_in_the_future_is_invalid() {
    let signing = key("k1");
    let verifying = signing.verifying_key();
    let mut claims = claims_at(NOW);
    claims.nbf = NOW + 31;
    assert_eq!(check(&sign(&claims, &signing).unwrap(), &verifying), Err(JwtError::Invalid));
    claims.nbf = NOW + 30;
    assert!(check(&sign(&claims, &signing).unwrap(), &verifying).is_ok(), "within the leeway");

    let mut claims = claims_at(NOW);
    claims.iat = NOW + 31;
    assert_eq!(check(&sign(&claims, &signing).unwrap(), &verifying), Err(JwtError::Invalid));
    claims.iat = NOW + 30;
    assert!(check(&sign(&claims, &signing).unwrap(), &verifying).is_ok(), "within the leeway");
}

#[test]
fn wrong_issuer_or_audience_is_invalid() {
    let signing = key("k1");
    let verifying = signing.verifying_key();
    let token = sign(&claims_at(NOW), &signing).unwrap();
    assert_eq!(verify_at(&token, &verifying, "https://evil.test", AUD, LEEWAY, NOW), Err(JwtError::Invalid));
    assert_eq!(verify_at(&token, &verifying, ISS, "other", LEEWAY, NOW), Err(JwtError::Invalid));
    assert_eq!(verify_at(&token, &verifying, &format!("{ISS}/"), AUD, LEEWAY, NOW), Err(JwtError::Invalid));
    assert_eq!(verify_at(&token, &verifying, ISS, "AZTH", LEEWAY, NOW), Err(JwtError::Invalid));

    // Arrays are not what azth issues: refused even when they contain the right value.
    let mut claims = serde_json::to_value(claims_at(NOW)).unwrap();
    claims["aud"] = json!([AUD]);
    let token = forge(&good_header("k1"), &claims, ed25519_signer(&signing));
    assert_eq!(check(&token, &verifying), Err(JwtError::Invalid));
    let mut claims = serde_json::to_value(claims_at(NOW)).unwrap();
    claims["iss"] = json!([ISS]);
    let token = forge(&good_header("k1"), &claims, ed25519_signer(&signing));
    assert_eq!(check(&token, &verifying), Err(JwtError::Invalid));
}

#[test]
fn missing_or_malformed_claims_are_invalid() {
    let signing = key("k1");
    let verifying = signing.verifying_key();
    let full = serde_json::to_value(claims_at(NOW)).unwrap();
    for claim in ["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "tid", "sid", "amr"] {
        let mut claims = full.clone();
        claims.as_object_mut().unwrap().remove(claim);
        let token = forge(&good_header("k1"), &claims, ed25519_signer(&signing));
        assert_eq!(check(&token, &verifying), Err(JwtError::Invalid), "without {claim}");
    }
    for (claim, value) in [
        ("exp", json!("tomorrow")),
        ("exp", json!(1.5e9)),
        ("exp", json!(null)),
        ("nbf", json!(-1)),
        ("sub", json!(42)),
        ("tid", json!(42)),
        ("amr", json!("pwd")),
    ] {
        let mut claims = full.clone();
        claims[claim] = value;
        let token = forge(&good_header("k1"), &claims, ed25519_signer(&signing));
        assert_eq!(check(&token, &verifying), Err(JwtError::Invalid), "{claim}");
    }
    for payload in [json!([]), json!("string"), json!(null), json!(42)] {
        let token = forge(&good_header("k1"), &payload, ed25519_signer(&signing));
        assert_eq!(check(&token, &verifying), Err(JwtError::Invalid), "{payload}");
    }
}

#[test]
fn wrong_or_missing_kid_is_invalid() {
    let signing = key("k1");
    let token = sign(&claims_at(NOW), &signing).unwrap();
    let renamed = VerifyingKey::new("k2".to_owned(), signing.public_bytes()).unwrap();
    assert_eq!(check(&token, &renamed), Err(JwtError::Invalid), "same key bytes, other kid");

    let claims = serde_json::to_value(claims_at(NOW)).unwrap();
    let no_kid = forge(&json!({"alg": "EdDSA", "typ": "JWT"}), &claims, ed25519_signer(&signing));
    assert_eq!(check(&no_kid, &signing.verifying_key()), Err(JwtError::Invalid));
    assert_eq!(decode_kid(&no_kid), None);
    let numeric_kid = forge(&json!({"alg": "EdDSA", "kid": 1}), &claims, ed25519_signer(&signing));
    assert_eq!(check(&numeric_kid, &signing.verifying_key()), Err(JwtError::Invalid));
}

#[test]
fn another_key_with_the_same_kid_is_invalid() {
    let ours = key("k1");
    let theirs = key("k1");
    let token = sign(&claims_at(NOW), &theirs).unwrap();
    assert_eq!(check(&token, &ours.verifying_key()), Err(JwtError::Invalid));
}

#[test]
fn header_key_hints_are_ignored() {
    let ours = key("k1");
    let attacker = key("k1");
    let claims = serde_json::to_value(claims_at(NOW)).unwrap();
    let attacker_jwk = attacker.verifying_key().jwk();
    for extra in [
        json!({"jwk": attacker_jwk}),
        json!({"jku": "https://evil.test/jwks.json"}),
        json!({"x5u": "https://evil.test/cert.pem"}),
        json!({"x5c": ["MIIB"]}),
    ] {
        let mut header = good_header("k1");
        for (name, value) in extra.as_object().unwrap() {
            header[name] = value.clone();
        }
        let forged = forge(&header, &claims, ed25519_signer(&attacker));
        assert_eq!(check(&forged, &ours.verifying_key()), Err(JwtError::Invalid), "{header}");
        // Signed by the real key, the hints change nothing either way.
        let genuine = forge(&header, &claims, ed25519_signer(&ours));
        assert!(check(&genuine, &ours.verifying_key()).is_ok(), "{header}");
    }
}

#[test]
fn crit_and_foreign_typ_are_invalid() {
    let signing = key("k1");
    let claims = serde_json::to_value(claims_at(NOW)).unwrap();
    let mut header = good_header("k1");
    header["crit"] = json!(["exp"]);
    let token = forge(&header, &claims, ed25519_signer(&signing));
    assert_eq!(check(&token, &signing.verifying_key()), Err(JwtError::Invalid));

    let mut header = good_header("k1");
    header["typ"] = json!("secevent+jwt");
    let token = forge(&header, &claims, ed25519_signer(&signing));
    assert_eq!(check(&token, &signing.verifying_key()), Err(JwtError::Invalid));

    let header = json!({"alg": "EdDSA", "kid": "k1"});
    let token = forge(&header, &claims, ed25519_signer(&signing));
    assert!(check(&token, &signing.verifying_key()).is_ok(), "typ is optional");
}

#[test]
fn garbage_is_invalid_and_never_panics() {
    let signing = key("k1");
    let verifying = signing.verifying_key();
    let real = sign(&claims_at(NOW), &signing).unwrap();
    let huge = format!("{real}{}", "A".repeat(MAX_TOKEN_LEN));
    let cases = [
        "",
        ".",
        "..",
        "...",
        "a.b.c",
        "a.b",
        "e30.e30.",
        "e30.e30.e30",
        "eyJhbGciOiJFZERTQSJ9..",
        "eyJhbGciOiJFZERTQSJ9.e30.",
        "🦀.🦀.🦀",
        "\0.\0.\0",
        "====.====.====",
        "Bearer x.y.z",
        huge.as_str(),
        &real[1..],
        &real[..real.len() - 1],
    ];
    for case in cases {
        assert_eq!(check(case, &verifying), Err(JwtError::Invalid), "{case:?}");
        let _ = decode_kid(case);
    }
    // Oversized tokens are refused before any parsing, header included.
    assert_eq!(decode_kid(&real).as_deref(), Some("k1"));
    assert_eq!(decode_kid(&huge), None);
    let header_not_object = format!("{}.{}.", b64(b"[1,2]"), b64(b"{}"));
    assert_eq!(check(&header_not_object, &verifying), Err(JwtError::Invalid));
    let header_not_json = format!("{}.{}.AAAA", b64(b"\xff\xfe"), b64(b"{}"));
    assert_eq!(check(&header_not_json, &verifying), Err(JwtError::Invalid));
    // Base64 with non-zero trailing bits, and padding, in the signature.
    let (message, signature) = real.rsplit_once('.').unwrap();
    assert_eq!(check(&format!("{message}.{signature}="), &verifying), Err(JwtError::Invalid));
    assert_eq!(check(&format!("{message}.{signature}A"), &verifying), Err(JwtError::Invalid));
}

#[test]
fn jwk_x_verifies_a_token_with_ed25519_dalek_directly() {
    let signing = key("2026-01-k1");
    let token = sign(&claims_at(NOW), &signing).unwrap();
    let jwk = signing.verifying_key().jwk();
    assert_eq!(jwk["kty"], "OKP");
    assert_eq!(jwk["crv"], "Ed25519");
    assert_eq!(jwk["alg"], "EdDSA");
    assert_eq!(jwk["use"], "sig");
    assert_eq!(jwk["kid"], "2026-01-k1");
    assert_eq!(jwk.as_object().unwrap().len(), 6, "no private parts: {jwk}");

    let x: [u8; 32] = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap().try_into().unwrap();
    let public = ed25519_dalek::VerifyingKey::from_bytes(&x).unwrap();
    let (message, signature) = token.rsplit_once('.').unwrap();
    let signature: [u8; 64] = URL_SAFE_NO_PAD.decode(signature).unwrap().try_into().unwrap();
    public.verify_strict(message.as_bytes(), &ed25519_dalek::Signature::from_bytes(&signature)).unwrap();
    // And jsonwebtoken agrees when the key comes from the published JWK.
    let parsed: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk).unwrap();
    let decoding = DecodingKey::from_jwk(&parsed).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.validate_exp = false;
    validation.set_audience(&[AUD]);
    assert!(jsonwebtoken::decode::<AccessClaims>(&token, &decoding, &validation).is_ok());
}

#[test]
fn jwks_lists_every_key() {
    let a = key("a").verifying_key();
    let b = key("b").verifying_key();
    let set = jwks(&[a.clone(), b.clone()]);
    assert_eq!(set, json!({"keys": [a.jwk(), b.jwk()]}));
    assert_eq!(jwks(&[]), json!({"keys": []}));
}

#[test]
fn private_bytes_round_trip() {
    let signing = key("k1");
    let private = signing.private_bytes();
    assert_eq!(private.len(), 32);
    let again = SigningKey::from_private_bytes("k1".to_owned(), &private).unwrap();
    assert_eq!(again.public_bytes(), signing.public_bytes());
    let token = sign(&claims_at(NOW), &again).unwrap();
    assert!(check(&token, &signing.verifying_key()).is_ok());

    for len in [0, 31, 33, 48, 64] {
        let outcome = SigningKey::from_private_bytes("k1".to_owned(), &vec![7u8; len]);
        assert!(matches!(outcome, Err(CryptoError::InvalidKey(_))), "{len}");
    }
}

#[test]
fn pkcs8_matches_rfc_8410_and_what_dalek_reads() {
    use ed25519_dalek::pkcs8::DecodePrivateKey as _;
    // RFC 8410 §10.3 example private key.
    let rfc = base64::engine::general_purpose::STANDARD
        .decode("MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC")
        .unwrap();
    let seed: [u8; 32] = rfc[16..].try_into().unwrap();
    assert_eq!(pkcs8_der(&seed).as_slice(), rfc.as_slice());

    let signing = key("k1");
    let seed: [u8; 32] = signing.private_bytes().as_slice().try_into().unwrap();
    let decoded = ed25519_dalek::SigningKey::from_pkcs8_der(&pkcs8_der(&seed)).unwrap();
    assert_eq!(decoded.verifying_key().to_bytes(), signing.public_bytes());
}

#[test]
fn verifying_key_validation() {
    let signing = key("k1");
    assert!(VerifyingKey::new("k1".to_owned(), signing.public_bytes()).is_ok());
    // y = 2 is not the y-coordinate of any curve point.
    let mut off_curve = [0u8; 32];
    off_curve[0] = 2;
    assert!(matches!(VerifyingKey::new("k1".to_owned(), off_curve), Err(CryptoError::InvalidKey(_))));
    // The identity point (small order).
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(matches!(VerifyingKey::new("k1".to_owned(), identity), Err(CryptoError::InvalidKey(_))));
}

#[test]
fn kid_validation() {
    for good in ["k1", "2026-01-01.a_b", &"k".repeat(128), "0190f5a2-7c1e-7d4e-9a6b-5f0e2a1c3b4d"] {
        assert!(SigningKey::generate(good.to_owned()).is_ok(), "{good}");
    }
    for bad in ["", " ", "k 1", "k/1", "k\"1", "ключ", &"k".repeat(129), "k1\n"] {
        assert_eq!(SigningKey::generate(bad.to_owned()).unwrap_err(), CryptoError::InvalidKeyId, "{bad:?}");
        assert!(VerifyingKey::new(bad.to_owned(), key("k1").public_bytes()).is_err(), "{bad:?}");
    }
}

#[test]
fn debug_output_is_redacted() {
    let signing = key("k1");
    let private_hex: String = signing.private_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let private_b64 = b64(&signing.private_bytes());
    let printed = format!("{signing:?}");
    assert!(printed.contains("k1") && printed.contains("<redacted>"), "{printed}");
    assert!(!printed.contains(&private_hex) && !printed.contains(&private_b64), "{printed}");
    assert!(!printed.contains(&format!("{:?}", signing.private_bytes().as_slice())), "{printed}");
}

#[test]
fn error_codes() {
    assert_eq!(JwtError::Expired.code(), ErrorCode::TokenExpired);
    assert_eq!(JwtError::Invalid.code(), ErrorCode::TokenInvalid);
}
