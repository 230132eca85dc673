//! TOTP second factor and backup codes (API.md "Second factors and codes"),
//! and the second step of an MFA sign-in.

use azth_core::crypto::token::{hmac_sha256_hex, random_bytes, random_token, sha256_hex};
use azth_core::crypto::totp;
use azth_core::model::{AuditEvent, SessionMode, Tenant, UserStatus};
use azth_core::{Actor, ErrorCode, FieldError};
use azth_store::{StoreError, Tx};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::Utc;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::auth::{self, SignedIn};
use super::lockout::{self, Subject};
use super::{Principal, RequestMeta};
use crate::http::ApiError;
use crate::state::AppState;

/// How long an `mfa_token` lives, and how many codes it may try.
const MFA_TOKEN_TTL: std::time::Duration = std::time::Duration::from_secs(300);
const MFA_TOKEN_TRIES: i64 = 5;
/// Backup codes per set.
const BACKUP_CODES: usize = 10;

/// What `POST /me/mfa/totp` answers.
pub struct Enrolment {
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
}

fn aad(user: Uuid) -> Vec<u8> {
    format!("totp:{user}").into_bytes()
}

/// Starts (or restarts) TOTP enrolment: a new secret, inactive until confirmed.
pub async fn enrol(state: &AppState, meta: &RequestMeta, principal: &Principal) -> Result<Enrolment, ApiError> {
    let tenant = &principal.tenant;
    let mut tx = state.store.tenant(&meta.audit_ctx(tenant.id, Actor::User(principal.user_id))).await?;
    let mfa =
        tx.mfa_state(tenant.id, principal.user_id).await?.ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid))?;
    if mfa.enabled {
        return Err(ApiError::conflict(Some("mfa".into())).with_detail("TOTP is already enabled; disable it first"));
    }
    let user = tx.user_by_id(tenant.id, principal.user_id).await?.ok_or(StoreError::NotFound)?;
    let secret = totp::generate_secret().map_err(ApiError::internal)?;
    // SECURITY: the secret is stored sealed under the master key, bound to the user.
    let sealed = state.master.seal(&secret, &aad(principal.user_id)).map_err(ApiError::internal)?;
    tx.set_mfa_secret(tenant.id, principal.user_id, &B64.encode(sealed)).await?;
    tx.commit().await?;
    let otpauth_uri = totp::otpauth_uri(&secret, &tenant.name, &user.email);
    let qr_svg = totp::qr_svg(&otpauth_uri).map_err(ApiError::internal)?;
    Ok(Enrolment { secret: totp::base32(&secret), otpauth_uri, qr_svg })
}

/// Checks a TOTP code for `user` and consumes its time step (each code works once).
async fn check_totp(state: &AppState, tx: &mut dyn Tx, tenant: Uuid, user: Uuid, code: &str) -> Result<bool, ApiError> {
    let Some(mfa) = tx.mfa_state(tenant, user).await? else { return Ok(false) };
    let Some(sealed) = mfa.secret_sealed else { return Ok(false) };
    let sealed = B64.decode(sealed).map_err(ApiError::internal)?;
    let secret = state.master.open(&sealed, &aad(user)).map_err(ApiError::internal)?;
    let now = u64::try_from(Utc::now().timestamp()).unwrap_or(0);
    let Some(step) = totp::verify(&secret, code, now).map_err(ApiError::internal)? else { return Ok(false) };
    // SECURITY: RFC 6238 §5.2 — a step already used is refused (replay).
    tx.claim_totp_step(tenant, user, i64::try_from(step).unwrap_or(i64::MAX)).await.map_err(Into::into)
}

fn normalize_backup(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

/// A fresh set: the codes to show once, and their digests to store.
fn new_backup_codes(state: &AppState) -> Result<(Vec<String>, Vec<String>), ApiError> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789"; // 31 symbols, no look-alikes
    let limit = 256 - 256 % ALPHABET.len();
    let key = state.code_key();
    let mut codes = Vec::with_capacity(BACKUP_CODES);
    while codes.len() < BACKUP_CODES {
        let mut chars = String::with_capacity(10);
        while chars.len() < 10 {
            for b in random_bytes::<32>().map_err(ApiError::internal)? {
                if usize::from(b) < limit && chars.len() < 10 {
                    chars.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
                }
            }
        }
        codes.push(format!("{}-{}", &chars[..5], &chars[5..]));
    }
    let digests = codes.iter().map(|c| hmac_sha256_hex(key.as_slice(), normalize_backup(c).as_bytes())).collect();
    Ok((codes, digests))
}

fn backup_digest(state: &AppState, code: &str) -> String {
    hmac_sha256_hex(state.code_key().as_slice(), normalize_backup(code).as_bytes())
}

fn bad_code() -> ApiError {
    ApiError::new(ErrorCode::InvalidMfaCode)
}

/// Confirms enrolment with a valid code: MFA becomes active and the first
/// backup codes are returned (once).
pub async fn confirm(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    code: &str,
) -> Result<Vec<String>, ApiError> {
    let tenant = principal.tenant.id;
    let mut tx = state.store.tenant(&meta.audit_ctx(tenant, Actor::User(principal.user_id))).await?;
    let mfa = tx.mfa_state(tenant, principal.user_id).await?.ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid))?;
    if mfa.enabled || mfa.secret_sealed.is_none() {
        return Err(ApiError::conflict(Some("mfa".into())).with_detail("no TOTP enrolment is waiting for confirmation"));
    }
    if !check_totp(state, tx.as_mut(), tenant, principal.user_id, code).await? {
        return Err(bad_code());
    }
    let (codes, digests) = new_backup_codes(state)?;
    let step = tx.mfa_state(tenant, principal.user_id).await?.and_then(|m| m.last_step).unwrap_or(0);
    tx.enable_mfa(tenant, principal.user_id, &digests, step).await?;
    tx.insert_audit(&meta.record(
        tenant,
        Some(principal.user_id),
        AuditEvent::auth("mfa.enabled", Some(principal.user_id)),
    ))
    .await?;
    tx.commit().await?;
    Ok(codes)
}

/// Turns TOTP off; needs the password and a TOTP or backup code.
pub async fn disable(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    password: SecretString,
    code: &str,
) -> Result<(), ApiError> {
    let tenant = principal.tenant.id;
    let creds = {
        let mut tx = state.store.tenant(&meta.audit_ctx(tenant, Actor::User(principal.user_id))).await?;
        let creds = tx.user_credentials_by_id(tenant, principal.user_id).await?;
        tx.commit().await?;
        creds.ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid))?
    };
    if !creds.user.mfa_enabled {
        return Err(ApiError::conflict(Some("mfa".into())).with_detail("TOTP is not enabled"));
    }
    // SECURITY: wrong passwords and codes here count in the account's
    // lockout, and a locked account is refused (gap G2).
    lockout::refuse_if_locked(state, tenant, &Subject::User(principal.user_id), creds.locked_until).await?;
    let failed = |factor: &str| {
        AuditEvent::auth("mfa.disable_failed", Some(principal.user_id))
            .with_details(serde_json::json!({"factor": factor}))
    };
    let actor = Actor::User(principal.user_id);
    if !state.hasher.verify(&password, creds.password_hash.clone()).await? {
        auth::count_account_failure(state, meta, &principal.tenant, actor, &creds.user, failed("password")).await?;
        return Err(ApiError::new(ErrorCode::InvalidCredentials));
    }
    let mut tx = state.store.tenant(&meta.audit_ctx(tenant, Actor::User(principal.user_id))).await?;
    let ok = check_totp(state, tx.as_mut(), tenant, principal.user_id, code).await?
        || tx.consume_backup_code(tenant, principal.user_id, &backup_digest(state, code)).await?;
    if !ok {
        drop(tx);
        auth::count_account_failure(state, meta, &principal.tenant, actor, &creds.user, failed("code")).await?;
        return Err(bad_code());
    }
    tx.disable_mfa(tenant, principal.user_id).await?;
    tx.insert_audit(&meta.record(
        tenant,
        Some(principal.user_id),
        AuditEvent::auth("mfa.disabled", Some(principal.user_id)),
    ))
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A fresh set of backup codes (needs a TOTP code); the old set dies.
pub async fn regenerate(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    code: &str,
) -> Result<Vec<String>, ApiError> {
    let tenant = principal.tenant.id;
    let mut tx = state.store.tenant(&meta.audit_ctx(tenant, Actor::User(principal.user_id))).await?;
    let creds = tx
        .user_credentials_by_id(tenant, principal.user_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid))?;
    let enabled = tx.mfa_state(tenant, principal.user_id).await?.is_some_and(|m| m.enabled);
    if !enabled {
        return Err(ApiError::conflict(Some("mfa".into())).with_detail("TOTP is not enabled"));
    }
    // SECURITY: wrong codes here count in the account's lockout and a locked
    // account is refused, as at sign-in (gap G22): a stolen session cannot
    // guess its way to fresh backup codes.
    lockout::refuse_if_locked(state, tenant, &Subject::User(principal.user_id), creds.locked_until).await?;
    if !check_totp(state, tx.as_mut(), tenant, principal.user_id, code).await? {
        drop(tx);
        let failed = AuditEvent::auth("mfa.backup_codes.regenerate_failed", Some(principal.user_id));
        auth::count_account_failure(
            state,
            meta,
            &principal.tenant,
            Actor::User(principal.user_id),
            &creds.user,
            failed,
        )
        .await?;
        return Err(bad_code());
    }
    let (codes, digests) = new_backup_codes(state)?;
    tx.set_backup_codes(tenant, principal.user_id, &digests).await?;
    tx.insert_audit(&meta.record(
        tenant,
        Some(principal.user_id),
        AuditEvent::auth("mfa.backup_codes.regenerated", Some(principal.user_id)),
    ))
    .await?;
    tx.commit().await?;
    Ok(codes)
}

/// What an `mfa_token` stands for, kept in the shared cache.
#[derive(Serialize, Deserialize)]
struct Pending {
    tenant_id: Uuid,
    user_id: Uuid,
    /// Methods of the first factor (e.g. `pwd`, or `otp` + `email`).
    amr: Vec<String>,
    cookie: bool,
    remember: bool,
}

/// Issues the short-lived, single-use `mfa_token` after a first factor.
pub async fn issue_mfa_token(
    state: &AppState,
    tenant: Uuid,
    user: Uuid,
    amr: Vec<String>,
    mode: SessionMode,
    remember: bool,
) -> Result<String, ApiError> {
    let token = random_token().map_err(ApiError::internal)?;
    let pending = Pending { tenant_id: tenant, user_id: user, amr, cookie: mode == SessionMode::Cookie, remember };
    let json = serde_json::to_string(&pending).map_err(ApiError::internal)?;
    state
        .limits
        .set_ex(&format!("mfa:{}", sha256_hex(token.as_bytes())), &json, MFA_TOKEN_TTL)
        .await
        .map_err(ApiError::unavailable)?;
    Ok(token)
}

/// The second step of an MFA sign-in: `mfa_token` plus a TOTP or backup code.
pub async fn login_second_factor(
    state: &AppState,
    meta: &RequestMeta,
    header_tenant: Option<&str>,
    mfa_token: &str,
    method: &str,
    code: &str,
) -> Result<SignedIn, ApiError> {
    if !matches!(method, "totp" | "backup_code") {
        return Err(ApiError::validation(vec![FieldError::new(
            "method",
            "invalid_value",
            "expected totp or backup_code",
        )]));
    }
    if mfa_token.is_empty() || mfa_token.len() > 256 {
        return Err(ApiError::new(ErrorCode::TokenInvalid));
    }
    let hash = sha256_hex(mfa_token.as_bytes());
    let key = format!("mfa:{hash}");
    let stored = state.limits.get(&key).await.map_err(ApiError::unavailable)?;
    let pending: Pending = stored
        .and_then(|json| serde_json::from_str(&json).ok())
        .ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid))?;
    auth::header_matches(state, header_tenant, pending.tenant_id).await?;
    let tries =
        state.limits.incr_window(&format!("mfa_tries:{hash}"), MFA_TOKEN_TTL).await.map_err(ApiError::unavailable)?;
    if tries > MFA_TOKEN_TRIES {
        let _ = state.limits.del(&key).await;
        return Err(ApiError::new(ErrorCode::TokenInvalid).with_detail("too many attempts; sign in again"));
    }
    let tenant: Tenant = auth::token_tenant(state, pending.tenant_id).await?;
    let user_id = pending.user_id;
    let creds = {
        let mut tx = state.store.tenant(&meta.audit_ctx(tenant.id, Actor::User(user_id))).await?;
        let creds = tx.user_credentials_by_id(tenant.id, user_id).await?;
        tx.commit().await?;
        creds.ok_or_else(|| ApiError::new(ErrorCode::InvalidCredentials))?
    };
    // SECURITY: second factors count in the account's lockout, and a locked
    // account is refused here as at the password step (gap G1).
    lockout::refuse_if_locked(state, tenant.id, &Subject::User(user_id), creds.locked_until).await?;
    // SECURITY: the account may have changed since its password was checked
    // (the mfa_token lives 5 minutes): it must still be allowed to sign in,
    // with the password step's answers (gap G14). A deleted account is not
    // found above (401 INVALID_CREDENTIALS); a suspended or deleted tenant
    // was refused by `token_tenant`.
    if creds.user.status != UserStatus::Active {
        return Err(ApiError::new(ErrorCode::Forbidden).with_detail("the account is not active"));
    }
    if tenant.settings.require_verified_email && !creds.user.email_verified {
        return Err(ApiError::new(ErrorCode::EmailNotVerified));
    }
    let mut tx = state.store.tenant(&meta.audit_ctx(tenant.id, Actor::User(user_id))).await?;
    let ok = match method {
        "totp" => check_totp(state, tx.as_mut(), tenant.id, user_id, code).await?,
        _ => tx.consume_backup_code(tenant.id, user_id, &backup_digest(state, code)).await?,
    };
    if !ok {
        drop(tx);
        let event =
            AuditEvent::auth("auth.login.failed", Some(user_id)).with_details(serde_json::json!({"factor": method}));
        auth::count_account_failure(state, meta, &tenant, Actor::User(user_id), &creds.user, event).await?;
        return Err(bad_code());
    }
    // SECURITY: single use — the token is gone before the session exists.
    state.limits.del(&key).await.map_err(ApiError::unavailable)?;
    let mut amr = pending.amr.clone();
    // RFC 8176: a TOTP is an `otp`; either way two factors were used (`mfa`).
    let extra: &[&str] = if method == "totp" { &["otp", "mfa"] } else { &["mfa"] };
    for m in extra {
        if !amr.iter().any(|have| have == m) {
            amr.push((*m).to_owned());
        }
    }
    let mode = if pending.cookie { SessionMode::Cookie } else { SessionMode::Token };
    tx.record_login_success(tenant.id, user_id, None).await?;
    let issued = auth::open_session(tx.as_mut(), meta, &tenant, user_id, amr, mode, pending.remember).await?;
    tx.insert_audit(
        &meta.record(
            tenant.id,
            Some(user_id),
            AuditEvent::auth("auth.login.succeeded", Some(user_id))
                .with_details(serde_json::json!({"second_factor": method})),
        ),
    )
    .await?;
    let user = tx.user_by_id(tenant.id, user_id).await?.ok_or(StoreError::NotFound)?;
    tx.commit().await?;
    lockout::clear(state, tenant.id, &Subject::User(user_id)).await.map_err(ApiError::unavailable)?;
    auth::finish(state, &tenant, user, issued)
}

#[cfg(test)]
mod tests {
    #[test]
    fn backup_codes_normalise() {
        assert_eq!(super::normalize_backup("ABCDE fghjk"), super::normalize_backup("abcde-fghjk"));
        assert_ne!(super::normalize_backup("abcde-fghjk"), super::normalize_backup("abcde-fghjm"));
    }
}
