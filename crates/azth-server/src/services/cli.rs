//! Operations for the command line (`azth tenants|users|roles …`): an
//! operator at the server, trusted like the database itself, acting as the
//! `cli` actor — every change is audited with `actor = cli` and no user id.
//! The validation rules are the API's.

use azth_core::model::{AuditEvent, Tenant, TenantStatus, User, UserStatus};
use azth_core::rbac::Assignment;
use azth_core::{Actor, AuditContext, ErrorCode, FieldError};
use azth_store::{StoreError, TenantFilter, Tx, UserFilter};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::auth::mark_revoked;
use super::lockout::{self, Subject};
use super::tenants::{CreateInput, OwnerInput, insert_prepared, prepare_create};
use super::{RequestMeta, access, admin_users, tenancy};
use crate::http::ApiError;
use crate::state::AppState;

fn record(
    tenant: uuid::Uuid,
    action: &'static str,
    resource_type: &'static str,
    id: uuid::Uuid,
    details: serde_json::Value,
) -> azth_store::AuditRecord {
    RequestMeta::default().record(
        tenant,
        None,
        AuditEvent { action, resource_type, resource_id: Some(id), details: Some(details) },
    )
}

/// A transaction in `tenant` acting as the command line.
async fn cli_tx(state: &AppState, tenant: uuid::Uuid) -> Result<Box<dyn Tx>, ApiError> {
    Ok(state.store.tenant(&AuditContext::new(tenant, Actor::Cli)).await?)
}

/// A system transaction acting as the command line.
async fn cli_system_tx(state: &AppState, tenant: uuid::Uuid, reason: &'static str) -> Result<Box<dyn Tx>, ApiError> {
    let mut tx = state.store.system(reason).await?;
    tx.set_audit_actor(&AuditContext::new(tenant, Actor::Cli)).await?;
    Ok(tx)
}

/// The live tenant named by `slug` (or id).
pub async fn tenant(state: &AppState, name: &str) -> Result<Tenant, ApiError> {
    match tenancy::named(state, name).await? {
        Some(t) if t.deleted_at.is_none() => Ok(t),
        _ => Err(ApiError::new(ErrorCode::TenantNotFound).with_detail(format!("no tenant {name}"))),
    }
}

/// `azth tenants create`.
pub async fn create_tenant(
    state: &AppState,
    name: String,
    slug: String,
    domain: Option<String>,
    owner_email: String,
    owner_password: Option<SecretString>,
) -> Result<(Tenant, User), ApiError> {
    let input = CreateInput {
        name,
        slug,
        domain,
        plan: None,
        settings: None,
        owner: OwnerInput {
            email: owner_email,
            password: owner_password,
            username: None,
            first_name: None,
            last_name: None,
        },
    };
    let prepared = prepare_create(state, input).await?;
    // The tenant does not exist yet; the actor (not a tenant) is what the trigger needs.
    let mut tx = cli_system_tx(state, uuid::Uuid::nil(), "the command line creates tenants").await?;
    let (tenant, user) = insert_prepared(state, tx.as_mut(), prepared, None).await?;
    tx.insert_audit(&record(
        tenant.id,
        "tenants.created",
        "tenants",
        tenant.id,
        json!({"slug": tenant.slug, "owner_id": user.id}),
    ))
    .await?;
    tx.commit().await?;
    state.outbox_wake.notify_one();
    Ok((tenant, user))
}

/// `azth tenants list`: every live tenant, oldest first.
pub async fn list_tenants(state: &AppState) -> Result<Vec<Tenant>, ApiError> {
    let mut tx = state.store.system("the command line lists tenants").await?;
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = tx.list_tenants(&TenantFilter { q: None, status: None, after, limit: 500 }).await?;
        let done = page.len() < 500;
        after = page.last().map(|t| (t.created_at, t.id));
        all.extend(page);
        if done {
            break;
        }
    }
    tx.commit().await?;
    Ok(all)
}

/// `azth tenants suspend|activate`.
pub async fn set_tenant_status(state: &AppState, name: &str, status: TenantStatus) -> Result<Tenant, ApiError> {
    let current = tenant(state, name).await?;
    let mut tx = cli_system_tx(state, current.id, "the command line changes a tenant's status").await?;
    let (updated, action) = super::tenants::apply_status(tx.as_mut(), current.id, status).await?;
    tx.insert_audit(&record(updated.id, action, "tenants", updated.id, json!({"slug": updated.slug}))).await?;
    tx.commit().await?;
    tenancy::invalidate(state, &updated).await;
    Ok(updated)
}

/// `azth users create`: active with a password, else pending and invited.
pub async fn create_user(
    state: &AppState,
    tenant_name: &str,
    email: &str,
    username: Option<String>,
    password: Option<SecretString>,
) -> Result<User, ApiError> {
    let tenant = tenant(state, tenant_name).await?;
    let input = admin_users::CreateInput {
        email: email.to_owned(),
        username,
        password,
        first_name: None,
        last_name: None,
        status: None,
    };
    let new = admin_users::prepare_user(state, &tenant, input).await?;
    let mut tx = cli_tx(state, tenant.id).await?;
    let user = admin_users::insert_user(state, tx.as_mut(), &tenant, &new, None).await?;
    let invited = user.status == UserStatus::Pending;
    tx.insert_audit(&record(tenant.id, "users.created", "users", user.id, json!({"invited": invited}))).await?;
    tx.commit().await?;
    state.outbox_wake.notify_one();
    Ok(user)
}

/// `azth users list`: every user of a tenant (deleted ones with `include_deleted`).
pub async fn list_users(state: &AppState, tenant_name: &str, include_deleted: bool) -> Result<Vec<User>, ApiError> {
    let tenant = tenant(state, tenant_name).await?;
    let mut tx = cli_tx(state, tenant.id).await?;
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let filter = UserFilter { include_deleted, after, limit: 500, ..UserFilter::default() };
        let page = tx.list_users(tenant.id, &filter).await?;
        let done = page.len() < 500;
        after = page.last().map(|u| (u.created_at, u.id));
        all.extend(page);
        if done {
            break;
        }
    }
    tx.commit().await?;
    Ok(all)
}

async fn user_by_email(tx: &mut dyn Tx, tenant: &Tenant, email: &str) -> Result<User, ApiError> {
    tx.user_by_email(tenant.id, &email.trim().to_lowercase()).await?.ok_or_else(|| {
        ApiError::new(ErrorCode::NotFound).with_detail(format!("no user {} in {}", email.trim(), tenant.slug))
    })
}

/// `azth users unlock`: clears the failure counter and the lock (database and cache).
pub async fn unlock_user(state: &AppState, tenant_name: &str, email: &str) -> Result<User, ApiError> {
    let tenant = tenant(state, tenant_name).await?;
    let mut tx = cli_tx(state, tenant.id).await?;
    let user = user_by_email(tx.as_mut(), &tenant, email).await?;
    let user = tx.unlock_user(tenant.id, user.id).await?.ok_or(StoreError::NotFound)?;
    tx.insert_audit(&record(tenant.id, "users.unlocked", "users", user.id, json!({}))).await?;
    tx.commit().await?;
    lockout::clear(state, tenant.id, &Subject::User(user.id)).await.map_err(ApiError::unavailable)?;
    Ok(user)
}

/// `azth users reset-password`: sets a new password (given, or generated and
/// returned once), revokes every session and clears the lockout.
pub async fn reset_password(
    state: &AppState,
    tenant_name: &str,
    email: &str,
    password: Option<SecretString>,
) -> Result<(User, Option<SecretString>), ApiError> {
    let tenant = tenant(state, tenant_name).await?;
    let generated = password.is_none();
    let password = match password {
        Some(p) => p,
        None => super::bootstrap::generate_password()?,
    };
    let mut tx = cli_tx(state, tenant.id).await?;
    let user = user_by_email(tx.as_mut(), &tenant, email).await?;
    if let Err(errors) = azth_core::password::check_password(
        password.expose_secret(),
        &super::auth::policy(&tenant),
        Some(&user.email),
        user.username.as_deref(),
    ) {
        return Err(ApiError::validation(errors));
    }
    let hash = state.hasher.hash(&password).await?;
    tx.set_password_hash(tenant.id, user.id, &hash).await?;
    tx.unlock_user(tenant.id, user.id).await?;
    let revoked = tx.revoke_user_sessions(tenant.id, user.id, None).await?;
    tx.insert_audit(&record(
        tenant.id,
        "auth.password.reset",
        "users",
        user.id,
        json!({"sessions_revoked": revoked.len()}),
    ))
    .await?;
    tx.commit().await?;
    mark_revoked(state, &revoked).await;
    lockout::clear(state, tenant.id, &Subject::User(user.id)).await.map_err(ApiError::unavailable)?;
    Ok((user, generated.then_some(password)))
}

/// `azth roles assign`.
pub async fn assign_role(
    state: &AppState,
    tenant_name: &str,
    email: &str,
    role: &str,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Assignment, ApiError> {
    let tenant = tenant(state, tenant_name).await?;
    if expires_at.is_some_and(|t| t <= chrono::Utc::now()) {
        return Err(ApiError::validation(vec![FieldError::new("expires_at", "in_the_past", "must be in the future")]));
    }
    let mut tx = cli_tx(state, tenant.id).await?;
    let user = user_by_email(tx.as_mut(), &tenant, email).await?;
    let role = tx
        .role_by_name(tenant.id, role)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound).with_detail(format!("no role {role} in {}", tenant.slug)))?;
    let assignment = tx.assign_role(tenant.id, user.id, role.id, None, expires_at).await?;
    tx.insert_audit(&record(
        tenant.id,
        "roles.assigned",
        "users",
        user.id,
        json!({"role_id": role.id, "role": role.name}),
    ))
    .await?;
    tx.commit().await?;
    access::invalidate(state, tenant.id).await;
    Ok(assignment)
}

/// `azth roles revoke`; the tenant keeps at least one active owner.
pub async fn revoke_role(state: &AppState, tenant_name: &str, email: &str, role: &str) -> Result<(), ApiError> {
    let tenant = tenant(state, tenant_name).await?;
    let mut tx = cli_tx(state, tenant.id).await?;
    let user = user_by_email(tx.as_mut(), &tenant, email).await?;
    let role = tx
        .role_by_name(tenant.id, role)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound).with_detail(format!("no role {role} in {}", tenant.slug)))?;
    if role.name == "owner" {
        tx.lock_tenant(tenant.id).await?;
        if tx.count_active_owners(tenant.id, Some(user.id)).await? == 0 {
            return Err(ApiError::conflict(Some("role_id".into())).with_detail("the tenant's last active owner"));
        }
    }
    if !tx.unassign_role(tenant.id, user.id, role.id).await? {
        return Err(
            ApiError::new(ErrorCode::NotFound).with_detail(format!("{} does not hold {}", user.email, role.name))
        );
    }
    tx.insert_audit(&record(
        tenant.id,
        "roles.revoked",
        "users",
        user.id,
        json!({"role_id": role.id, "role": role.name}),
    ))
    .await?;
    tx.commit().await?;
    access::invalidate(state, tenant.id).await;
    Ok(())
}
