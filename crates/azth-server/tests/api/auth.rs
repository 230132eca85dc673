//! Sign-in over HTTP: tenants resolved, register, login, tokens and
//! sessions, lockout, cookies, /me, JWKS, key rotation, bootstrap.

use azth_core::crypto::jwt::{self, AccessClaims};
use azth_core::model::TenantStatus;
use azth_server::services::cli;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

use crate::db::Arg;
use crate::support::{ADMIN_PASSWORD, Spawn, TestApp, problem, spawn_app, spawn_with, strong_password};

async fn app_with_tenant(slug: &str) -> TestApp {
    let app = spawn_app().await;
    app.create_tenant(slug, json!({})).await;
    app
}

async fn code(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body = problem(r).await;
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn happy_path_register_login_me_refresh_logout() {
    let app = app_with_tenant("acme").await;
    let password = strong_password();
    let r = app.register("acme", "  Alice@Example.COM ", &password).await;
    assert_eq!(r.status(), 201);
    assert!(r.headers().get("location").is_none());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["user"]["email"], "alice@example.com", "stored trimmed and lowercased");
    assert_eq!(body["user"]["status"], "active");
    assert_eq!(body["verification_sent"], true);
    assert_eq!(body["user"]["email_verified"], false);
    assert!(body["user"].get("password_hash").is_none());

    let r = app.login("acme", "ALICE@example.com", &password).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let tokens: Value = r.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();

    let me: Value = app.get_as("/api/v1/me", access).await.json().await.unwrap();
    assert_eq!(me["user"]["email"], "alice@example.com");
    assert_eq!(me["tenant"]["slug"], "acme");
    assert_eq!(me["roles"], json!(["member"]));
    assert_eq!(me["permissions"], json!([]));
    assert!(me["user"]["last_login_at"].is_string());

    let r = app.refresh(refresh).await;
    assert_eq!(r.status(), 200);
    let next: Value = r.json().await.unwrap();
    assert_eq!(next["session_id"], tokens["session_id"], "refresh keeps the session");
    assert_ne!(next["refresh_token"], tokens["refresh_token"]);
    let access2 = next["access_token"].as_str().unwrap();
    assert_eq!(app.get_as("/api/v1/me", access2).await.status(), 200);

    let r = app.client.post(app.url("/api/v1/auth/logout")).bearer_auth(access2).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(code(app.get_as("/api/v1/me", access2).await).await, (401, "TOKEN_INVALID".into()));
    assert_eq!(code(app.get_as("/api/v1/me", access).await).await, (401, "TOKEN_INVALID".into()));

    let tenant = app.state.store.system("t").await.unwrap().tenant_by_slug("acme").await.unwrap().unwrap();
    let actions = app.audit_actions(tenant.id).await;
    for action in ["auth.register", "auth.login.succeeded", "auth.logout"] {
        assert!(actions.iter().any(|a| a == action), "{action} missing from {actions:?}");
    }
}

#[tokio::test]
async fn tenant_resolution_errors() {
    let app = app_with_tenant("acme").await;
    let body = json!({"identifier": "x@example.com", "password": "whatever-password"});
    let r = app.post("/api/v1/auth/login", None).json(&body).send().await.unwrap();
    assert_eq!(code(r).await, (400, "TENANT_REQUIRED".into()));
    let r = app.post("/api/v1/auth/login", Some("nope")).json(&body).send().await.unwrap();
    assert_eq!(code(r).await, (404, "TENANT_NOT_FOUND".into()));
    let r = app.post("/api/v1/auth/login", Some(&uuid::Uuid::new_v4().to_string())).json(&body).send().await.unwrap();
    assert_eq!(code(r).await, (404, "TENANT_NOT_FOUND".into()));

    // By id works like by slug.
    let tenant = app.state.store.system("t").await.unwrap().tenant_by_slug("acme").await.unwrap().unwrap();
    let c = app.signed_up(&tenant.id.to_string()).await;
    assert_eq!(app.get_as("/api/v1/me", &c.access).await.status(), 200);

    // By Host against the tenant's domain (port and case ignored).
    let mut tx = app.state.store.system("t").await.unwrap();
    let shop = tx
        .insert_tenant(&azth_store::NewTenant {
            name: "Shop".into(),
            slug: "shop".into(),
            domain: Some("login.shop.example".into()),
            plan: "free".into(),
            settings: json!({}),
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let email = "bob@example.com";
    let password = strong_password();
    let r = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .header("host", "LOGIN.shop.example:8443")
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let user: Value = r.json().await.unwrap();
    assert_eq!(user["user"]["tenant_id"], shop.id.to_string());

    // Suspended: 403 before anything else.
    cli::set_tenant_status(&app.state, &shop.id.to_string(), TenantStatus::Suspended).await.unwrap();
    let r = app.login("shop", email, &password).await;
    assert_eq!(code(r).await, (403, "TENANT_SUSPENDED".into()));
}

#[tokio::test]
async fn register_rules() {
    let app = spawn_app().await;
    app.create_tenant("acme", json!({})).await;
    app.create_tenant("closed", json!({"allow_registration": false})).await;
    app.create_tenant("short", json!({"password_min_length": 8})).await;

    let r = app.register("closed", "a@example.com", &strong_password()).await;
    assert_eq!(code(r).await, (403, "FORBIDDEN".into()));

    let cases: &[(&str, &str, &str)] = &[
        ("a@example.com", "short-pw", "too_short"),
        ("a@example.com", "1qaz2wsx3edc", "too_common"),
        ("a@example.com", "A@EXAMPLE.COM", "same_as_email"),
        ("a@example.com", &"x".repeat(129), "too_long"),
    ];
    for (email, password, expected) in cases {
        let body = problem(app.register("acme", email, password).await).await;
        assert_eq!(body["code"], "VALIDATION_ERROR", "{expected}");
        let codes: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
        assert!(codes.contains(expected), "{expected}: {codes:?}");
        assert!(!body.to_string().contains(password), "the password is never echoed");
    }
    let body = problem(app.register("acme", "not-an-email", &strong_password()).await).await;
    assert_eq!(body["errors"][0]["field"], "email");

    // Unicode characters count as one each; the tenant's minimum applies.
    assert_eq!(app.register("short", "u@example.com", "ééééüüüü").await.status(), 201);

    let password = strong_password();
    assert_eq!(app.register("acme", "taken@example.com", &password).await.status(), 201);
    let body = problem(app.register("acme", "TAKEN@example.com", &strong_password()).await).await;
    assert_eq!((body["status"].as_u64(), body["code"].as_str()), (Some(409), Some("CONFLICT")));
    assert_eq!(body["field"], "email");
    // Other tenants may use the same email.
    app.create_tenant("other", json!({})).await;
    assert_eq!(app.register("other", "taken@example.com", &password).await.status(), 201);

    let r = app
        .post("/api/v1/auth/register", Some("acme"))
        .json(&json!({"email": "n@example.com", "password": strong_password(), "username": "nick"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = app
        .post("/api/v1/auth/register", Some("acme"))
        .json(&json!({"email": "m@example.com", "password": strong_password(), "username": "NICK"}))
        .send()
        .await
        .unwrap();
    let body = problem(r).await;
    assert_eq!((body["code"].as_str(), body["field"].as_str()), (Some("CONFLICT"), Some("username")));
    let r = app
        .post("/api/v1/auth/register", Some("acme"))
        .json(&json!({"email": "m@example.com", "password": strong_password(), "role": "owner"}))
        .send()
        .await
        .unwrap();
    assert_eq!(code(r).await, (422, "VALIDATION_ERROR".into()));
}

#[tokio::test]
async fn login_by_username_and_uniform_failures() {
    let app = app_with_tenant("acme").await;
    let password = strong_password();
    let r = app
        .post("/api/v1/auth/register", Some("acme"))
        .json(&json!({"email": "carol@example.com", "password": password, "username": "Carol"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(app.login("acme", "carol", &password).await.status(), 200);

    let wrong = app.login("acme", "carol@example.com", "wrong-password-123").await;
    let unknown = app.login("acme", "nobody@example.com", "wrong-password-123").await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    let strip = |mut v: Value| {
        v.as_object_mut().unwrap().remove("request_id");
        v
    };
    let (w, u) = (strip(problem(wrong).await), strip(problem(unknown).await));
    assert_eq!(w, u, "wrong password and unknown identifier answer alike");
    assert_eq!(w["code"], "INVALID_CREDENTIALS");
}

#[tokio::test]
async fn lockout_on_the_sixth_attempt_for_real_and_unknown_identifiers() {
    let app = app_with_tenant("acme").await;
    let c = app.signed_up("acme").await;
    for identifier in [c.email.as_str(), "ghost@example.com"] {
        for attempt in 1..=5 {
            let r = app.login("acme", identifier, "wrong-password-123").await;
            assert_eq!(r.status(), 401, "attempt {attempt} for {identifier}");
        }
        let r = app.login("acme", identifier, "wrong-password-123").await;
        assert_eq!(r.status(), 423, "{identifier}");
        let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=15 * 60).contains(&retry), "{retry}");
        assert_eq!(problem(r).await["code"], "ACCOUNT_LOCKED");
    }
    // Locked means locked, even with the right password.
    assert_eq!(app.login("acme", &c.email, &c.password).await.status(), 423);

    // Email and username share one counter; other tenants are unaffected.
    app.create_tenant("other", json!({})).await;
    let d = app.signed_up("other").await;
    assert_eq!(app.login("other", &d.email, &d.password).await.status(), 200);

    let tenant = app.state.store.system("t").await.unwrap().tenant_by_slug("acme").await.unwrap().unwrap();
    let actions = app.audit_actions(tenant.id).await;
    assert_eq!(actions.iter().filter(|a| *a == "auth.locked").count(), 2, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| *a == "auth.login.failed").count(), 10, "{actions:?}");
}

#[tokio::test]
async fn users_of_one_tenant_cannot_sign_in_through_another() {
    let app = app_with_tenant("a").await;
    app.create_tenant("b", json!({})).await;
    let c = app.signed_up("a").await;
    assert_eq!(code(app.login("b", &c.email, &c.password).await).await, (401, "INVALID_CREDENTIALS".into()));

    // A's token with B's header: TENANT_MISMATCH (API.md "Tenant of a request").
    let r =
        app.client.get(app.url("/api/v1/me")).bearer_auth(&c.access).header("x-tenant-id", "b").send().await.unwrap();
    assert_eq!(code(r).await, (403, "TENANT_MISMATCH".into()));
    let r =
        app.client.get(app.url("/api/v1/me")).bearer_auth(&c.access).header("x-tenant-id", "a").send().await.unwrap();
    assert_eq!(r.status(), 200);

    // A's refresh token with B's header is invalid.
    let r =
        app.post("/api/v1/auth/refresh", Some("b")).json(&json!({"refresh_token": c.refresh})).send().await.unwrap();
    assert_eq!(code(r).await, (401, "TOKEN_INVALID".into()));
}

#[tokio::test]
async fn suspending_a_tenant_stops_sign_in_and_existing_tokens_at_once() {
    let app = app_with_tenant("acme").await;
    let c = app.signed_up("acme").await;
    let tenant = app.state.store.system("t").await.unwrap().tenant_by_slug("acme").await.unwrap().unwrap();
    assert_eq!(app.get_as("/api/v1/me", &c.access).await.status(), 200);

    cli::set_tenant_status(&app.state, &tenant.id.to_string(), TenantStatus::Suspended).await.unwrap();
    assert_eq!(code(app.get_as("/api/v1/me", &c.access).await).await, (403, "TENANT_SUSPENDED".into()));
    assert_eq!(code(app.login("acme", &c.email, &c.password).await).await, (403, "TENANT_SUSPENDED".into()));
    assert_eq!(code(app.refresh(&c.refresh).await).await, (403, "TENANT_SUSPENDED".into()));

    cli::set_tenant_status(&app.state, &tenant.id.to_string(), TenantStatus::Active).await.unwrap();
    assert_eq!(app.get_as("/api/v1/me", &c.access).await.status(), 200);
}

#[tokio::test]
async fn refresh_reuse_revokes_the_session() {
    let app = app_with_tenant("acme").await;
    let c = app.signed_up("acme").await;
    let r = app.refresh(&c.refresh).await;
    assert_eq!(r.status(), 200);
    let next: Value = r.json().await.unwrap();

    // Replaying the spent token: TOKEN_REUSED, and the whole session dies.
    assert_eq!(code(app.refresh(&c.refresh).await).await, (401, "TOKEN_REUSED".into()));
    assert_eq!(code(app.refresh(next["refresh_token"].as_str().unwrap()).await).await, (401, "TOKEN_INVALID".into()));
    let access = next["access_token"].as_str().unwrap();
    assert_eq!(code(app.get_as("/api/v1/me", access).await).await, (401, "TOKEN_INVALID".into()));
    assert_eq!(code(app.refresh("not-a-token").await).await, (401, "TOKEN_INVALID".into()));

    let tenant = app.state.store.system("t").await.unwrap().tenant_by_slug("acme").await.unwrap().unwrap();
    assert!(app.audit_actions(tenant.id).await.iter().any(|a| a == "auth.token.reused"));
}

/// Gap G13: replaying a spent refresh token with an `X-Tenant-ID` naming
/// another tenant still revokes the session and is audited; the header
/// decides the answer (401 `TOKEN_INVALID`).
#[tokio::test]
async fn refresh_reuse_under_a_foreign_tenant_header_still_revokes_the_session() {
    let app = app_with_tenant("acme").await;
    app.create_tenant("other", json!({})).await;
    let c = app.signed_up("acme").await;
    let r = app.refresh(&c.refresh).await;
    assert_eq!(r.status(), 200);
    let next: Value = r.json().await.unwrap();

    let r = app
        .post("/api/v1/auth/refresh", Some("other"))
        .json(&json!({"refresh_token": c.refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(code(r).await, (401, "TOKEN_INVALID".into()));
    // The session is gone: its live refresh and access tokens no longer work.
    assert_eq!(code(app.refresh(next["refresh_token"].as_str().unwrap()).await).await, (401, "TOKEN_INVALID".into()));
    let access = next["access_token"].as_str().unwrap();
    assert_eq!(code(app.get_as("/api/v1/me", access).await).await, (401, "TOKEN_INVALID".into()));

    let tenant = app.state.store.system("t").await.unwrap().tenant_by_slug("acme").await.unwrap().unwrap();
    let reused = app
        .rows(
            "select new_values from audit_logs where tenant_id = $1 and action = 'auth.token.reused'",
            &[Arg::Uuid(tenant.id)],
        )
        .await;
    assert_eq!(reused.len(), 1);
    let details: Value = serde_json::from_str(reused[0][0].as_deref().unwrap()).unwrap();
    assert_eq!(
        (details["session_revoked"].clone(), details["tenant_header_matched"].clone()),
        (json!(true), json!(false))
    );
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_exactly_one_wins() {
    let app = app_with_tenant("acme").await;
    let c = app.signed_up("acme").await;
    let (a, b) = tokio::join!(app.refresh(&c.refresh), app.refresh(&c.refresh));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 401]);
}

#[tokio::test]
async fn the_access_token_verifies_against_the_jwks_independently() {
    let app = app_with_tenant("acme").await;
    let c = app.signed_up("acme").await;
    let jwks: Value = app.get("/.well-known/jwks.json").await.json().await.unwrap();

    // An independent JWS check: split, decode, and verify the Ed25519
    // signature with ed25519-dalek against the JWK's `x`.
    let parts: Vec<&str> = c.access.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "EdDSA");
    let kid = header["kid"].as_str().unwrap();
    let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid).expect("kid published");
    assert_eq!((jwk["kty"].as_str(), jwk["crv"].as_str()), (Some("OKP"), Some("Ed25519")));
    let x: [u8; 32] = B64.decode(jwk["x"].as_str().unwrap()).unwrap().try_into().unwrap();
    let key = ed25519_dalek::VerifyingKey::from_bytes(&x).unwrap();
    let signature = ed25519_dalek::Signature::from_slice(&B64.decode(parts[2]).unwrap()).unwrap();
    key.verify_strict(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature).expect("signature verifies");

    let claims: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    for claim in ["iss", "sub", "aud", "exp", "iat", "jti", "tid", "sid", "amr"] {
        assert!(claims.get(claim).is_some(), "{claim} missing: {claims}");
    }
    assert_eq!(claims["iss"], app.state.config.public_url());
    assert_eq!(claims["aud"], "azth");
    assert_eq!(claims["sub"], c.user_id);
    assert_eq!(claims["sid"], c.session_id);
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);
}

/// Signs `claims` with the server's current key (to craft edge cases).
fn forge(app: &TestApp, claims: &AccessClaims) -> String {
    jwt::sign(claims, &app.state.keys.keys().current).unwrap()
}

fn claims_of(token: &str) -> AccessClaims {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn forged_and_broken_tokens_are_401_never_500() {
    let app = app_with_tenant("acme").await;
    let c = app.signed_up("acme").await;
    let parts: Vec<&str> = c.access.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    payload["sub"] = json!(uuid::Uuid::new_v4().to_string());
    let tampered = format!("{}.{}.{}", parts[0], B64.encode(payload.to_string()), parts[2]);
    let stripped = format!("{}.{}.", parts[0], parts[1]);
    let none = format!("{}.{}.", B64.encode(r#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    let header: Value = serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
    let kid = header["kid"].as_str().unwrap().to_owned();

    // HS256 signed with the public key bytes (algorithm confusion).
    let jwks: Value = app.get("/.well-known/jwks.json").await.json().await.unwrap();
    let x = B64.decode(jwks["keys"][0]["x"].as_str().unwrap()).unwrap();
    let hs_header = B64.encode(json!({"alg": "HS256", "typ": "JWT", "kid": kid}).to_string());
    let signing_input = format!("{hs_header}.{}", parts[1]);
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&x).unwrap();
    mac.update(signing_input.as_bytes());
    let hs256 = format!("{signing_input}.{}", B64.encode(mac.finalize().into_bytes()));

    let unknown_kid = format!(
        "{}.{}.{}",
        B64.encode(json!({"alg": "EdDSA", "typ": "JWT", "kid": "no-such-key"}).to_string()),
        parts[1],
        parts[2]
    );

    let now = chrono::Utc::now().timestamp();
    let base = claims_of(&c.access);
    let expired = forge(&app, &AccessClaims { exp: now - 120, iat: now - 1000, nbf: now - 1000, ..base.clone() });
    let not_yet = forge(&app, &AccessClaims { nbf: now + 600, ..base.clone() });
    let wrong_iss = forge(&app, &AccessClaims { iss: "https://evil.example".into(), ..base.clone() });
    let wrong_aud = forge(&app, &AccessClaims { aud: "someone-else".into(), ..base.clone() });

    let cases: Vec<(&str, String, &str)> = vec![
        ("tampered payload", tampered, "TOKEN_INVALID"),
        ("stripped signature", stripped, "TOKEN_INVALID"),
        ("alg none", none, "TOKEN_INVALID"),
        ("HS256 with the public key", hs256, "TOKEN_INVALID"),
        ("unknown kid", unknown_kid, "TOKEN_INVALID"),
        ("expired", expired, "TOKEN_EXPIRED"),
        ("nbf in the future", not_yet, "TOKEN_INVALID"),
        ("wrong iss", wrong_iss, "TOKEN_INVALID"),
        ("wrong aud", wrong_aud, "TOKEN_INVALID"),
        ("garbage", "garbage".into(), "TOKEN_INVALID"),
        ("empty segments", "..".into(), "TOKEN_INVALID"),
    ];
    for (name, token, expected) in cases {
        let r = app.get_as("/api/v1/me", &token).await;
        assert_eq!(r.status(), 401, "{name}");
        assert!(r.headers().contains_key("www-authenticate"), "{name}");
        assert_eq!(problem(r).await["code"], expected, "{name}");
    }
    let r = app.client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(code(r).await, (401, "UNAUTHENTICATED".into()));
    let r = app.client.get(app.url("/api/v1/me")).header("authorization", "Basic abc").send().await.unwrap();
    assert_eq!(code(r).await, (401, "TOKEN_INVALID".into()));
}

#[tokio::test]
async fn key_rotation_keeps_old_tokens_valid_and_signs_with_the_new_kid() {
    let app = app_with_tenant("acme").await;
    let c = app.signed_up("acme").await;
    let old_kid = jwt::decode_kid(&c.access).unwrap();

    let master = azth_server::keys::load_master_key(&app.state.config).unwrap();
    let new_kid = azth_server::keys::rotate(app.state.store.as_ref(), &master).await.unwrap();
    assert_ne!(new_kid, old_kid);

    // The old token still verifies; the JWKS publishes both keys.
    assert_eq!(app.get_as("/api/v1/me", &c.access).await.status(), 200);
    app.state.keys.reload().await;
    let jwks: Value = app.get("/.well-known/jwks.json").await.json().await.unwrap();
    let kids: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert!(kids.contains(&old_kid.as_str()) && kids.contains(&new_kid.as_str()), "{kids:?}");

    // New tokens use the new key.
    let r = app.login("acme", &c.email, &c.password).await;
    let fresh: Value = r.json().await.unwrap();
    let token = fresh["access_token"].as_str().unwrap();
    assert_eq!(jwt::decode_kid(token).unwrap(), new_kid);
    assert_eq!(app.get_as("/api/v1/me", token).await.status(), 200);
}

#[tokio::test]
async fn sessions_are_listed_and_revoked_only_by_their_owner() {
    let app = app_with_tenant("acme").await;
    let c = app.signed_up("acme").await;
    let second: Value = app.login("acme", &c.email, &c.password).await.json().await.unwrap();
    let other = app.signed_up("acme").await;

    let list: Value = app.get_as("/api/v1/auth/sessions", &c.access).await.json().await.unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(list["next_cursor"], Value::Null);
    // Paged like every collection: limit 1–200, an opaque cursor, 422 otherwise.
    let first: Value = app.get_as("/api/v1/auth/sessions?limit=1", &c.access).await.json().await.unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let next_page: Value =
        app.get_as(&format!("/api/v1/auth/sessions?limit=1&cursor={cursor}"), &c.access).await.json().await.unwrap();
    assert_eq!(next_page["items"].as_array().unwrap().len(), 1);
    assert_ne!(next_page["items"][0]["id"], first["items"][0]["id"]);
    assert_eq!(next_page["next_cursor"], Value::Null);
    for bad in ["limit=0", "limit=201", "cursor=forged"] {
        let r = app.get_as(&format!("/api/v1/auth/sessions?{bad}"), &c.access).await;
        assert_eq!(code(r).await, (422, "VALIDATION_ERROR".into()), "{bad}");
    }
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);
    let current = items.iter().find(|s| s["current"] == true).unwrap();
    assert_eq!(current["id"], c.session_id);
    for field in ["ip_address", "user_agent", "created_at", "last_activity", "expires_at"] {
        assert!(current.get(field).is_some(), "{field}");
    }

    // Someone else's session id: 404, and it keeps working.
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/auth/sessions/{}", other.session_id)))
        .bearer_auth(&c.access)
        .send()
        .await
        .unwrap();
    assert_eq!(code(r).await, (404, "NOT_FOUND".into()));
    assert_eq!(app.get_as("/api/v1/me", &other.access).await.status(), 200);

    let r = app
        .client
        .delete(app.url(&format!("/api/v1/auth/sessions/{}", second["session_id"].as_str().unwrap())))
        .bearer_auth(&c.access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let revoked = second["access_token"].as_str().unwrap();
    assert_eq!(code(app.get_as("/api/v1/me", revoked).await).await, (401, "TOKEN_INVALID".into()));

    // Logout of all sessions.
    let third: Value = app.login("acme", &c.email, &c.password).await.json().await.unwrap();
    let r = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&c.access)
        .json(&json!({"all": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(app.get_as("/api/v1/me", third["access_token"].as_str().unwrap()).await.status(), 401);
    assert_eq!(app.get_as("/api/v1/me", &c.access).await.status(), 401);
}

#[tokio::test]
async fn me_can_be_edited_and_the_password_changed() {
    let app = app_with_tenant("acme").await;
    let c = app.signed_up("acme").await;
    let other_session: Value = app.login("acme", &c.email, &c.password).await.json().await.unwrap();

    let r = app
        .client
        .patch(app.url("/api/v1/me"))
        .bearer_auth(&c.access)
        .json(&json!({"first_name": "Ada", "username": "ada.l", "avatar": "https://example.com/a.png"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let user: Value = r.json().await.unwrap();
    assert_eq!((user["first_name"].as_str(), user["username"].as_str()), (Some("Ada"), Some("ada.l")));
    let r = app
        .client
        .patch(app.url("/api/v1/me"))
        .bearer_auth(&c.access)
        .json(&json!({"first_name": null}))
        .send()
        .await
        .unwrap();
    let user: Value = r.json().await.unwrap();
    assert_eq!(user["first_name"], Value::Null);
    assert_eq!(user["username"], "ada.l", "absent fields are kept");
    let r = app
        .client
        .patch(app.url("/api/v1/me"))
        .bearer_auth(&c.access)
        .json(&json!({"email": "x@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(code(r).await, (422, "VALIDATION_ERROR".into()));
    let r = app
        .client
        .patch(app.url("/api/v1/me"))
        .bearer_auth(&c.access)
        .json(&json!({"username": "a b"}))
        .send()
        .await
        .unwrap();
    assert_eq!(code(r).await, (422, "VALIDATION_ERROR".into()));

    let change = |current: String, new: String| {
        app.client
            .post(app.url("/api/v1/me/password"))
            .bearer_auth(&c.access)
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
    };
    let new_password = strong_password();
    assert_eq!(
        code(change("wrong-password-1".into(), new_password.clone()).await.unwrap()).await,
        (401, "INVALID_CREDENTIALS".into())
    );
    assert_eq!(code(change(c.password.clone(), "short".into()).await.unwrap()).await, (422, "VALIDATION_ERROR".into()));
    assert_eq!(change(c.password.clone(), new_password.clone()).await.unwrap().status(), 204);

    // This session lives on, the other one is revoked; the new password works.
    assert_eq!(app.get_as("/api/v1/me", &c.access).await.status(), 200);
    assert_eq!(app.get_as("/api/v1/me", other_session["access_token"].as_str().unwrap()).await.status(), 401);
    assert_eq!(app.login("acme", &c.email, &c.password).await.status(), 401);
    assert_eq!(app.login("acme", &c.email, &new_password).await.status(), 200);
    let tenant = app.state.store.system("t").await.unwrap().tenant_by_slug("acme").await.unwrap().unwrap();
    assert!(app.audit_actions(tenant.id).await.iter().any(|a| a == "auth.password.changed"));
}

/// Gap G2: guesses of the current password at `POST /me/password` (a
/// stolen session) count in the account's lockout and are audited; a locked
/// account is refused there and at sign-in.
#[tokio::test]
async fn current_password_guesses_count_in_the_account_lockout_and_are_audited() {
    let app = app_with_tenant("acme").await;
    let c = app.signed_up("acme").await;
    let change = |current: &str| {
        app.client
            .post(app.url("/api/v1/me/password"))
            .bearer_auth(&c.access)
            .json(&json!({"current_password": current, "new_password": strong_password()}))
            .send()
    };
    for attempt in 1..=5 {
        let r = change("wrong-password-1").await.unwrap();
        assert_eq!(code(r).await, (401, "INVALID_CREDENTIALS".into()), "attempt {attempt}");
    }
    let r = change(&c.password).await.unwrap();
    assert_eq!(r.status(), 423, "locked, even with the right password");
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=15 * 60).contains(&retry), "{retry}");
    assert_eq!(problem(r).await["code"], "ACCOUNT_LOCKED");
    assert_eq!(code(app.login("acme", &c.email, &c.password).await).await, (423, "ACCOUNT_LOCKED".into()));

    let tenant = app.state.store.system("t").await.unwrap().tenant_by_slug("acme").await.unwrap().unwrap();
    let actions = app.audit_actions(tenant.id).await;
    assert_eq!(actions.iter().filter(|a| *a == "auth.password.change_failed").count(), 5, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| *a == "auth.locked").count(), 1, "{actions:?}");
    assert!(!actions.iter().any(|a| a == "auth.password.changed"), "{actions:?}");
}

#[tokio::test]
async fn cookie_mode_with_csrf() {
    let app = app_with_tenant("acme").await;
    let c = app.signed_up("acme").await;
    let r = app
        .post("/api/v1/auth/login", Some("acme"))
        .json(&json!({"identifier": c.email, "password": c.password, "mode": "cookie"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookies: Vec<String> =
        r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    let session = cookies.iter().find(|c| c.starts_with("azth_session=")).expect("session cookie");
    let csrf = cookies.iter().find(|c| c.starts_with("azth_csrf=")).expect("csrf cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"), "{session}");
    assert!(!session.contains("Secure"), "plain-http public URL: no Secure");
    assert!(!csrf.contains("HttpOnly"), "scripts must read the CSRF cookie");
    let body: Value = r.json().await.unwrap();
    assert!(body.get("access_token").is_none() && body.get("refresh_token").is_none(), "{body}");
    assert!(body["session_id"].is_string() && body["user"].is_object());

    let value = |c: &str| c.split(';').next().unwrap().split_once('=').unwrap().1.to_owned();
    let (session, csrf) = (value(session), value(csrf));
    let jar = format!("azth_session={session}; azth_csrf={csrf}");

    let r = app.client.get(app.url("/api/v1/me")).header("cookie", &jar).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .client
        .patch(app.url("/api/v1/me"))
        .header("cookie", &jar)
        .json(&json!({"first_name": "C"}))
        .send()
        .await
        .unwrap();
    assert_eq!(code(r).await, (403, "CSRF_FAILED".into()));
    let r = app
        .client
        .patch(app.url("/api/v1/me"))
        .header("cookie", &jar)
        .header("x-csrf-token", "wrong")
        .json(&json!({"first_name": "C"}))
        .send()
        .await
        .unwrap();
    assert_eq!(code(r).await, (403, "CSRF_FAILED".into()));
    let r = app
        .client
        .patch(app.url("/api/v1/me"))
        .header("cookie", &jar)
        .header("x-csrf-token", &csrf)
        .json(&json!({"first_name": "C"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Refresh rotates the session cookie; the old value stops working.
    let r = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .header("cookie", &jar)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let rotated = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("azth_session="))
        .unwrap();
    let rotated = value(&rotated);
    assert_ne!(rotated, session);
    assert_eq!(app.client.get(app.url("/api/v1/me")).header("cookie", &jar).send().await.unwrap().status(), 401);
    let jar = format!("azth_session={rotated}; azth_csrf={csrf}");
    assert_eq!(app.client.get(app.url("/api/v1/me")).header("cookie", &jar).send().await.unwrap().status(), 200);

    // Logout clears both cookies and ends the session.
    let r = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .header("cookie", &jar)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let cleared: Vec<String> =
        r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    assert!(cleared.iter().all(|c| c.contains("Max-Age=0")) && cleared.len() == 2, "{cleared:?}");
    assert_eq!(app.client.get(app.url("/api/v1/me")).header("cookie", &jar).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn inactive_users_learn_it_only_with_the_right_password() {
    let app = app_with_tenant("acme").await;
    let c = app.signed_up("acme").await;
    app.exec("update users set status = 'suspended' where email = $1", &[Arg::Text(c.email.clone())]).await;

    assert_eq!(code(app.login("acme", &c.email, "wrong-password-1").await).await, (401, "INVALID_CREDENTIALS".into()));
    assert_eq!(code(app.login("acme", &c.email, &c.password).await).await, (403, "FORBIDDEN".into()));
}

#[tokio::test]
async fn login_rehashes_when_the_parameters_change() {
    let app = app_with_tenant("acme").await;
    let email = "old@example.com";
    let password = strong_password();
    let old = azth_core::crypto::hash::hash_password(password.as_bytes(), &"argon2id:m=2048,t=1,p=1".parse().unwrap())
        .unwrap();
    let mut tx = app.state.store.system("t").await.unwrap();
    let tenant = tx.tenant_by_slug("acme").await.unwrap().unwrap();
    tx.insert_user(
        tenant.id,
        &azth_store::NewUser {
            email: email.into(),
            username: None,
            password_hash: Some(old.clone()),
            first_name: None,
            last_name: None,
            status: azth_core::model::UserStatus::Active,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    assert_eq!(app.login("acme", email, &password).await.status(), 200);
    let mut tx = app.state.store.system("t").await.unwrap();
    let stored = tx.user_credentials(tenant.id, email).await.unwrap().unwrap().password_hash.unwrap();
    assert_ne!(stored, old);
    assert!(stored.contains("m=1024,t=1,p=1"), "{stored}");
    assert_eq!(app.login("acme", email, &password).await.status(), 200);
}

#[tokio::test]
async fn bootstrap_creates_the_system_tenant_and_its_operator_once() {
    let app = spawn_app().await;
    let r = app.login("system", "root@example.com", ADMIN_PASSWORD).await;
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.unwrap();
    let me: Value = app.get_as("/api/v1/me", tokens["access_token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(me["roles"], json!(["super_admin"]));
    assert_eq!(me["permissions"].as_array().unwrap().len(), 21);
    assert!(me["permissions"].as_array().unwrap().contains(&json!("tenants:create")));

    // Registration is closed in the system tenant.
    assert_eq!(
        code(app.register("system", "x@example.com", &strong_password()).await).await,
        (403, "FORBIDDEN".into())
    );

    let again =
        azth_server::services::bootstrap::ensure(&app.state.config, app.state.store.as_ref(), &app.state.hasher)
            .await
            .unwrap();
    assert!(again.is_none(), "bootstrap runs once");
}

/// A configured first-operator password is held to the password policy:
/// a weak one stops start-up with one line naming the variable (never the
/// value), before anything is created.
#[tokio::test]
async fn a_weak_bootstrap_password_stops_start_up_naming_the_variable() {
    for (weak, why) in [("short-pw", "at least 12"), ("password1234", "too common"), ("root@example.com", "email")] {
        let (mut config, db, _) = crate::support::fresh_storage(false).await;
        let data_dir = config.data_dir.clone();
        config.bootstrap.admin_password = Some(weak.to_owned().into());
        let Err(e) = azth_server::Application::build(config).await else { panic!("{weak}: started") };
        let text = e.to_string();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("AZTH_BOOTSTRAP_ADMIN_PASSWORD") && text.contains(why), "{text}");
        assert!(!text.contains(weak), "{text}");
        assert_eq!(db.scalar("select count(*) from tenants", &[]).await.as_deref(), Some("0"), "nothing created");
        let _ = std::fs::remove_dir_all(data_dir);
    }
}

#[tokio::test]
async fn a_full_hashing_queue_answers_503_with_retry_after() {
    let app = spawn_with(Spawn {
        tweak: Some(Box::new(|c| {
            c.hash_pool.workers = 1;
            c.hash_pool.queue = 0;
            c.password_hash = "argon2id:m=65536,t=3,p=1".into();
        })),
        ..Spawn::default()
    })
    .await;
    app.create_tenant("acme", json!({})).await;
    let mut handles = Vec::new();
    for i in 0..6 {
        let request = app
            .post("/api/v1/auth/login", Some("acme"))
            .json(&json!({"identifier": format!("n{i}@example.com"), "password": "wrong-password-123"}));
        handles.push(tokio::spawn(async move { request.send().await.unwrap() }));
    }
    let mut responses = Vec::new();
    for handle in handles {
        responses.push(handle.await.unwrap());
    }
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert!(statuses.contains(&503), "{statuses:?}");
    assert!(statuses.contains(&401), "{statuses:?}");
    let busy = responses.into_iter().find(|r| r.status() == 503).unwrap();
    assert_eq!(busy.headers()["retry-after"], "1");
    assert_eq!(problem(busy).await["code"], "UNAVAILABLE");
}

#[tokio::test]
async fn idle_sessions_expire() {
    let app = app_with_tenant("acme").await;
    let c = app.signed_up("acme").await;
    let two_days_ago = chrono::Utc::now() - chrono::Duration::days(2);
    app.exec(
        "update sessions set last_activity = $2 where id = $1",
        &[Arg::Uuid(c.session_id.parse().unwrap()), Arg::Time(two_days_ago)],
    )
    .await;
    // The default idle timeout is 1440 minutes.
    assert_eq!(code(app.refresh(&c.refresh).await).await, (401, "TOKEN_EXPIRED".into()));
}

#[tokio::test]
async fn logins_are_counted_by_outcome() {
    let app = app_with_tenant("acme").await;
    let c = app.signed_up("acme").await;
    assert_eq!(app.login("acme", &c.email, "wrong-password-123").await.status(), 401);
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(text.contains(r#"azth_logins_total{outcome="succeeded"}"#), "{text}");
    assert!(text.contains(r#"azth_logins_total{outcome="failed"}"#), "{text}");
}

#[tokio::test]
async fn with_redis_down_sign_in_lockout_and_revocation_still_hold() {
    // Port 1 on loopback refuses connections: Redis is down from the start.
    let app = spawn_with(Spawn {
        tweak: Some(Box::new(|c| c.redis.url = Some("redis://127.0.0.1:1".to_owned().into()))),
        ..Spawn::default()
    })
    .await;
    app.create_tenant("acme", json!({})).await;
    assert_eq!(app.get("/ready").await.status(), 503, "readiness reports the outage");
    let c = app.signed_up("acme").await;
    assert_eq!(app.get_as("/api/v1/me", &c.access).await.status(), 200);

    // Lockout falls back to a per-node counter: still locked on the sixth attempt.
    for _ in 0..5 {
        assert_eq!(app.login("acme", "ghost@example.com", "wrong-password-123").await.status(), 401);
    }
    assert_eq!(
        code(app.login("acme", "ghost@example.com", "wrong-password-123").await).await,
        (423, "ACCOUNT_LOCKED".into())
    );

    // A logged-out token never works: revocation falls back to the database.
    let r = app.client.post(app.url("/api/v1/auth/logout")).bearer_auth(&c.access).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(code(app.get_as("/api/v1/me", &c.access).await).await, (401, "TOKEN_INVALID".into()));
    // Refresh rotation does not depend on the cache at all.
    let d = app.signed_up("acme").await;
    assert_eq!(app.refresh(&d.refresh).await.status(), 200);
}

#[tokio::test]
async fn a_session_revoked_while_redis_was_down_stays_revoked_after_it_returns() {
    let redis = crate::support::redis_url();
    let target = redis.trim_start_matches("redis://").trim_end_matches('/').to_owned();
    let proxy = crate::support::Proxy::start(&target).await;
    let addr = proxy.addr;
    let app = spawn_with(Spawn {
        tweak: Some(Box::new(move |c| c.redis.url = Some(format!("redis://{addr}").into()))),
        ..Spawn::default()
    })
    .await;
    app.create_tenant("acme", json!({})).await;
    let c = app.signed_up("acme").await;
    assert_eq!(app.get_as("/api/v1/me", &c.access).await.status(), 200);

    proxy.down();
    let r = app.client.post(app.url("/api/v1/auth/logout")).bearer_auth(&c.access).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(app.get_as("/api/v1/me", &c.access).await.status(), 401, "refused through the database meanwhile");

    proxy.up();
    // From the moment Redis answers until the marker is back, the token is
    // refused on every request (no window in which the cache says "not revoked").
    let key = format!("revoked:{}", c.session_id);
    let mut statuses = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    while !(matches!(app.state.cache.get(&key).await, Ok(Some(_))) && app.state.revocations.trusted()) {
        assert!(tokio::time::Instant::now() < deadline, "the revocation reached the cache once it returned");
        statuses.push(app.get_as("/api/v1/me", &c.access).await.status().as_u16());
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(statuses.iter().all(|s| *s == 401), "accepted while Redis came back: {statuses:?}");
    assert_eq!(code(app.get_as("/api/v1/me", &c.access).await).await, (401, "TOKEN_INVALID".into()));
}

#[tokio::test]
async fn a_cache_that_forgets_revocations_gets_them_back_from_the_database() {
    let app = app_with_tenant("acme").await;
    let c = app.signed_up("acme").await;
    let keep = app.login("acme", &c.email, &c.password).await;
    let keep: Value = keep.json().await.unwrap();
    assert!(app.state.revocations.trusted(), "markers warmed at start, before serving");
    let r = app.client.post(app.url("/api/v1/auth/logout")).bearer_auth(&c.access).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(app.get_as("/api/v1/me", &c.access).await.status(), 401);

    // The cache loses everything it knew (a restart without persistence):
    // the very next check notices the sentinel is gone and asks the database.
    let key = format!("revoked:{}", c.session_id);
    app.state.cache.del(&key).await.unwrap();
    app.state.cache.del("revocations:warm").await.unwrap();
    assert_eq!(code(app.get_as("/api/v1/me", &c.access).await).await, (401, "TOKEN_INVALID".into()));
    assert!(!app.state.revocations.trusted(), "the node noticed and checks the database");

    // The flusher restores the marker from the sessions table (within 250 ms)
    // and the cache is trusted again.
    let restored = crate::support::eventually(std::time::Duration::from_secs(10), || async {
        matches!(app.state.cache.get(&key).await, Ok(Some(_))) && app.state.revocations.trusted()
    })
    .await;
    assert!(restored, "the marker was restored");
    assert_eq!(app.get_as("/api/v1/me", &c.access).await.status(), 401);
    assert_eq!(app.get_as("/api/v1/me", keep["access_token"].as_str().unwrap()).await.status(), 200);
    // Trusted, with the sentinel back: warming is a no-op until the next doubt.
    assert_eq!(azth_server::services::auth::warm_revocations(&app.state).await, 0);
}
