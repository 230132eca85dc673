//! The caller's own account: read, edit, change password.

use azth_core::model::{AuditEvent, Tenant, User};
use azth_core::password::check_password;
use azth_core::{Actor, ErrorCode, FieldError};
use azth_store::{ProfilePatch, StoreError};
use secrecy::{ExposeSecret, SecretString};

use super::access;
use super::auth::{check_name, check_username, count_account_failure, mark_revoked, policy};
use super::lockout::{self, Subject};
use super::{Principal, RequestMeta};
use crate::http::ApiError;
use crate::state::AppState;

/// `GET /me`: the user, the tenant, and the effective roles and permissions.
pub struct Me {
    pub user: User,
    pub tenant: Tenant,
    pub roles: Vec<String>,
    pub permissions: Vec<String>,
}

/// Reads the caller's account.
pub async fn get(state: &AppState, principal: &Principal) -> Result<Me, ApiError> {
    let tenant = principal.tenant.id;
    // Roles and permissions come from the permission cache that every
    // authorization check uses (invalidated on any change); only the user
    // row is read, in one round trip on PostgreSQL.
    let access = access::of_principal(state, principal).await?;
    let user = state
        .store
        .read_own_user(tenant, principal.user_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid))?;
    Ok(Me { user, tenant: principal.tenant.clone(), roles: access.roles, permissions: access.permissions })
}

/// Edits the caller's profile.
pub async fn patch(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    patch: ProfilePatch,
) -> Result<User, ApiError> {
    let mut errors: Vec<FieldError> = Vec::new();
    if let Some(Some(username)) = &patch.username
        && let Err(e) = check_username(username)
    {
        errors.push(e);
    }
    for (field, value) in [("first_name", &patch.first_name), ("last_name", &patch.last_name)] {
        if let Some(Some(v)) = value
            && let Err(e) = check_name(field, v)
        {
            errors.push(e);
        }
    }
    if let Some(Some(avatar)) = &patch.avatar
        && (avatar.len() > 2048 || !(avatar.starts_with("https://") || avatar.starts_with("http://")))
    {
        errors.push(FieldError::new("avatar", "invalid_url", "must be an http(s) URL of at most 2048 characters"));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let tenant = principal.tenant.id;
    let mut tx = state.store.tenant(&meta.audit_ctx(tenant, Actor::User(principal.user_id))).await?;
    let user = match tx.update_profile(tenant, principal.user_id, &patch).await {
        Err(StoreError::NotFound) => return Err(ApiError::new(ErrorCode::TokenInvalid)),
        other => other?,
    };
    tx.commit().await?;
    Ok(user)
}

/// Changes the caller's password; every other session is revoked.
pub async fn change_password(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    current: SecretString,
    new: SecretString,
) -> Result<(), ApiError> {
    let tenant = &principal.tenant;
    let creds = {
        let mut tx = state.store.tenant(&meta.audit_ctx(tenant.id, Actor::User(principal.user_id))).await?;
        let creds = tx.user_credentials_by_id(tenant.id, principal.user_id).await?;
        tx.commit().await?;
        creds.ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid))?
    };
    if new.expose_secret().len() > 1024 {
        return Err(ApiError::validation(vec![FieldError::new("new_password", "too_long", "at most 128 characters")]));
    }
    // SECURITY: guesses of the current password (a stolen session) count in
    // the account's lockout, and a locked account is refused (gap G2).
    lockout::refuse_if_locked(state, tenant.id, &Subject::User(principal.user_id), creds.locked_until).await?;
    if !state.hasher.verify(&current, creds.password_hash.clone()).await? {
        let event = AuditEvent::auth("auth.password.change_failed", Some(principal.user_id));
        count_account_failure(state, meta, tenant, Actor::User(principal.user_id), &creds.user, event).await?;
        return Err(ApiError::new(ErrorCode::InvalidCredentials).with_detail("the current password is wrong"));
    }
    if let Err(errors) =
        check_password(new.expose_secret(), &policy(tenant), Some(&creds.user.email), creds.user.username.as_deref())
    {
        let errors = errors.into_iter().map(|e| FieldError { field: "new_password".into(), ..e }).collect();
        return Err(ApiError::validation(errors));
    }
    let hash = state.hasher.hash(&new).await?;
    let mut tx = state.store.tenant(&meta.audit_ctx(tenant.id, Actor::User(principal.user_id))).await?;
    tx.set_password_hash(tenant.id, principal.user_id, &hash).await?;
    let revoked = tx.revoke_user_sessions(tenant.id, principal.user_id, Some(principal.session_id)).await?;
    tx.insert_audit(
        &meta.record(
            tenant.id,
            Some(principal.user_id),
            AuditEvent::auth("auth.password.changed", Some(principal.user_id))
                .with_details(serde_json::json!({"sessions_revoked": revoked.len()})),
        ),
    )
    .await?;
    tx.commit().await?;
    mark_revoked(state, &revoked).await;
    Ok(())
}
