//! The JWT attack suite (issue 10): every known way to forge, bend or
//! replay an access token, sent to `GET /api/v1/me`. Each must answer 401
//! with a problem document (never 500), and a correctly signed token must
//! keep working beside them, so a refusal proves the check and not a broken
//! server.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::Signer;
use hmac::{KeyInit, Mac};
use reqwest::Method;
use serde_json::{Value, json};

use crate::admin_support::unique;
use crate::support::{TestApp, problem, spawn_app};

/// Signs `header.payload` (both JSON) with Ed25519 key `seed`, as a JWS.
fn sign_ed25519(header: &Value, payload: &Value, seed: &[u8]) -> String {
    let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(payload.to_string()));
    let key = ed25519_dalek::SigningKey::from_bytes(seed.try_into().unwrap());
    format!("{input}.{}", B64.encode(key.sign(input.as_bytes()).to_bytes()))
}

/// Signs `header.payload` with HMAC under `secret` (algorithm confusion).
fn sign_hmac(alg: &str, kid: &str, payload: &Value, secret: &[u8]) -> String {
    let header = B64.encode(json!({"alg": alg, "typ": "JWT", "kid": kid}).to_string());
    let input = format!("{header}.{}", B64.encode(payload.to_string()));
    let tag = match alg {
        "HS256" => {
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
            mac.update(input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        "HS384" => {
            let mut mac = hmac::Hmac::<sha2::Sha384>::new_from_slice(secret).unwrap();
            mac.update(input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        _ => {
            let mut mac = hmac::Hmac::<sha2::Sha512>::new_from_slice(secret).unwrap();
            mac.update(input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
    };
    format!("{input}.{}", B64.encode(tag))
}

fn payload_of(token: &str) -> Value {
    serde_json::from_slice(&B64.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

/// The app's current signing key: its kid and 32-byte seed.
fn real_key(app: &TestApp) -> (String, Vec<u8>) {
    let keys = app.state.keys.keys();
    (keys.current.kid().to_owned(), keys.current.private_bytes().to_vec())
}

/// Asserts 401 + problem+json + `WWW-Authenticate` and returns the code.
async fn refused(app: &TestApp, name: &str, token: &str) -> String {
    let r = app.get_as("/api/v1/me", token).await;
    assert_eq!(r.status(), 401, "{name}: {}", r.status());
    assert!(r.headers().contains_key("www-authenticate"), "{name}");
    problem(r).await["code"].as_str().unwrap().to_owned()
}

async fn accepted(app: &TestApp, name: &str, token: &str) {
    let r = app.get_as("/api/v1/me", token).await;
    assert_eq!(r.status(), 200, "{name}: {}", r.text().await.unwrap());
}

#[tokio::test]
async fn algorithm_key_and_header_attacks_are_401_never_500() {
    let app = spawn_app().await;
    app.create_tenant("acme", json!({"allow_registration": true})).await;
    let c = app.signed_up("acme").await;
    let (kid, seed) = real_key(&app);
    let payload = payload_of(&c.access);
    let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": kid});
    // Control: a token azth did not issue but signed with its key verifies.
    accepted(&app, "re-signed control", &sign_ed25519(&header, &payload, &seed)).await;

    let parts: Vec<&str> = c.access.split('.').collect();
    let mut cases: Vec<(String, String)> = Vec::new();
    // alg none, in every casing, with and without the original signature.
    for alg in ["none", "None", "NONE", "nOnE"] {
        let h = B64.encode(json!({"alg": alg, "typ": "JWT", "kid": kid}).to_string());
        cases.push((format!("alg {alg}"), format!("{h}.{}.", parts[1])));
        cases.push((format!("alg {alg} + signature"), format!("{h}.{}.{}", parts[1], parts[2])));
    }
    // HMAC signed with what an attacker knows of the public key.
    let jwks: Value = app.get("/.well-known/jwks.json").await.json().await.unwrap();
    let x_b64 = jwks["keys"][0]["x"].as_str().unwrap().to_owned();
    let x_raw = B64.decode(&x_b64).unwrap();
    for alg in ["HS256", "HS384", "HS512"] {
        for (what, secret) in [
            ("raw public key", x_raw.clone()),
            ("base64 public key", x_b64.as_bytes().to_vec()),
            ("JWK JSON", jwks["keys"][0].to_string().into_bytes()),
        ] {
            cases.push((format!("{alg} with the {what}"), sign_hmac(alg, &kid, &payload, &secret)));
        }
    }
    // An attacker's own key, announced in the header in every way JOSE allows.
    let evil = [7u8; 32];
    let evil_x = B64.encode(ed25519_dalek::SigningKey::from_bytes(&evil).verifying_key().to_bytes());
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": evil_x});
    for (name, h) in [
        ("embedded jwk, real kid", json!({"alg": "EdDSA", "kid": kid, "jwk": jwk})),
        ("embedded jwk, no kid", json!({"alg": "EdDSA", "jwk": jwk})),
        ("jku", json!({"alg": "EdDSA", "kid": kid, "jku": "http://127.0.0.1:9/jwks.json"})),
        ("x5u", json!({"alg": "EdDSA", "kid": kid, "x5u": "http://127.0.0.1:9/cert.pem"})),
        ("x5c", json!({"alg": "EdDSA", "kid": kid, "x5c": ["MIIB"]})),
    ] {
        cases.push((format!("attacker key, {name}"), sign_ed25519(&h, &payload, &evil)));
    }
    // kid games, signed with the real key.
    for (name, k) in [
        ("unknown kid", json!("no-such-key")),
        ("path traversal kid", json!("../../../../etc/passwd")),
        ("sql kid", json!("' or '1'='1")),
        ("numeric kid", json!(5)),
        ("object kid", json!({"kid": kid})),
        ("huge kid", json!("k".repeat(16 * 1024))),
    ] {
        cases.push((name.to_owned(), sign_ed25519(&json!({"alg": "EdDSA", "kid": k}), &payload, &seed)));
    }
    // Signature surgery.
    let sig = B64.decode(parts[2]).unwrap();
    let mut flipped = sig.clone();
    flipped[10] ^= 1;
    cases.push(("stripped signature".into(), format!("{}.{}.", parts[0], parts[1])));
    cases.push(("no signature segment".into(), format!("{}.{}", parts[0], parts[1])));
    cases.push(("truncated signature".into(), format!("{}.{}.{}", parts[0], parts[1], &parts[2][..40])));
    cases.push(("flipped bit".into(), format!("{}.{}.{}", parts[0], parts[1], B64.encode(&flipped))));
    cases.push(("extra segment".into(), format!("{}.extra", c.access)));
    // Non-canonical base64url: padding, the standard alphabet, and unused
    // trailing bits set in the signature's last character (a lenient decoder
    // would read the same 64 bytes: signature malleability).
    let last = parts[2].chars().last().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let index = alphabet.find(last).unwrap();
    let sibling = alphabet.chars().nth(index | 0b0011).unwrap();
    assert_ne!(sibling, last, "the signature's last character has unused bits to set");
    let mut trailing = parts[2].to_owned();
    trailing.pop();
    trailing.push(sibling);
    cases.push(("trailing bits".into(), format!("{}.{}.{trailing}", parts[0], parts[1])));
    cases.push(("padded payload".into(), format!("{}.{}==.{}", parts[0], parts[1], parts[2])));
    let std_b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(sig);
    if std_b64 != parts[2] {
        cases.push(("standard alphabet".into(), format!("{}.{}.{std_b64}", parts[0], parts[1])));
    }
    // Shapes.
    cases.push(("garbage".into(), "garbage".into()));
    cases.push(("empty segments".into(), "..".into()));
    cases.push(("huge header".into(), format!("{}.{}.{}", B64.encode("{".repeat(12 * 1024)), parts[1], parts[2])));
    cases.push(("header not JSON".into(), format!("{}.{}.{}", B64.encode("[]"), parts[1], parts[2])));
    cases.push(("payload not JSON".into(), sign_ed25519(&header, &json!("just a string"), &seed)));

    for (name, token) in &cases {
        assert_eq!(refused(&app, name, token).await, "TOKEN_INVALID", "{name}");
    }
    // Unused header fields change nothing when the real key signed: the
    // verifier never fetched or chose a key from them.
    let with_jku = json!({"alg": "EdDSA", "kid": kid, "jku": "http://127.0.0.1:9/jwks.json"});
    accepted(&app, "jku ignored", &sign_ed25519(&with_jku, &payload, &seed)).await;
    accepted(&app, "original still valid", &c.access).await;
}

#[tokio::test]
async fn time_claims_hold_to_the_documented_leeway() {
    let app = spawn_app().await;
    app.create_tenant("acme", json!({"allow_registration": true})).await;
    let c = app.signed_up("acme").await;
    let (kid, seed) = real_key(&app);
    let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": kid});
    let leeway = i64::try_from(app.state.config.tokens.leeway_secs).unwrap();
    assert_eq!(leeway, 30, "API.md documents 30 s");
    let base = payload_of(&c.access);
    let now = chrono::Utc::now().timestamp();
    let with = |changes: Value| {
        let mut p = base.clone();
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                p.as_object_mut().unwrap().remove(k);
            } else {
                p[k] = v.clone();
            }
        }
        sign_ed25519(&header, &p, &seed)
    };
    // Inside the leeway (10 s of margin for a slow machine): accepted.
    accepted(&app, "exp just past", &with(json!({"exp": now - leeway + 10}))).await;
    accepted(&app, "nbf just ahead", &with(json!({"nbf": now + leeway - 10}))).await;
    accepted(&app, "iat just ahead", &with(json!({"iat": now + leeway - 10}))).await;
    // Beyond it: refused.
    assert_eq!(refused(&app, "exp past", &with(json!({"exp": now - leeway - 10}))).await, "TOKEN_EXPIRED");
    for (name, changes) in [
        ("nbf ahead", json!({"nbf": now + leeway + 10})),
        ("iat ahead", json!({"iat": now + leeway + 10})),
        ("exp missing", json!({"exp": null})),
        ("iat missing", json!({"iat": null})),
        ("exp as a string", json!({"exp": (now + 600).to_string()})),
        ("exp far beyond i64", json!({"exp": 1e30})),
        ("wrong iss", json!({"iss": "https://evil.example"})),
        ("iss missing", json!({"iss": null})),
        ("wrong aud", json!({"aud": "someone-else"})),
        ("aud as a list with ours", json!({"aud": ["someone-else", "x"]})),
        ("sub not a uuid", json!({"sub": "admin"})),
        ("sid missing", json!({"sid": null})),
    ] {
        assert_eq!(refused(&app, name, &with(changes)).await, "TOKEN_INVALID", "{name}");
    }
}

#[tokio::test]
async fn tokens_of_other_tenants_deleted_users_revoked_sessions_and_suspended_tenants_are_refused() {
    let app = spawn_app().await;
    let operator = app.operator().await;
    let a = app.admin_tenant(&operator, &format!("a-{}", unique())).await;
    let b = app.admin_tenant(&operator, &format!("b-{}", unique())).await;
    let (kid, seed) = real_key(&app);
    let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": kid});

    // A's owner with B's tenant id, signed with the real key: the session
    // belongs to A, so B does not know it.
    let mut moved = payload_of(&a.owner.access);
    moved["tid"] = json!(b.id);
    assert_eq!(refused(&app, "wrong tid", &sign_ed25519(&header, &moved, &seed)).await, "TOKEN_INVALID");
    let mut nowhere = payload_of(&a.owner.access);
    nowhere["tid"] = json!(uuid::Uuid::new_v4().to_string());
    assert_eq!(refused(&app, "unknown tid", &sign_ed25519(&header, &nowhere, &seed)).await, "TOKEN_INVALID");

    // A deleted user's token.
    let victim = app.user_with(&a, &[]).await;
    accepted(&app, "before deletion", &victim.access).await;
    app.expect(Method::DELETE, &format!("/api/v1/users/{}", victim.user_id), &a.owner.access, None, 204).await;
    refused(&app, "deleted user", &victim.access).await;

    // A revoked session's token (sign-out).
    let leaver = app.user_with(&a, &[]).await;
    app.expect(Method::POST, "/api/v1/auth/logout", &leaver.access, None, 204).await;
    refused(&app, "revoked session", &leaver.access).await;

    // A suspended tenant's token: refused as API.md specifies (403
    // TENANT_SUSPENDED, so the client knows signing in again will not help).
    accepted(&app, "before suspension", &b.owner.access).await;
    app.expect(Method::POST, &format!("/api/v1/tenants/{}/suspend", b.id), &operator.access, None, 200).await;
    let r = app.get_as("/api/v1/me", &b.owner.access).await;
    assert_eq!(r.status(), 403);
    assert_eq!(problem(r).await["code"], "TENANT_SUSPENDED");
    // Neither bends the others: A's owner still works.
    accepted(&app, "bystander", &a.owner.access).await;
}
