//! The caller's tenant (`GET/PATCH /tenant`) and, for operators of the
//! system tenant, every tenant (`/tenants`): create with system roles and a
//! first owner in one transaction, change, suspend, activate, soft delete.

use azth_core::model::{SYSTEM_TENANT_SLUG, Tenant, TenantSettings, TenantStatus, UserStatus};
use azth_core::password::check_password;
use azth_core::{Actor, ErrorCode, FieldError};
use azth_store::{NewTenant, NewUser, StoreError, TenantFilter, TenantPatch, Tx};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::access::{self, admin_record};
use super::admin_users::invite;
use super::auth::{check_name, check_username, normalize_email, policy};
use super::page::{Page, PageParams};
use super::{Principal, RequestMeta, tenancy};
use crate::http::ApiError;
use crate::state::AppState;

/// Slugs that name parts of azth or would confuse people and URLs.
pub const RESERVED_SLUGS: &[&str] = &[
    "system",
    "api",
    "admin",
    "www",
    "auth",
    "root",
    "app",
    "apps",
    "static",
    "assets",
    "docs",
    "health",
    "ready",
    "metrics",
    "login",
    "logout",
    "register",
    "oauth",
    "oidc",
    "well-known",
    "default",
    "public",
    "internal",
    "azth",
    "null",
    "undefined",
    "tenant",
    "tenants",
    "support",
    "help",
    "mail",
    "status",
];

/// Checks a slug: 3–63 of `[a-z0-9-]`, starting and ending with a letter or
/// digit, not reserved, not a UUID (`X-Tenant-ID` takes both).
pub fn check_slug(slug: &str) -> Result<(), FieldError> {
    let bytes = slug.as_bytes();
    let shaped = (3..=63).contains(&bytes.len())
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric);
    if !shaped {
        return Err(FieldError::new(
            "slug",
            "invalid_slug",
            "3 to 63 lowercase letters, digits or '-', starting and ending with a letter or digit",
        ));
    }
    if RESERVED_SLUGS.contains(&slug) || Uuid::parse_str(slug).is_ok() {
        return Err(FieldError::new("slug", "reserved", "is reserved"));
    }
    Ok(())
}

fn check_tenant_name(name: &str) -> Result<(), FieldError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 255 || n.chars().any(char::is_control) {
        return Err(FieldError::new("name", "invalid", "1 to 255 characters, no control characters"));
    }
    Ok(())
}

/// A host name for `Host` matching, lowercased.
fn check_domain(domain: &str) -> Result<String, FieldError> {
    let d = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok = (3..=253).contains(&d.len())
        && d.contains('.')
        && d.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if ok {
        Ok(d)
    } else {
        Err(FieldError::new("domain", "invalid_domain", "must be a host name such as login.example.com"))
    }
}

fn check_plan(plan: &str) -> Result<(), FieldError> {
    let ok = (1..=50).contains(&plan.len())
        && plan.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok { Ok(()) } else { Err(FieldError::new("plan", "invalid", "1 to 50 of [a-z0-9_-]")) }
}

/// Merges a `settings` patch into the current settings (API.md "Tenant
/// settings"): unknown keys, wrong types and out-of-range values are field
/// errors (`settings.<key>`); `null` resets a key to its default.
pub fn merge_settings(current: &TenantSettings, patch: &Value) -> Result<Value, Vec<FieldError>> {
    let Value::Object(patch) = patch else {
        return Err(vec![FieldError::new("settings", "invalid_type", "expected an object")]);
    };
    let mut merged: Map<String, Value> = match serde_json::to_value(current) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let defaults = serde_json::to_value(TenantSettings::default()).unwrap_or(Value::Null);
    let mut errors = Vec::new();
    for (key, value) in patch {
        let field = format!("settings.{key}");
        let Some(default) = defaults.get(key) else {
            errors.push(FieldError::new(field, "unknown_field", "is not a known setting"));
            continue;
        };
        if value.is_null() {
            merged.insert(key.clone(), default.clone());
            continue;
        }
        // JSON has one number type: `24.0` is the integer 24 (JSON Schema's
        // `integer` accepts it too), so integral numbers are taken as such.
        let value = match value.as_f64() {
            Some(f) if value.is_f64() && f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f) => {
                Value::from(f as u64)
            }
            _ => value.clone(),
        };
        let mut one = Map::new();
        one.insert(key.clone(), value.clone());
        if serde_json::from_value::<TenantSettings>(Value::Object(one)).is_err() {
            let expected = if default.is_boolean() { "expected a boolean" } else { "expected a non-negative integer" };
            errors.push(FieldError::new(field, "invalid_type", expected));
            continue;
        }
        merged.insert(key.clone(), value);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let merged = Value::Object(merged);
    let settings: TenantSettings = serde_json::from_value(merged.clone())
        .map_err(|_| vec![FieldError::new("settings", "invalid", "is not a valid settings object")])?;
    settings.validate()?;
    Ok(merged)
}

/// The acting tenant, fresh from the database.
pub async fn get_own(state: &AppState, meta: &RequestMeta, principal: &Principal) -> Result<Tenant, ApiError> {
    access::require(state, principal, "tenant:read").await?;
    let mut tx = access::admin_tx(state, meta, principal).await?;
    let tenant = tx.tenant_by_id(principal.acting.id).await?;
    tx.commit().await?;
    tenant.filter(|t| t.deleted_at.is_none()).ok_or_else(|| ApiError::new(ErrorCode::NotFound))
}

/// What `PATCH /tenant` and `PATCH /tenants/{id}` take.
#[derive(Debug, Clone, Default)]
pub struct PatchInput {
    pub name: Option<String>,
    pub domain: Option<Option<String>>,
    pub plan: Option<String>,
    pub settings: Option<Value>,
}

fn check_patch(current: &Tenant, input: PatchInput) -> Result<TenantPatch, ApiError> {
    let mut errors = Vec::new();
    if let Some(name) = &input.name
        && let Err(e) = check_tenant_name(name)
    {
        errors.push(e);
    }
    let domain = match input.domain {
        Some(Some(d)) => check_domain(&d).map_err(|e| errors.push(e)).ok().map(Some),
        Some(None) => Some(None),
        None => None,
    };
    if let Some(plan) = &input.plan
        && let Err(e) = check_plan(plan)
    {
        errors.push(e);
    }
    let settings = match &input.settings {
        Some(patch) => merge_settings(&current.settings, patch).map_err(|mut e| errors.append(&mut e)).ok(),
        None => None,
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(TenantPatch { name: input.name.map(|n| n.trim().to_owned()), domain, plan: input.plan, settings })
}

/// Changes the acting tenant's name and settings (settings are merged).
pub async fn patch_own(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    name: Option<String>,
    settings: Option<Value>,
) -> Result<Tenant, ApiError> {
    access::require(state, principal, "tenant:update").await?;
    let mut tx = access::admin_tx(state, meta, principal).await?;
    let current = tx.tenant_by_id(principal.acting.id).await?.ok_or(StoreError::NotFound)?;
    let patch = check_patch(&current, PatchInput { name, settings, ..PatchInput::default() })?;
    let tenant = tx.update_tenant(current.id, &patch).await?.ok_or(StoreError::NotFound)?;
    tx.insert_audit(&admin_record(meta, principal, "tenant.updated", "tenants", Some(tenant.id), json!({}))).await?;
    tx.commit().await?;
    tenancy::invalidate(state, &current).await;
    tenancy::invalidate(state, &tenant).await;
    Ok(tenant)
}

/// Opens a system transaction for an operator's change, with the operator
/// recorded for the audit trigger.
async fn operator_tx(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    reason: &'static str,
) -> Result<Box<dyn Tx>, ApiError> {
    let mut tx = state.store.system(reason).await?;
    tx.set_audit_actor(&meta.audit_ctx(principal.tenant.id, Actor::User(principal.user_id))).await?;
    Ok(tx)
}

/// An audit row about `tenant` written by an operator: in the tenant acted
/// on, naming the operator and the operator's tenant.
fn operator_record(
    meta: &RequestMeta,
    principal: &Principal,
    action: &'static str,
    tenant: Uuid,
    details: Value,
) -> azth_store::AuditRecord {
    let mut details = details;
    if let Some(map) = details.as_object_mut() {
        map.insert("operator_tenant_id".into(), Value::String(principal.tenant.id.to_string()));
    }
    meta.record(
        tenant,
        Some(principal.user_id),
        azth_core::model::AuditEvent {
            action,
            resource_type: "tenants",
            resource_id: Some(tenant),
            details: Some(details),
        },
    )
}

/// Lists live tenants, oldest first.
pub async fn list(
    state: &AppState,
    principal: &Principal,
    q: Option<String>,
    status: Option<TenantStatus>,
    page: PageParams,
) -> Result<Page<Tenant>, ApiError> {
    access::require(state, principal, "tenants:read").await?;
    let filter = TenantFilter {
        q: q.map(|q| q.trim().to_owned()).filter(|q| !q.is_empty()),
        status,
        after: page.after("tenants")?,
        limit: page.fetch(),
    };
    let mut tx = state.store.system("operators list every tenant").await?;
    let rows = tx.list_tenants(&filter).await?;
    tx.commit().await?;
    Ok(Page::from_rows(rows, &page, "tenants", |t| (t.created_at, t.id)))
}

/// A live tenant by id.
pub async fn get(state: &AppState, principal: &Principal, id: Uuid) -> Result<Tenant, ApiError> {
    access::require(state, principal, "tenants:read").await?;
    let mut tx = state.store.system("operators read any tenant").await?;
    let tenant = tx.tenant_by_id(id).await?;
    tx.commit().await?;
    tenant.filter(|t| t.deleted_at.is_none()).ok_or_else(|| ApiError::new(ErrorCode::NotFound))
}

/// The first owner of a new tenant.
pub struct OwnerInput {
    pub email: String,
    pub password: Option<SecretString>,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// What `POST /tenants` takes.
pub struct CreateInput {
    pub name: String,
    pub slug: String,
    pub domain: Option<String>,
    pub plan: Option<String>,
    pub settings: Option<Value>,
    pub owner: OwnerInput,
}

/// Creates a tenant, its system roles and its first owner in one
/// transaction; without a password the owner is invited.
pub async fn create(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    input: CreateInput,
) -> Result<(Tenant, azth_core::model::User), ApiError> {
    access::require(state, principal, "tenants:create").await?;
    let prepared = prepare_create(state, input).await?;
    let mut tx = operator_tx(state, meta, principal, "operators create tenants").await?;
    let (tenant, user) = insert_prepared(state, tx.as_mut(), prepared, Some(principal.user_id)).await?;
    tx.insert_audit(&operator_record(
        meta,
        principal,
        "tenants.created",
        tenant.id,
        json!({"slug": tenant.slug, "owner_id": user.id, "invited": user.status == UserStatus::Pending}),
    ))
    .await?;
    tx.commit().await?;
    Ok((tenant, user))
}

/// A validated tenant creation, its owner's password already hashed.
pub struct PreparedTenant {
    tenant: NewTenant,
    owner: NewUser,
}

/// Validates a tenant creation (every field error at once) and hashes the
/// owner's password, if any.
pub async fn prepare_create(state: &AppState, input: CreateInput) -> Result<PreparedTenant, ApiError> {
    let mut errors = Vec::new();
    let slug = input.slug.trim().to_owned();
    if let Err(e) = check_tenant_name(&input.name) {
        errors.push(e);
    }
    if let Err(e) = check_slug(&slug) {
        errors.push(e);
    }
    let domain = input.domain.as_deref().and_then(|d| check_domain(d).map_err(|e| errors.push(e)).ok());
    let plan = input.plan.unwrap_or_else(|| "free".into());
    if let Err(e) = check_plan(&plan) {
        errors.push(e);
    }
    let settings = match &input.settings {
        Some(s) => merge_settings(&TenantSettings::default(), s).map_err(|mut e| errors.append(&mut e)).ok(),
        None => Some(json!({})),
    };
    let owner = &input.owner;
    let email = normalize_email(&owner.email, "owner.email").map_err(|e| errors.push(e)).ok();
    let username = owner.username.as_deref().map(str::trim).filter(|u| !u.is_empty()).map(str::to_owned);
    if let Some(u) = &username
        && let Err(e) = check_username(u)
    {
        errors.push(FieldError { field: "owner.username".into(), ..e });
    }
    for (field, value) in [("owner.first_name", &owner.first_name), ("owner.last_name", &owner.last_name)] {
        if let Some(v) = value
            && let Err(e) = check_name(field, v)
        {
            errors.push(e);
        }
    }
    let tenant_settings = settings.as_ref().map(TenantSettings::from_json).unwrap_or_default();
    if let Some(password) = &owner.password {
        let probe = Tenant {
            id: Uuid::nil(),
            name: String::new(),
            slug: String::new(),
            domain: None,
            status: TenantStatus::Active,
            plan: String::new(),
            settings: tenant_settings,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
            deleted_at: None,
        };
        if password.expose_secret().len() > 1024 {
            errors.push(FieldError::new("owner.password", "too_long", "at most 128 characters"));
        } else if let Err(e) =
            check_password(password.expose_secret(), &policy(&probe), email.as_deref(), username.as_deref())
        {
            errors.extend(e.into_iter().map(|e| FieldError { field: "owner.password".into(), ..e }));
        }
    }
    let (Some(email), Some(settings)) = (email, settings) else { return Err(ApiError::validation(errors)) };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let password_hash = match &owner.password {
        Some(p) => Some(state.hasher.hash(p).await?),
        None => None,
    };
    let status = if password_hash.is_some() { UserStatus::Active } else { UserStatus::Pending };

    Ok(PreparedTenant {
        tenant: NewTenant { name: input.name.trim().to_owned(), slug, domain, plan, settings },
        owner: NewUser {
            email,
            username,
            password_hash,
            first_name: owner.first_name.clone(),
            last_name: owner.last_name.clone(),
            status,
        },
    })
}

/// Writes a prepared tenant, its system roles and its owner (invited when
/// without a password) in `tx`.
pub async fn insert_prepared(
    state: &AppState,
    tx: &mut dyn Tx,
    prepared: PreparedTenant,
    assigned_by: Option<Uuid>,
) -> Result<(Tenant, azth_core::model::User), ApiError> {
    let tenant = tx.insert_tenant(&prepared.tenant).await?;
    let user = tx.insert_user(tenant.id, &prepared.owner).await.map_err(|e| match e {
        StoreError::Conflict { field } => ApiError::conflict(field.map(|f| format!("owner.{f}"))),
        other => other.into(),
    })?;
    if !tx.assign_role_by_name(tenant.id, user.id, "owner", assigned_by).await? {
        return Err(ApiError::internal("a new tenant has no owner role"));
    }
    if user.status == UserStatus::Pending {
        invite(state, tx, &tenant, &user).await?;
    }
    Ok((tenant, user))
}

fn not_system(tenant: &Tenant, what: &str) -> Result<(), ApiError> {
    if tenant.slug == SYSTEM_TENANT_SLUG {
        let mut err = ApiError::conflict(None);
        err.detail = Some(format!("the system tenant cannot be {what}"));
        return Err(err);
    }
    Ok(())
}

/// Changes a tenant (settings are merged).
pub async fn patch(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    id: Uuid,
    input: PatchInput,
) -> Result<Tenant, ApiError> {
    access::require(state, principal, "tenants:update").await?;
    let mut tx = operator_tx(state, meta, principal, "operators change tenants").await?;
    let current = tx
        .tenant_by_id(id)
        .await?
        .filter(|t| t.deleted_at.is_none())
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound))?;
    let patch = check_patch(&current, input)?;
    let tenant = tx.update_tenant(id, &patch).await?.ok_or(StoreError::NotFound)?;
    tx.insert_audit(&operator_record(meta, principal, "tenants.updated", id, json!({}))).await?;
    tx.commit().await?;
    tenancy::invalidate(state, &current).await;
    tenancy::invalidate(state, &tenant).await;
    Ok(tenant)
}

/// Suspends or reactivates a tenant; a suspended tenant's tokens stop at once.
pub async fn set_status(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    id: Uuid,
    status: TenantStatus,
) -> Result<Tenant, ApiError> {
    access::require(state, principal, "tenants:update").await?;
    let mut tx = operator_tx(state, meta, principal, "operators suspend and activate tenants").await?;
    let (tenant, action) = apply_status(tx.as_mut(), id, status).await?;
    tx.insert_audit(&operator_record(meta, principal, action, id, json!({}))).await?;
    tx.commit().await?;
    tenancy::invalidate(state, &tenant).await;
    Ok(tenant)
}

/// Suspends or activates a live tenant in `tx` (the system tenant cannot be
/// suspended); returns it with the audit action to record. The caller
/// writes the audit row, commits, then invalidates the cached tenant.
pub async fn apply_status(tx: &mut dyn Tx, id: Uuid, status: TenantStatus) -> Result<(Tenant, &'static str), ApiError> {
    let current = tx
        .tenant_by_id(id)
        .await?
        .filter(|t| t.deleted_at.is_none())
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound))?;
    if status == TenantStatus::Suspended {
        not_system(&current, "suspended")?;
    }
    let tenant = tx.set_tenant_status(id, status).await?.ok_or(StoreError::NotFound)?;
    let action = match status {
        TenantStatus::Suspended => "tenants.suspended",
        TenantStatus::Active => "tenants.activated",
    };
    Ok((tenant, action))
}

/// Soft-deletes a tenant; its tokens become invalid at once.
pub async fn delete(state: &AppState, meta: &RequestMeta, principal: &Principal, id: Uuid) -> Result<(), ApiError> {
    access::require(state, principal, "tenants:delete").await?;
    let mut tx = operator_tx(state, meta, principal, "operators delete tenants").await?;
    let current = tx
        .tenant_by_id(id)
        .await?
        .filter(|t| t.deleted_at.is_none())
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound))?;
    not_system(&current, "deleted")?;
    let tenant = tx.soft_delete_tenant(id).await?.ok_or(StoreError::NotFound)?;
    tx.insert_audit(&operator_record(meta, principal, "tenants.deleted", id, json!({"slug": tenant.slug}))).await?;
    tx.commit().await?;
    tenancy::invalidate(state, &tenant).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(check_slug("acme-2").is_ok());
        for bad in ["ab", "Acme", "-acme", "acme-", "a_b", &"a".repeat(64), "system", "api", "admin", "www", "auth"] {
            assert!(check_slug(bad).is_err(), "{bad}");
        }
        assert!(check_slug("3f2504e0-4f89-11d3-9a0c-0305e82c3301").is_err());
    }

    #[test]
    fn settings_merge() {
        let current = TenantSettings::default();
        let merged = merge_settings(&current, &json!({"lockout_minutes": 30})).unwrap();
        assert_eq!(merged["lockout_minutes"], 30);
        assert_eq!(merged["max_login_attempts"], 5);
        let errors =
            merge_settings(&current, &json!({"nope": 1, "mfa_required": "yes", "lockout_minutes": 0})).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"settings.nope") && fields.contains(&"settings.mfa_required"), "{fields:?}");
        let errors = merge_settings(&current, &json!({"lockout_minutes": 0})).unwrap_err();
        assert_eq!(errors[0].field, "settings.lockout_minutes");
        assert!(merge_settings(&current, &json!([])).is_err());
    }
}
