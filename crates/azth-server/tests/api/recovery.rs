//! Second factors and recovery over HTTP: TOTP enrolment and MFA sign-in,
//! backup codes, email verification, password reset, email/SMS one-time
//! codes, enumeration resistance and rate limits.

use azth_core::model::TenantStatus;
use azth_server::services::cli;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

use crate::db::Arg;
use crate::support::{Creds, Spawn, TestApp, problem, spawn_app, spawn_with, strong_password};

async fn app_with(slug: &str, settings: Value) -> TestApp {
    let app = spawn_app().await;
    app.create_tenant(slug, settings).await;
    app
}

async fn code_of(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    (status, problem(r).await["code"].as_str().unwrap_or_default().to_owned())
}

/// An independent RFC 6238 implementation (HMAC-SHA1, dynamic truncation),
/// so the test does not trust azth's own TOTP code.
fn totp(secret_b32: &str, unix: u64) -> String {
    use hmac::{KeyInit, Mac};
    let key = base32_decode(secret_b32);
    let counter = (unix / 30).to_be_bytes();
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&key).unwrap();
    mac.update(&counter);
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let bin = (u32::from(digest[offset]) & 0x7f) << 24
        | u32::from(digest[offset + 1]) << 16
        | u32::from(digest[offset + 2]) << 8
        | u32::from(digest[offset + 3]);
    format!("{:06}", bin % 1_000_000)
}

fn base32_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut count = 0;
    let mut out = Vec::new();
    for c in s.trim_end_matches('=').bytes() {
        let v = ALPHABET.iter().position(|a| *a == c).unwrap() as u64;
        bits = (bits << 5) | v;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// Enrols `c` in TOTP and returns (base32 secret, backup codes, the unix time whose step was used).
async fn enrol(app: &TestApp, c: &Creds) -> (String, Vec<String>, u64) {
    let r = app.client.post(app.url("/api/v1/me/mfa/totp")).bearer_auth(&c.access).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let secret = body["secret"].as_str().unwrap().to_owned();
    let t = now();
    let r = app.post_as("/api/v1/me/mfa/totp/confirm", &c.access, json!({"code": totp(&secret, t)})).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let body: Value = r.json().await.unwrap();
    let codes: Vec<String> =
        body["backup_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    (secret, codes, t)
}

async fn mfa_token(app: &TestApp, c: &Creds) -> String {
    let r = app.login("acme", &c.email, &c.password).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["mfa_required"], true, "{body}");
    assert_eq!(body["methods"], json!(["totp", "backup_code"]));
    assert!(body.get("access_token").is_none());
    body["mfa_token"].as_str().unwrap().to_owned()
}

async fn second_factor(app: &TestApp, token: &str, method: &str, code: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/login/mfa", None, json!({"mfa_token": token, "method": method, "code": code})).await
}

#[tokio::test]
async fn totp_enrolment_and_mfa_sign_in_with_replay_protection() {
    let app = app_with("acme", json!({})).await;
    let c = app.signed_up("acme").await;

    let r = app.client.post(app.url("/api/v1/me/mfa/totp")).bearer_auth(&c.access).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    let uri = body["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Tenant%20acme:"), "{uri}");
    assert!(uri.contains("issuer=Tenant%20acme") && uri.contains(body["secret"].as_str().unwrap()), "{uri}");
    assert!(body["qr_svg"].as_str().unwrap().contains("<svg"));
    let me: Value = app.get_as("/api/v1/me", &c.access).await.json().await.unwrap();
    assert_eq!(me["user"]["mfa_enabled"], false, "not active until confirmed");

    // Confirm: a wrong code is refused, a right one activates MFA.
    let secret = body["secret"].as_str().unwrap();
    let r = app.post_as("/api/v1/me/mfa/totp/confirm", &c.access, json!({"code": "000000"})).await;
    assert_eq!(code_of(r).await, (401, "INVALID_MFA_CODE".into()));
    let t = now();
    let r = app.post_as("/api/v1/me/mfa/totp/confirm", &c.access, json!({"code": totp(secret, t)})).await;
    assert_eq!(r.status(), 200);
    let codes: Value = r.json().await.unwrap();
    assert_eq!(codes["backup_codes"].as_array().unwrap().len(), 10);
    let me: Value = app.get_as("/api/v1/me", &c.access).await.json().await.unwrap();
    assert_eq!(me["user"]["mfa_enabled"], true);

    // Sign in: the password alone yields an mfa_token, not tokens.
    let token = mfa_token(&app, &c).await;
    // The code used at confirmation is spent (replay).
    assert_eq!(
        code_of(second_factor(&app, &token, "totp", &totp(secret, t)).await).await,
        (401, "INVALID_MFA_CODE".into())
    );
    // Two steps ahead is outside the ±1 drift.
    assert_eq!(
        code_of(second_factor(&app, &token, "totp", &totp(secret, t + 90)).await).await,
        (401, "INVALID_MFA_CODE".into())
    );
    // The next step is within drift and unused: accepted.
    let r = second_factor(&app, &token, "totp", &totp(secret, t + 30)).await;
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let claims: Value = serde_json::from_slice(&B64.decode(access.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(app.get_as("/api/v1/me", access).await.status(), 200);

    // The mfa_token is single use, and the same code cannot be replayed.
    assert_eq!(
        code_of(second_factor(&app, &token, "totp", &totp(secret, t + 30)).await).await,
        (401, "TOKEN_INVALID".into())
    );
    let token = mfa_token(&app, &c).await;
    assert_eq!(
        code_of(second_factor(&app, &token, "totp", &totp(secret, t + 30)).await).await,
        (401, "INVALID_MFA_CODE".into())
    );

    // A tenant header naming another tenant makes the mfa_token invalid.
    app.create_tenant("other", json!({})).await;
    let r = app
        .post("/api/v1/auth/login/mfa", Some("other"))
        .json(&json!({"mfa_token": token, "method": "totp", "code": "123456"}))
        .send()
        .await
        .unwrap();
    assert_eq!(code_of(r).await, (401, "TOKEN_INVALID".into()));

    let tenant = app.state.store.system("t").await.unwrap().tenant_by_slug("acme").await.unwrap().unwrap();
    assert!(app.audit_actions(tenant.id).await.iter().any(|a| a == "mfa.enabled"));
}

#[tokio::test]
async fn an_mfa_token_allows_five_tries() {
    let app = app_with("acme", json!({})).await;
    let c = app.signed_up("acme").await;
    let (secret, _, t) = enrol(&app, &c).await;
    let token = mfa_token(&app, &c).await;
    for _ in 0..5 {
        assert_eq!(code_of(second_factor(&app, &token, "totp", "000000").await).await.1, "INVALID_MFA_CODE");
    }
    let r = second_factor(&app, &token, "totp", &totp(&secret, t + 30)).await;
    assert_eq!(code_of(r).await, (401, "TOKEN_INVALID".into()));
    let r = second_factor(&app, &token, "sms", "000000").await;
    assert_eq!(code_of(r).await, (422, "VALIDATION_ERROR".into()));
}

/// Gap G1: failed second factors count in the account's lockout, a correct
/// password does not reset the count, and a locked account is refused at
/// the second step too.
#[tokio::test]
async fn second_factors_count_in_the_account_lockout_and_a_password_alone_does_not_reset_it() {
    let app = app_with("acme", json!({})).await;
    let c = app.signed_up("acme").await;
    let (_, codes, _) = enrol(&app, &c).await;
    for _ in 0..3 {
        let r = app.login("acme", &c.email, "wrong-password-123").await;
        assert_eq!(code_of(r).await, (401, "INVALID_CREDENTIALS".into()));
    }
    // The right password: a second factor is due and the three failures stand.
    let token = mfa_token(&app, &c).await;
    assert_eq!(code_of(second_factor(&app, &token, "totp", "000000").await).await, (401, "INVALID_MFA_CODE".into()));
    let r = second_factor(&app, &token, "backup_code", "aaaaa-aaaaa").await;
    assert_eq!(code_of(r).await, (401, "INVALID_MFA_CODE".into()), "the fifth failure locks");

    // Locked: the sixth attempt is refused even with a right code.
    let r = second_factor(&app, &token, "backup_code", &codes[0]).await;
    assert_eq!(r.status(), 423);
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=15 * 60).contains(&retry), "{retry}");
    assert_eq!(problem(r).await["code"], "ACCOUNT_LOCKED");
    assert_eq!(code_of(app.login("acme", &c.email, &c.password).await).await, (423, "ACCOUNT_LOCKED".into()));

    let tenant = app.state.store.system("t").await.unwrap().tenant_by_slug("acme").await.unwrap().unwrap();
    let actions = app.audit_actions(tenant.id).await;
    assert_eq!(actions.iter().filter(|a| *a == "auth.login.failed").count(), 5, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| *a == "auth.locked").count(), 1, "{actions:?}");
    app.message(&c.email, "account_locked").await;
}

/// Gap G14: between the password and the second factor (5 minutes) the
/// account or its tenant may change; the second step answers as the
/// password step would, and a refused attempt does not use up the code.
#[tokio::test]
async fn the_second_step_refuses_accounts_and_tenants_changed_since_the_password() {
    let app = app_with("acme", json!({})).await;
    let c = app.signed_up("acme").await;
    let (_, codes, _) = enrol(&app, &c).await;
    let user = Arg::Uuid(c.user_id.parse().unwrap());
    for status in ["suspended", "inactive"] {
        let token = mfa_token(&app, &c).await;
        app.exec(&format!("update users set status = '{status}' where id = $1"), std::slice::from_ref(&user)).await;
        let r = second_factor(&app, &token, "backup_code", &codes[0]).await;
        assert_eq!(code_of(r).await, (403, "FORBIDDEN".into()), "{status}");
        app.exec("update users set status = 'active' where id = $1", std::slice::from_ref(&user)).await;
    }

    let token = mfa_token(&app, &c).await;
    app.exec("update users set deleted_at = $1 where id = $2", &[Arg::Time(chrono::Utc::now()), user.clone()]).await;
    let r = second_factor(&app, &token, "backup_code", &codes[0]).await;
    assert_eq!(code_of(r).await, (401, "INVALID_CREDENTIALS".into()), "deleted");
    app.exec("update users set deleted_at = null where id = $1", std::slice::from_ref(&user)).await;

    let tenant = app.state.store.system("t").await.unwrap().tenant_by_slug("acme").await.unwrap().unwrap();
    let token = mfa_token(&app, &c).await;
    cli::set_tenant_status(&app.state, &tenant.id.to_string(), TenantStatus::Suspended).await.unwrap();
    let r = second_factor(&app, &token, "backup_code", &codes[0]).await;
    assert_eq!(code_of(r).await, (403, "TENANT_SUSPENDED".into()));
    cli::set_tenant_status(&app.state, &tenant.id.to_string(), TenantStatus::Active).await.unwrap();

    // None of the refusals used the code up.
    let token = mfa_token(&app, &c).await;
    assert_eq!(second_factor(&app, &token, "backup_code", &codes[0]).await.status(), 200);
}

#[tokio::test]
async fn backup_codes_work_once_and_regeneration_kills_the_old_set() {
    let app = app_with("acme", json!({})).await;
    let c = app.signed_up("acme").await;
    let (secret, codes, t) = enrol(&app, &c).await;

    let token = mfa_token(&app, &c).await;
    let r = second_factor(&app, &token, "backup_code", &codes[0].to_uppercase()).await;
    assert_eq!(r.status(), 200, "backup codes ignore case");
    let tokens: Value = r.json().await.unwrap();
    let claims: Value = serde_json::from_slice(
        &B64.decode(tokens["access_token"].as_str().unwrap().split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(claims["amr"], json!(["pwd", "mfa"]));
    let token = mfa_token(&app, &c).await;
    assert_eq!(code_of(second_factor(&app, &token, "backup_code", &codes[0]).await).await.1, "INVALID_MFA_CODE");

    // Regenerating needs a TOTP code; the old set dies.
    let r = app.post_as("/api/v1/me/mfa/backup-codes", &c.access, json!({"code": codes[1]})).await;
    assert_eq!(code_of(r).await, (401, "INVALID_MFA_CODE".into()));
    let r = app.post_as("/api/v1/me/mfa/backup-codes", &c.access, json!({"code": totp(&secret, t + 30)})).await;
    assert_eq!(r.status(), 200);
    let fresh: Value = r.json().await.unwrap();
    let fresh: Vec<&str> = fresh["backup_codes"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(fresh.len(), 10);
    assert!(!fresh.contains(&codes[1].as_str()));
    let token = mfa_token(&app, &c).await;
    assert_eq!(code_of(second_factor(&app, &token, "backup_code", &codes[1]).await).await.1, "INVALID_MFA_CODE");
    let token = mfa_token(&app, &c).await;
    assert_eq!(second_factor(&app, &token, "backup_code", fresh[0]).await.status(), 200);

    // Disabling needs the password and a code.
    let disable =
        |body: Value| app.client.delete(app.url("/api/v1/me/mfa/totp")).bearer_auth(&c.access).json(&body).send();
    assert_eq!(code_of(disable(json!({"password": c.password})).await.unwrap()).await.1, "VALIDATION_ERROR");
    assert_eq!(code_of(disable(json!({"code": fresh[1]})).await.unwrap()).await.1, "VALIDATION_ERROR");
    let r = disable(json!({"password": "wrong-password-1", "code": fresh[1]})).await.unwrap();
    assert_eq!(code_of(r).await, (401, "INVALID_CREDENTIALS".into()));
    let r = disable(json!({"password": c.password, "code": "aaaaa-aaaaa"})).await.unwrap();
    assert_eq!(code_of(r).await, (401, "INVALID_MFA_CODE".into()));
    assert_eq!(disable(json!({"password": c.password, "code": fresh[1]})).await.unwrap().status(), 204);
    let r = app.login("acme", &c.email, &c.password).await;
    let body: Value = r.json().await.unwrap();
    assert!(body["access_token"].is_string(), "no second factor any more: {body}");
    let tenant = app.state.store.system("t").await.unwrap().tenant_by_slug("acme").await.unwrap().unwrap();
    let actions = app.audit_actions(tenant.id).await;
    for action in ["mfa.backup_codes.regenerated", "mfa.disabled"] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

/// Gap G2: wrong passwords and codes at `DELETE /me/mfa/totp` count in the
/// account's lockout and are audited; a locked account cannot disable TOTP.
#[tokio::test]
async fn disabling_totp_counts_wrong_passwords_and_codes_in_the_account_lockout() {
    let app = app_with("acme", json!({})).await;
    let c = app.signed_up("acme").await;
    let (_, codes, _) = enrol(&app, &c).await;
    let disable =
        |body: Value| app.client.delete(app.url("/api/v1/me/mfa/totp")).bearer_auth(&c.access).json(&body).send();
    for _ in 0..3 {
        let r = disable(json!({"password": "wrong-password-1", "code": codes[0]})).await.unwrap();
        assert_eq!(code_of(r).await, (401, "INVALID_CREDENTIALS".into()));
    }
    for _ in 0..2 {
        let r = disable(json!({"password": c.password, "code": "aaaaa-aaaaa"})).await.unwrap();
        assert_eq!(code_of(r).await, (401, "INVALID_MFA_CODE".into()));
    }
    let r = disable(json!({"password": c.password, "code": codes[0]})).await.unwrap();
    assert_eq!(r.status(), 423, "locked, even with the right password and code");
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(problem(r).await["code"], "ACCOUNT_LOCKED");
    let me: Value = app.get_as("/api/v1/me", &c.access).await.json().await.unwrap();
    assert_eq!(me["user"]["mfa_enabled"], true);

    let tenant = app.state.store.system("t").await.unwrap().tenant_by_slug("acme").await.unwrap().unwrap();
    let actions = app.audit_actions(tenant.id).await;
    assert_eq!(actions.iter().filter(|a| *a == "mfa.disable_failed").count(), 5, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| *a == "auth.locked").count(), 1, "{actions:?}");
}

#[tokio::test]
async fn email_verification_links_work_once_and_gate_login_when_required() {
    let app = app_with("strict", json!({"require_verified_email": true})).await;
    let email = "vera@example.com";
    let password = strong_password();
    let r = app.register("strict", email, &password).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["verification_sent"], true);
    assert_eq!(body["user"]["email_verified"], false);

    assert_eq!(code_of(app.login("strict", email, &password).await).await, (403, "EMAIL_NOT_VERIFIED".into()));
    // Only with the right password: a wrong one is still INVALID_CREDENTIALS.
    assert_eq!(code_of(app.login("strict", email, "wrong-password-9").await).await.1, "INVALID_CREDENTIALS");

    let message = app.message(email, "verification").await;
    assert!(
        message.body.contains(&format!("{}/verify-email?token=", app.state.config.public_url())),
        "{}",
        message.body
    );
    let token = message.token();
    let r = app.post_json("/api/v1/auth/email/verify", None, json!({"token": token})).await;
    assert_eq!(r.status(), 200);
    let user: Value = r.json().await.unwrap();
    assert_eq!(user["email_verified"], true);
    assert_eq!(
        code_of(app.post_json("/api/v1/auth/email/verify", None, json!({"token": token})).await).await.1,
        "TOKEN_INVALID"
    );
    assert_eq!(app.login("strict", email, &password).await.status(), 200);

    // Resend (by email) sends a new link; an unknown address answers the same.
    let other = "walt@example.com";
    assert_eq!(app.register("strict", other, &strong_password()).await.status(), 201);
    let known = app.post_json("/api/v1/auth/email/verify/resend", Some("strict"), json!({"email": other})).await;
    let unknown =
        app.post_json("/api/v1/auth/email/verify/resend", Some("strict"), json!({"email": "nobody@example.com"})).await;
    assert_eq!((known.status(), unknown.status()), (reqwest::StatusCode::ACCEPTED, reqwest::StatusCode::ACCEPTED));
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap());
    let second = app.nth_message(other, "verification", 2).await;
    assert_eq!(app.post_json("/api/v1/auth/email/verify", None, json!({"token": second.token()})).await.status(), 200);
}

#[tokio::test]
async fn password_reset_is_single_use_revokes_sessions_and_keeps_mfa() {
    let app = app_with("acme", json!({})).await;
    let c = app.signed_up("acme").await;
    let (secret, _, t) = enrol(&app, &c).await;

    let forgot =
        |email: &'static str| app.post_json("/api/v1/auth/password/forgot", Some("acme"), json!({"email": email}));
    let known = app.post_json("/api/v1/auth/password/forgot", Some("acme"), json!({"email": c.email})).await;
    let unknown = forgot("nobody@example.com").await;
    assert_eq!((known.status().as_u16(), unknown.status().as_u16()), (202, 202));
    assert_eq!(
        known.text().await.unwrap(),
        unknown.text().await.unwrap(),
        "same body whether or not the account exists"
    );

    let message = app.message(&c.email, "password_reset").await;
    assert!(message.body.contains("/reset-password?token="));
    let token = message.token();
    let new_password = strong_password();
    let reset = |token: String, password: String| {
        app.post_json("/api/v1/auth/password/reset", None, json!({"token": token, "new_password": password}))
    };
    assert_eq!(code_of(reset(token.clone(), "short".into()).await).await.1, "VALIDATION_ERROR");
    assert_eq!(reset(token.clone(), new_password.clone()).await.status(), 204);
    assert_eq!(code_of(reset(token.clone(), strong_password()).await).await.1, "TOKEN_INVALID", "single use");

    // Every session was revoked; the old password is gone; MFA still applies.
    assert_eq!(app.get_as("/api/v1/me", &c.access).await.status(), 401);
    assert_eq!(app.login("acme", &c.email, &c.password).await.status(), 401);
    let r = app.login("acme", &c.email, &new_password).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["mfa_required"], true, "a reset never bypasses MFA: {body}");
    let r = second_factor(&app, body["mfa_token"].as_str().unwrap(), "totp", &totp(&secret, t + 30)).await;
    assert_eq!(r.status(), 200);

    // An expired token fails.
    app.post_json("/api/v1/auth/password/forgot", Some("acme"), json!({"email": c.email})).await;
    let token = app.nth_message(&c.email, "password_reset", 2).await.token();
    app.exec(
        "update users set password_reset_expires_at = $2 where email = $1",
        &[Arg::Text(c.email.clone()), Arg::Time(chrono::Utc::now() - chrono::Duration::minutes(1))],
    )
    .await;
    assert_eq!(code_of(reset(token, strong_password()).await).await.1, "TOKEN_INVALID");

    let tenant = app.state.store.system("t").await.unwrap().tenant_by_slug("acme").await.unwrap().unwrap();
    let actions = app.audit_actions(tenant.id).await;
    for action in ["auth.password.reset_requested", "auth.password.reset"] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

async fn send_code(app: &TestApp, purpose: &str, target: &str) -> reqwest::Response {
    app.post_json(
        "/api/v1/auth/otp/send",
        Some("acme"),
        json!({"channel": "email", "purpose": purpose, "target": target}),
    )
    .await
}

async fn verify_code(app: &TestApp, purpose: &str, target: &str, code: &str) -> reqwest::Response {
    app.post_json(
        "/api/v1/auth/otp/verify",
        Some("acme"),
        json!({"channel": "email", "purpose": purpose, "target": target, "code": code}),
    )
    .await
}

fn wrong(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

#[tokio::test]
async fn email_codes_sign_in_and_count_attempts() {
    let app = app_with("acme", json!({})).await;
    let c = app.signed_up("acme").await;

    let r = send_code(&app, "login", &c.email).await;
    assert_eq!(r.status(), 202);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"expires_in": 600}));
    let code = app.message(&c.email, "otp").await.code();

    // Wrong codes count; after max_attempts (3) even the right code fails.
    for _ in 0..3 {
        assert_eq!(
            code_of(verify_code(&app, "login", &c.email, &wrong(&code)).await).await,
            (401, "INVALID_MFA_CODE".into())
        );
    }
    assert_eq!(code_of(verify_code(&app, "login", &c.email, &code).await).await.1, "INVALID_MFA_CODE");

    // A new send kills the previous code.
    send_code(&app, "login", &c.email).await;
    let first = app.nth_message(&c.email, "otp", 2).await.code();
    send_code(&app, "login", &c.email).await;
    let second = app.nth_message(&c.email, "otp", 3).await.code();
    if first != second {
        assert_eq!(code_of(verify_code(&app, "login", &c.email, &first).await).await.1, "INVALID_MFA_CODE");
    }
    let r = verify_code(&app, "login", &c.email, &second).await;
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.unwrap();
    let claims: Value = serde_json::from_slice(
        &B64.decode(tokens["access_token"].as_str().unwrap().split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(claims["amr"], json!(["otp", "email"]));
    // Used codes are dead.
    assert_eq!(code_of(verify_code(&app, "login", &c.email, &second).await).await.1, "INVALID_MFA_CODE");

    let tenant = app.state.store.system("t").await.unwrap().tenant_by_slug("acme").await.unwrap().unwrap();
    let actions = app.audit_actions(tenant.id).await;
    assert!(actions.iter().any(|a| a == "otp.sent") && actions.iter().any(|a| a == "otp.failed"), "{actions:?}");
}

#[tokio::test]
async fn expired_codes_fail_and_concurrent_verifications_have_one_winner() {
    let app = app_with("acme", json!({})).await;
    let c = app.signed_up("acme").await;
    send_code(&app, "verification", &c.email).await;
    let code = app.message(&c.email, "otp").await.code();
    let (a, b) = tokio::join!(
        verify_code(&app, "verification", &c.email, &code),
        verify_code(&app, "verification", &c.email, &code)
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 401]);
    let me: Value = app.get_as("/api/v1/me", &c.access).await.json().await.unwrap();
    assert_eq!(me["user"]["email_verified"], true);

    send_code(&app, "password_reset", &c.email).await;
    let code = app.nth_message(&c.email, "otp", 2).await.code();
    app.exec(
        "update otp_codes set expires_at = $1 where purpose = 'password_reset'",
        &[Arg::Time(chrono::Utc::now() - chrono::Duration::seconds(1))],
    )
    .await;
    assert_eq!(code_of(verify_code(&app, "password_reset", &c.email, &code).await).await.1, "INVALID_MFA_CODE");

    // A reset code yields a reset token that works with /password/reset.
    send_code(&app, "password_reset", &c.email).await;
    let code = app.nth_message(&c.email, "otp", 3).await.code();
    let r = verify_code(&app, "password_reset", &c.email, &code).await;
    assert_eq!(r.status(), 200);
    let token = r.json::<Value>().await.unwrap()["reset_token"].as_str().unwrap().to_owned();
    let new_password = strong_password();
    let r =
        app.post_json("/api/v1/auth/password/reset", None, json!({"token": token, "new_password": new_password})).await;
    assert_eq!(r.status(), 204);
    assert_eq!(app.login("acme", &c.email, &new_password).await.status(), 200);
}

#[tokio::test]
async fn sms_verification_sets_a_phone_that_can_then_sign_in() {
    let app = app_with("acme", json!({})).await;
    let c = app.signed_up("acme").await;
    let phone = "+15551230001";
    let r = app
        .post_as(
            "/api/v1/auth/otp/send",
            &c.access,
            json!({"channel": "sms", "purpose": "verification", "target": phone}),
        )
        .await;
    assert_eq!(r.status(), 202);
    let code = app.message(phone, "otp").await.code();
    let r = app
        .post_json(
            "/api/v1/auth/otp/verify",
            Some("acme"),
            json!({"channel": "sms", "purpose": "verification", "target": phone, "code": code}),
        )
        .await;
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"verified": true}));
    let me: Value = app.get_as("/api/v1/me", &c.access).await.json().await.unwrap();
    assert_eq!((me["user"]["phone"].as_str(), me["user"]["phone_verified"].as_bool()), (Some(phone), Some(true)));

    app.post_json(
        "/api/v1/auth/otp/send",
        Some("acme"),
        json!({"channel": "sms", "purpose": "login", "target": phone}),
    )
    .await;
    let code = app.nth_message(phone, "otp", 2).await.code();
    let r = app
        .post_json(
            "/api/v1/auth/otp/verify",
            Some("acme"),
            json!({"channel": "sms", "purpose": "login", "target": phone, "code": code}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.unwrap();
    assert_eq!(tokens["user"]["id"], c.user_id);
}

#[tokio::test]
async fn sends_answer_alike_for_existing_and_unknown_targets() {
    let app = app_with("acme", json!({})).await;
    let c = app.signed_up("acme").await;
    for (path, known, unknown) in [
        ("/api/v1/auth/password/forgot", json!({"email": c.email}), json!({"email": "ghost@example.com"})),
        ("/api/v1/auth/email/verify/resend", json!({"email": c.email}), json!({"email": "ghost@example.com"})),
        (
            "/api/v1/auth/otp/send",
            json!({"channel": "email", "purpose": "login", "target": c.email}),
            json!({"channel": "email", "purpose": "login", "target": "ghost@example.com"}),
        ),
        (
            "/api/v1/auth/otp/send",
            json!({"channel": "sms", "purpose": "login", "target": "+15559870000"}),
            json!({"channel": "sms", "purpose": "login", "target": "+15559870001"}),
        ),
    ] {
        let a = app.post_json(path, Some("acme"), known).await;
        let b = app.post_json(path, Some("acme"), unknown).await;
        assert_eq!(a.status(), b.status(), "{path}");
        assert_eq!(a.status(), 202, "{path}");
        let headers = |r: &reqwest::Response| {
            let mut h: Vec<String> = r
                .headers()
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "x-request-id" | "date"))
                .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap()))
                .collect();
            h.sort();
            h
        };
        assert_eq!(headers(&a), headers(&b), "{path}");
        assert_eq!(a.text().await.unwrap(), b.text().await.unwrap(), "{path}");
    }
    // Malformed requests are told so: "202 always" covers well-formed ones only.
    let r = app
        .post_json("/api/v1/auth/otp/send", Some("acme"), json!({"channel": "fax", "purpose": "login", "target": "x"}))
        .await;
    assert_eq!(code_of(r).await.1, "VALIDATION_ERROR");
}

#[tokio::test]
async fn rate_limits_per_target_and_per_ip_answer_429_with_headers() {
    let app = app_with("acme", json!({"otp_send_per_hour": 2})).await;
    for target in ["a@example.com", "ghost@example.com"] {
        for _ in 0..2 {
            assert_eq!(send_code(&app, "login", target).await.status(), 202);
        }
        let r = send_code(&app, "login", target).await;
        assert_eq!(r.status(), 429, "{target}");
        for h in ["retry-after", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"] {
            assert!(r.headers().contains_key(h), "{h}");
        }
        assert_eq!(r.headers()["ratelimit-limit"], "2");
        assert_eq!(problem(r).await["code"], "RATE_LIMITED");
    }
    // Another target is unaffected.
    assert_eq!(send_code(&app, "login", "b@example.com").await.status(), 202);

    let app = spawn_with(Spawn { tweak: Some(Box::new(|c| c.ip_rate_limit = 3)), ..Spawn::default() }).await;
    app.create_tenant("acme", json!({})).await;
    for _ in 0..3 {
        assert_eq!(app.login("acme", "x@example.com", "wrong-password-1").await.status(), 401);
    }
    let r = app.login("acme", "y@example.com", "wrong-password-1").await;
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Limits are per endpoint: registration still answers.
    assert_eq!(app.register("acme", "z@example.com", &strong_password()).await.status(), 201);
}

#[tokio::test]
async fn a_tenant_requiring_mfa_blocks_everything_but_enrolment() {
    let app = app_with("acme", json!({"mfa_required": true})).await;
    let c = app.signed_up("acme").await;
    let r = app.get_as("/api/v1/auth/sessions", &c.access).await;
    assert_eq!(code_of(r).await, (403, "MFA_ENROLLMENT_REQUIRED".into()));
    assert_eq!(app.get_as("/api/v1/me", &c.access).await.status(), 200);
    enrol(&app, &c).await;
    assert_eq!(app.get_as("/api/v1/auth/sessions", &c.access).await.status(), 200);
}

#[tokio::test]
async fn regenerating_backup_codes_counts_wrong_codes_in_the_account_lockout() {
    let app = app_with("acme", json!({})).await;
    let c = app.signed_up("acme").await;
    enrol(&app, &c).await;
    let regenerate = || {
        app.client
            .post(app.url("/api/v1/me/mfa/backup-codes"))
            .bearer_auth(&c.access)
            .json(&json!({"code": "000000"}))
            .send()
    };
    for _ in 0..5 {
        assert_eq!(code_of(regenerate().await.unwrap()).await, (401, "INVALID_MFA_CODE".into()));
    }
    let r = regenerate().await.unwrap();
    assert_eq!(r.status(), 423, "a stolen session cannot keep guessing");
    assert!(r.headers().contains_key("retry-after"));
    let tenant = app.state.store.system("t").await.unwrap().tenant_by_slug("acme").await.unwrap().unwrap();
    let actions = app.audit_actions(tenant.id).await;
    assert_eq!(actions.iter().filter(|a| *a == "mfa.backup_codes.regenerate_failed").count(), 5, "{actions:?}");
}
