//! Email verification and password reset (API.md "Authentication").
//! Tokens are high-entropy, mailed as links, stored only as SHA-256 hashes,
//! single use and expiring; each names its own tenant.

use std::time::Duration;

use azth_core::crypto::token::{random_token, sha256_hex};
use azth_core::model::{AuditEvent, Tenant, User, UserStatus};
use azth_core::password::check_password;
use azth_core::{Actor, ErrorCode, FieldError};
use azth_store::Tx;
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::auth::{self, mark_revoked, normalize_email, policy};
use super::lockout::{self, Subject};
use super::{Principal, RequestMeta, messages, ratelimit};
use crate::http::ApiError;
use crate::state::AppState;

/// How long an emailed verification link works.
pub const VERIFY_TTL: chrono::Duration = chrono::Duration::hours(24);
/// How long an emailed reset link works.
pub const RESET_TTL: chrono::Duration = chrono::Duration::hours(1);

/// Queues a verification link for `user` in `tx` (register, resend).
pub async fn queue_verification(
    state: &AppState,
    tx: &mut dyn Tx,
    tenant: &Tenant,
    user: &User,
) -> Result<(), ApiError> {
    let token = random_token().map_err(ApiError::internal)?;
    tx.set_email_verification(tenant.id, user.id, &sha256_hex(token.as_bytes()), Utc::now() + VERIFY_TTL).await?;
    messages::queue(tx, tenant, Some(user.id), messages::verification(state, &user.email, &token)).await?;
    Ok(())
}

/// The per-target limit of sends (`otp_send_per_hour` per address), counted
/// for every target whether or not an account has it, so it reveals nothing.
pub async fn per_target(state: &AppState, tenant: &Tenant, endpoint: &str, target: &str) -> Result<(), ApiError> {
    let subject = format!("{}:{}", tenant.id, sha256_hex(target.as_bytes()));
    ratelimit::hit(state, endpoint, &subject, tenant.settings.otp_send_per_hour, Duration::from_secs(3600)).await
}

/// `POST /email/verify`: consumes the token, marks the email verified.
pub async fn verify_email(
    state: &AppState,
    meta: &RequestMeta,
    header_tenant: Option<&str>,
    token: &str,
) -> Result<User, ApiError> {
    if token.is_empty() || token.len() > 256 {
        return Err(ApiError::new(ErrorCode::TokenInvalid));
    }
    let mut tx = state.store.system("a verification token names its own tenant").await?;
    let user = tx
        .verify_email_token(&sha256_hex(token.as_bytes()))
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid))?;
    auth::header_matches(state, header_tenant, user.tenant_id).await?;
    auth::token_tenant(state, user.tenant_id).await?;
    tx.insert_audit(&meta.record(
        user.tenant_id,
        Some(user.id),
        AuditEvent::auth("auth.email.verified", Some(user.id)),
    ))
    .await?;
    tx.commit().await?;
    Ok(user)
}

/// `POST /email/verify/resend` for the signed-in caller.
pub async fn resend_for(state: &AppState, meta: &RequestMeta, principal: &Principal) -> Result<(), ApiError> {
    let tenant = &principal.tenant;
    let mut tx = state.store.tenant(&meta.audit_ctx(tenant.id, Actor::User(principal.user_id))).await?;
    let user =
        tx.user_by_id(tenant.id, principal.user_id).await?.ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid))?;
    per_target(state, tenant, "verify_resend", &user.email).await?;
    if !user.email_verified {
        queue_verification(state, tx.as_mut(), tenant, &user).await?;
    }
    tx.commit().await?;
    state.outbox_wake.notify_one();
    Ok(())
}

/// `POST /email/verify/resend` with an email: 202 whether or not it exists,
/// in the same time (the look-up runs after the answer).
pub async fn resend_to(state: &AppState, meta: &RequestMeta, tenant: &Tenant, email: &str) -> Result<(), ApiError> {
    let email = normalize_email(email, "email").map_err(|e| ApiError::validation(vec![e]))?;
    per_target(state, tenant, "verify_resend", &email).await?;
    let (state2, meta, tenant) = (state.clone(), meta.clone(), tenant.clone());
    super::detach(state, "verification resend", async move { resend_work(&state2, &meta, &tenant, &email).await });
    Ok(())
}

async fn resend_work(state: &AppState, meta: &RequestMeta, tenant: &Tenant, email: &str) -> Result<(), ApiError> {
    let mut tx = state.store.tenant(&meta.audit_ctx(tenant.id, Actor::Anonymous)).await?;
    if let Some(user) = tx.user_by_email(tenant.id, email).await?
        && !user.email_verified
    {
        queue_verification(state, tx.as_mut(), tenant, &user).await?;
    }
    tx.commit().await?;
    state.outbox_wake.notify_one();
    Ok(())
}

/// Queues a reset link for `user` in `tx`.
async fn queue_reset(state: &AppState, tx: &mut dyn Tx, tenant: &Tenant, user: &User) -> Result<(), ApiError> {
    let token = random_token().map_err(ApiError::internal)?;
    tx.set_password_reset(tenant.id, user.id, &sha256_hex(token.as_bytes()), Utc::now() + RESET_TTL).await?;
    messages::queue(tx, tenant, Some(user.id), messages::password_reset(state, &user.email, &token)).await?;
    Ok(())
}

/// `POST /password/forgot`: always 202 with the same body, in the same time
/// (the look-up and the reset link are made after the answer).
pub async fn forgot(state: &AppState, meta: &RequestMeta, tenant: &Tenant, email: &str) -> Result<(), ApiError> {
    let email = normalize_email(email, "email").map_err(|e| ApiError::validation(vec![e]))?;
    per_target(state, tenant, "forgot", &email).await?;
    let (state2, meta, tenant) = (state.clone(), meta.clone(), tenant.clone());
    super::detach(state, "password reset link", async move { forgot_work(&state2, &meta, &tenant, &email).await });
    Ok(())
}

async fn forgot_work(state: &AppState, meta: &RequestMeta, tenant: &Tenant, email: &str) -> Result<(), ApiError> {
    let mut tx = state.store.tenant(&meta.audit_ctx(tenant.id, Actor::Anonymous)).await?;
    let user = tx.user_by_email(tenant.id, email).await?;
    if let Some(user) = user.filter(|u| matches!(u.status, UserStatus::Active | UserStatus::Pending)) {
        queue_reset(state, tx.as_mut(), tenant, &user).await?;
        tx.insert_audit(&meta.record(
            tenant.id,
            Some(user.id),
            AuditEvent::auth("auth.password.reset_requested", Some(user.id)),
        ))
        .await?;
    }
    tx.commit().await?;
    state.outbox_wake.notify_one();
    Ok(())
}

/// A reset token made by a verified `password_reset` one-time code.
pub async fn reset_token_for(tx: &mut dyn Tx, tenant: Uuid, user: Uuid) -> Result<String, ApiError> {
    let token = random_token().map_err(ApiError::internal)?;
    tx.set_password_reset(tenant, user, &sha256_hex(token.as_bytes()), Utc::now() + chrono::Duration::minutes(15))
        .await?;
    Ok(token)
}

/// `POST /password/reset`: a new password; every session is revoked and the
/// lockout cleared. MFA stays: the next sign-in still asks for the second factor.
pub async fn reset(
    state: &AppState,
    meta: &RequestMeta,
    header_tenant: Option<&str>,
    token: &str,
    new_password: SecretString,
) -> Result<(), ApiError> {
    if token.is_empty() || token.len() > 256 {
        return Err(ApiError::new(ErrorCode::TokenInvalid));
    }
    let hash = sha256_hex(token.as_bytes());
    let user = {
        let mut tx = state.store.system("a reset token names its own tenant").await?;
        let user = tx.password_reset_user(&hash).await?;
        tx.commit().await?;
        user.ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid))?
    };
    auth::header_matches(state, header_tenant, user.tenant_id).await?;
    let tenant = auth::token_tenant(state, user.tenant_id).await?;
    if new_password.expose_secret().len() > 1024 {
        return Err(ApiError::validation(vec![FieldError::new("new_password", "too_long", "at most 128 characters")]));
    }
    if let Err(errors) =
        check_password(new_password.expose_secret(), &policy(&tenant), Some(&user.email), user.username.as_deref())
    {
        let errors = errors.into_iter().map(|e| FieldError { field: "new_password".into(), ..e }).collect();
        return Err(ApiError::validation(errors));
    }
    let new_hash = state.hasher.hash(&new_password).await?;
    let mut tx = state.store.tenant(&meta.audit_ctx(tenant.id, Actor::User(user.id))).await?;
    // Consuming the token is the atomic step: a second use finds nothing.
    let user = tx.reset_password(&hash, &new_hash).await?.ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid))?;
    let revoked = tx.revoke_user_sessions(tenant.id, user.id, None).await?;
    tx.insert_audit(
        &meta.record(
            tenant.id,
            Some(user.id),
            AuditEvent::auth("auth.password.reset", Some(user.id))
                .with_details(serde_json::json!({"sessions_revoked": revoked.len()})),
        ),
    )
    .await?;
    tx.commit().await?;
    mark_revoked(state, &revoked).await;
    lockout::clear(state, tenant.id, &Subject::User(user.id)).await.map_err(ApiError::unavailable)?;
    Ok(())
}
