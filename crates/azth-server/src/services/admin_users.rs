//! Users as administrators manage them (API.md "Administration"): list,
//! create (with a password, or invited through the outbox), read, change,
//! soft delete and restore, unlock, and their sessions.
//!
//! Guard rails: a tenant always keeps an active owner; nobody changes,
//! deletes or signs out a user who holds permissions the caller lacks (that
//! would let an admin take over an owner's account by changing its email).

use azth_core::crypto::token::{random_token, sha256_hex};
use azth_core::model::{Session, Tenant, User, UserStatus};
use azth_core::{ErrorCode, FieldError};
use azth_store::{AdminUserPatch, NewUser, StoreError, Tx, UserFilter};
use chrono::Utc;
use secrecy::SecretString;
use serde_json::json;
use uuid::Uuid;

use super::access::{self, admin_record, admin_tx};
use super::auth::{check_account_fields, check_name, check_username, mark_revoked, normalize_email};
use super::lockout::{self, Subject};
use super::page::{Page, PageParams};
use super::{Principal, RequestMeta, messages};
use crate::http::ApiError;
use crate::state::AppState;

/// How long an invitation's set-password link lives.
pub const INVITATION_TTL_HOURS: i64 = 72;

/// Filters of `GET /users`.
#[derive(Debug, Clone, Default)]
pub struct ListInput {
    pub q: Option<String>,
    pub status: Option<UserStatus>,
    /// A role id or name.
    pub role: Option<String>,
    pub include_deleted: bool,
    pub page: PageParams,
}

/// What `POST /users` takes.
pub struct CreateInput {
    pub email: String,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub status: Option<UserStatus>,
}

/// Lists the acting tenant's users, oldest first.
pub async fn list(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    input: ListInput,
) -> Result<Page<User>, ApiError> {
    access::require(state, principal, "users:read").await?;
    let after = input.page.after("users")?;
    let (role_id, role_name) = match input.role.as_deref().map(str::trim) {
        None | Some("") => (None, None),
        Some(r) => match Uuid::parse_str(r) {
            Ok(id) => (Some(id), None),
            Err(_) => (None, Some(r.to_owned())),
        },
    };
    let filter = UserFilter {
        q: input.q.map(|q| q.trim().to_owned()).filter(|q| !q.is_empty()),
        status: input.status,
        role_id,
        role_name,
        include_deleted: input.include_deleted,
        after,
        limit: input.page.fetch(),
    };
    let tenant = principal.acting.id;
    let mut tx = admin_tx(state, meta, principal).await?;
    let rows = tx.list_users(tenant, &filter).await?;
    tx.commit().await?;
    Ok(Page::from_rows(rows, &input.page, "users", |u| (u.created_at, u.id)))
}

/// Checks the fields of a new user; returns the normalized email and username.
fn check_new_user(input: &CreateInput, tenant: &Tenant) -> Result<(String, Option<String>), ApiError> {
    let (email, username, mut errors) = check_account_fields(
        &input.email,
        input.username.as_deref(),
        [("first_name", input.first_name.as_deref()), ("last_name", input.last_name.as_deref())],
        input.password.as_ref(),
        tenant,
    );
    match (&input.password, input.status) {
        (Some(_), Some(UserStatus::Pending)) => {
            errors.push(FieldError::new("status", "invalid_value", "pending is for invited users without a password"));
        }
        (None, Some(status)) if status != UserStatus::Pending => {
            errors.push(FieldError::new("status", "invalid_value", "a user without a password is pending"));
        }
        _ => {}
    }
    match email.filter(|_| errors.is_empty()) {
        Some(email) => Ok((email, username)),
        None => Err(ApiError::validation(errors)),
    }
}

/// Writes a set-password invitation for `user` into the outbox (same
/// transaction as the user): a random token whose SHA-256 is stored as the
/// user's password-reset token, and an email linking to the reset flow.
pub async fn invite(state: &AppState, tx: &mut dyn Tx, tenant: &Tenant, user: &User) -> Result<(), ApiError> {
    let token = random_token().map_err(ApiError::internal)?;
    let expires_at = Utc::now() + chrono::Duration::hours(INVITATION_TTL_HOURS);
    tx.set_password_reset(tenant.id, user.id, &sha256_hex(token.as_bytes()), expires_at).await?;
    messages::queue(tx, tenant, Some(user.id), messages::invitation(state, &user.email, &token)).await?;
    Ok(())
}

/// Creates a user in the acting tenant with the `member` role: active with
/// the given password, or pending with an invitation.
pub async fn create(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    input: CreateInput,
) -> Result<User, ApiError> {
    access::require(state, principal, "users:create").await?;
    let tenant = &principal.acting;
    let new = prepare_user(state, tenant, input).await?;
    let mut tx = admin_tx(state, meta, principal).await?;
    let user = insert_user(state, tx.as_mut(), tenant, &new, Some(principal.user_id)).await?;
    let invited = user.status == UserStatus::Pending;
    tx.insert_audit(&admin_record(
        meta,
        principal,
        "users.created",
        "users",
        Some(user.id),
        json!({"invited": invited}),
    ))
    .await?;
    tx.commit().await?;
    Ok(user)
}

/// Validates a new user of `tenant` (every field error at once) and hashes
/// the password: active with one, pending (to be invited) without.
pub async fn prepare_user(state: &AppState, tenant: &Tenant, input: CreateInput) -> Result<NewUser, ApiError> {
    let (email, username) = check_new_user(&input, tenant)?;
    let password_hash = match &input.password {
        Some(p) => Some(state.hasher.hash(p).await?),
        None => None,
    };
    let status = match password_hash {
        Some(_) => input.status.unwrap_or(UserStatus::Active),
        None => UserStatus::Pending,
    };
    Ok(NewUser { email, username, password_hash, first_name: input.first_name, last_name: input.last_name, status })
}

/// Writes a prepared user in `tx` with the `member` role, and queues the
/// invitation of a pending one.
pub async fn insert_user(
    state: &AppState,
    tx: &mut dyn Tx,
    tenant: &Tenant,
    new: &NewUser,
    assigned_by: Option<Uuid>,
) -> Result<User, ApiError> {
    let user = tx.insert_user(tenant.id, new).await?;
    tx.assign_role_by_name(tenant.id, user.id, "member", assigned_by).await?;
    if user.status == UserStatus::Pending {
        invite(state, tx, tenant, &user).await?;
    }
    Ok(user)
}

/// One user of the acting tenant; deleted ones only when asked.
pub async fn get(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    id: Uuid,
    include_deleted: bool,
) -> Result<User, ApiError> {
    access::require(state, principal, "users:read").await?;
    let mut tx = admin_tx(state, meta, principal).await?;
    let user = tx.find_user(principal.acting.id, id, include_deleted).await?;
    tx.commit().await?;
    user.ok_or_else(|| ApiError::new(ErrorCode::NotFound))
}

/// A live user of the tenant of `tx`, or 404.
async fn live_user(tx: &mut dyn Tx, tenant: Uuid, id: Uuid) -> Result<User, ApiError> {
    tx.find_user(tenant, id, false).await?.ok_or_else(|| ApiError::new(ErrorCode::NotFound))
}

/// Refuses (403) acting on a user who holds permissions the caller lacks.
async fn ensure_not_above(
    tx: &mut dyn Tx,
    caller: &azth_core::rbac::EffectiveAccess,
    tenant: Uuid,
    target: Uuid,
) -> Result<(), ApiError> {
    let theirs = tx.effective_access(tenant, target).await?;
    access::require_all(caller, &theirs.permissions)
        .map_err(|e| e.with_detail("the user holds permissions you do not hold"))
}

/// Refuses (409) a change that would leave the tenant without an active
/// owner, when `user` is one. The tenant row is locked first so two such
/// changes cannot each count the other's owner.
pub async fn ensure_other_owner(
    tx: &mut dyn Tx,
    tenant: Uuid,
    user: Uuid,
    field: Option<&str>,
) -> Result<(), ApiError> {
    tx.lock_tenant(tenant).await?;
    let all = tx.count_active_owners(tenant, None).await?;
    let others = tx.count_active_owners(tenant, Some(user)).await?;
    if all > others && others == 0 {
        let mut err = ApiError::conflict(field.map(str::to_owned));
        err.detail = Some("a tenant must keep at least one active owner".into());
        return Err(err);
    }
    Ok(())
}

/// Fields of `PATCH /users/{id}`: `None` leaves a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct PatchInput {
    pub email: Option<String>,
    pub username: Option<Option<String>>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub avatar: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub status: Option<UserStatus>,
}

fn check_patch(input: PatchInput) -> Result<AdminUserPatch, ApiError> {
    let mut errors = Vec::new();
    let email = match &input.email {
        Some(e) => normalize_email(e, "email").map_err(|e| errors.push(e)).ok(),
        None => None,
    };
    let username = input.username.map(|u| u.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty()));
    if let Some(Some(u)) = &username
        && let Err(e) = check_username(u)
    {
        errors.push(e);
    }
    for (field, value) in [("first_name", &input.first_name), ("last_name", &input.last_name)] {
        if let Some(Some(v)) = value
            && let Err(e) = check_name(field, v)
        {
            errors.push(e);
        }
    }
    if let Some(Some(avatar)) = &input.avatar
        && (avatar.len() > 2048 || !(avatar.starts_with("https://") || avatar.starts_with("http://")))
    {
        errors.push(FieldError::new("avatar", "invalid_url", "must be an http(s) URL of at most 2048 characters"));
    }
    if let Some(Some(phone)) = &input.phone {
        let digits = phone.strip_prefix('+').unwrap_or_default();
        if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            errors.push(FieldError::new("phone", "invalid_phone", "must be in E.164 form, e.g. +14155550123"));
        }
    }
    if input.status == Some(UserStatus::Pending) {
        errors.push(FieldError::new("status", "invalid_value", "pending is set by invitations only"));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(AdminUserPatch {
        email,
        username,
        first_name: input.first_name,
        last_name: input.last_name,
        avatar: input.avatar,
        phone: input.phone,
        status: input.status,
    })
}

/// Changes a user. A new email is unverified; leaving `active` revokes the
/// user's sessions.
pub async fn patch(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    id: Uuid,
    input: PatchInput,
) -> Result<User, ApiError> {
    let caller = access::require(state, principal, "users:update").await?;
    let patch = check_patch(input)?;
    let tenant = principal.acting.id;
    let mut tx = admin_tx(state, meta, principal).await?;
    let before = live_user(tx.as_mut(), tenant, id).await?;
    ensure_not_above(tx.as_mut(), &caller, tenant, id).await?;
    let leaves_active = before.status == UserStatus::Active && patch.status.is_some_and(|s| s != UserStatus::Active);
    if leaves_active {
        ensure_other_owner(tx.as_mut(), tenant, id, Some("status")).await?;
    }
    let user = tx.admin_update_user(tenant, id, &patch).await?.ok_or(StoreError::NotFound)?;
    let revoked = if leaves_active { tx.revoke_user_sessions(tenant, id, None).await? } else { Vec::new() };
    tx.insert_audit(&admin_record(
        meta,
        principal,
        "users.updated",
        "users",
        Some(id),
        json!({"status": user.status, "sessions_revoked": revoked.len()}),
    ))
    .await?;
    tx.commit().await?;
    mark_revoked(state, &revoked).await;
    if before.status != user.status {
        access::invalidate(state, tenant).await;
    }
    Ok(user)
}

/// Soft-deletes a user: sessions revoked, email and username free again.
pub async fn delete(state: &AppState, meta: &RequestMeta, principal: &Principal, id: Uuid) -> Result<(), ApiError> {
    let caller = access::require(state, principal, "users:delete").await?;
    let tenant = principal.acting.id;
    let mut tx = admin_tx(state, meta, principal).await?;
    live_user(tx.as_mut(), tenant, id).await?;
    ensure_not_above(tx.as_mut(), &caller, tenant, id).await?;
    ensure_other_owner(tx.as_mut(), tenant, id, None).await?;
    tx.soft_delete_user(tenant, id).await?.ok_or(StoreError::NotFound)?;
    let revoked = tx.revoke_user_sessions(tenant, id, None).await?;
    tx.insert_audit(&admin_record(
        meta,
        principal,
        "users.deleted",
        "users",
        Some(id),
        json!({"sessions_revoked": revoked.len()}),
    ))
    .await?;
    tx.commit().await?;
    mark_revoked(state, &revoked).await;
    access::invalidate(state, tenant).await;
    Ok(())
}

/// Undeletes a user; CONFLICT when the email or username was taken meanwhile.
pub async fn restore(state: &AppState, meta: &RequestMeta, principal: &Principal, id: Uuid) -> Result<User, ApiError> {
    access::require(state, principal, "users:update").await?;
    let tenant = principal.acting.id;
    let mut tx = admin_tx(state, meta, principal).await?;
    let user = tx.restore_user(tenant, id).await?.ok_or_else(|| ApiError::new(ErrorCode::NotFound))?;
    tx.insert_audit(&admin_record(meta, principal, "users.restored", "users", Some(id), json!({}))).await?;
    tx.commit().await?;
    access::invalidate(state, tenant).await;
    Ok(user)
}

/// Clears a user's lockout, in the database and in the cache.
pub async fn unlock(state: &AppState, meta: &RequestMeta, principal: &Principal, id: Uuid) -> Result<User, ApiError> {
    access::require(state, principal, "users:update").await?;
    let tenant = principal.acting.id;
    let mut tx = admin_tx(state, meta, principal).await?;
    let user = tx.unlock_user(tenant, id).await?.ok_or_else(|| ApiError::new(ErrorCode::NotFound))?;
    tx.insert_audit(&admin_record(meta, principal, "users.unlocked", "users", Some(id), json!({}))).await?;
    tx.commit().await?;
    lockout::clear(state, tenant, &Subject::User(id)).await.map_err(ApiError::unavailable)?;
    Ok(user)
}

/// The live sessions of a user, newest first.
pub async fn sessions(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    id: Uuid,
    page: PageParams,
) -> Result<Page<Session>, ApiError> {
    access::require(state, principal, "sessions:read").await?;
    let tenant = principal.acting.id;
    let mut tx = admin_tx(state, meta, principal).await?;
    live_user(tx.as_mut(), tenant, id).await?;
    let all = tx.sessions_of_user(tenant, id).await?;
    tx.commit().await?;
    Page::from_sorted(all, &page, "user-sessions", true, |s| (s.created_at, s.id))
}

/// Revokes every session of a user, or only `session` when given.
pub async fn revoke_sessions(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    id: Uuid,
    session: Option<Uuid>,
) -> Result<(), ApiError> {
    let caller = access::require(state, principal, "sessions:revoke").await?;
    let tenant = principal.acting.id;
    let mut tx = admin_tx(state, meta, principal).await?;
    live_user(tx.as_mut(), tenant, id).await?;
    ensure_not_above(tx.as_mut(), &caller, tenant, id).await?;
    let revoked = match session {
        None => tx.revoke_user_sessions(tenant, id, None).await?,
        Some(sid) => {
            let live = tx.session_by_id(tenant, sid).await?.is_some_and(|s| s.user_id == id && s.revoked_at.is_none());
            if !live {
                return Err(ApiError::new(ErrorCode::NotFound));
            }
            tx.revoke_session(tenant, sid).await?;
            vec![sid]
        }
    };
    tx.insert_audit(&admin_record(
        meta,
        principal,
        "sessions.revoked",
        "users",
        Some(id),
        json!({"sessions": revoked}),
    ))
    .await?;
    tx.commit().await?;
    mark_revoked(state, &revoked).await;
    Ok(())
}
