//! Authorization: what a (tenant, user) may do, resolved from the database
//! and cached in the shared cache (Redis in production) so every admin
//! request checks it without a query, yet a revoked permission denies on the
//! very next request on every node.
//!
//! Cache design: each entry `perms:{tenant}:{user}` is stamped with the
//! tenant's current *generation* (`perms:gen:{tenant}`, a random value).
//! Every change that can alter anyone's permissions in a tenant (role
//! edits, assignments, role deletion, user status and deletion) replaces the
//! generation after its commit, which orphans every entry of the tenant at
//! once. A reader reads the generation *before* the database, so an entry
//! computed from pre-change data always carries a pre-change generation.
//! Entries live at most [`TTL`] and never past the earliest assignment
//! expiry they counted (the expiry is stored in the entry and checked on
//! read too), so an expired assignment grants nothing even when cached.
//! When the cache fails, the database answers (fail closed to the truth).

use std::time::Duration;

use azth_core::model::{AuditEvent, SYSTEM_TENANT_SLUG, Tenant};
use azth_core::rbac::EffectiveAccess;
use azth_core::{Actor, AuditContext, ErrorCode};
use azth_store::{AuditRecord, Tx};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Principal, RequestMeta, tenancy};
use crate::http::ApiError;
use crate::state::AppState;

/// Longest time a resolved permission set is trusted.
pub const TTL: Duration = Duration::from_secs(300);
/// Life of a generation marker: far longer than any entry.
const GENERATION_TTL: Duration = Duration::from_secs(7 * 86_400);

fn generation_key(tenant: Uuid) -> String {
    format!("perms:gen:{tenant}")
}

fn entry_key(tenant: Uuid, user: Uuid) -> String {
    format!("perms:{tenant}:{user}")
}

#[derive(Serialize, Deserialize)]
struct Entry {
    g: String,
    a: EffectiveAccess,
}

/// The effective access of `user` in `tenant`, from the cache when fresh.
pub async fn effective(state: &AppState, tenant: Uuid, user: Uuid) -> Result<EffectiveAccess, ApiError> {
    let now = Utc::now();
    // The generation is read before the database (see the module docs),
    // together with the entry: one round trip (Redis MGET), and an entry
    // read at the same instant as the generation is judged by it correctly.
    let (gen_key, key) = (generation_key(tenant), entry_key(tenant, user));
    let (generation, cached) = match state.cache.get_many(&[&gen_key, &key]).await {
        Ok(mut values) => {
            let cached = values.pop().flatten();
            (Some(values.pop().flatten().unwrap_or_else(|| "0".to_owned())), cached)
        }
        Err(e) => {
            tracing::warn!(error = %e, "permission cache unavailable; resolving from the database");
            (None, None)
        }
    };
    if let Some(g) = &generation
        && let Some(json) = cached
        && let Ok(entry) = serde_json::from_str::<Entry>(&json)
        && entry.g == *g
        && entry.a.next_expiry.is_none_or(|at| at > now)
    {
        return Ok(entry.a);
    }
    let mut tx = state.store.tenant(&AuditContext::new(tenant, Actor::User(user))).await?;
    let access = tx.effective_access(tenant, user).await?;
    tx.commit().await?;
    if let Some(g) = generation {
        let ttl = match access.next_expiry {
            Some(at) => (at - Utc::now()).to_std().unwrap_or_default().min(TTL),
            None => TTL,
        };
        if ttl >= Duration::from_secs(1)
            && let Ok(json) = serde_json::to_string(&Entry { g, a: access.clone() })
        {
            let _ = state.cache.set_ex(&key, &json, ttl).await;
        }
    }
    Ok(access)
}

/// Forgets every cached permission set of `tenant` (call after the commit
/// of any change that may alter what someone in it may do).
pub async fn invalidate(state: &AppState, tenant: Uuid) {
    let generation = Uuid::new_v4().simple().to_string();
    if let Err(e) = state.cache.set_ex(&generation_key(tenant), &generation, GENERATION_TTL).await {
        // Entries expire within TTL anyway; say loudly that they may linger.
        tracing::error!(error = %e, %tenant, "could not invalidate cached permissions");
    }
}

/// The caller's effective access (resolved in the caller's own tenant: an
/// operator acting in another tenant brings the permissions of home).
pub async fn of_principal(state: &AppState, principal: &Principal) -> Result<EffectiveAccess, ApiError> {
    effective(state, principal.tenant.id, principal.user_id).await
}

/// Refuses with 403 FORBIDDEN unless the caller holds `permission`. Every
/// administration endpoint calls this first.
pub async fn require(state: &AppState, principal: &Principal, permission: &str) -> Result<EffectiveAccess, ApiError> {
    let access = of_principal(state, principal).await?;
    if access.has(permission) {
        return Ok(access);
    }
    tracing::info!(target: "azth::security", tenant = %principal.acting.id, user = %principal.user_id,
        permission, "permission denied");
    Err(ApiError::new(ErrorCode::Forbidden).with_detail(format!("this needs the {permission} permission")))
}

/// Refuses with 403 FORBIDDEN unless the caller holds every one of `wanted`
/// (nobody grants what they do not hold).
pub fn require_all<'a>(access: &EffectiveAccess, wanted: impl IntoIterator<Item = &'a String>) -> Result<(), ApiError> {
    let missing: Vec<&str> = wanted.into_iter().filter(|p| !access.has(p)).map(String::as_str).collect();
    if missing.is_empty() {
        return Ok(());
    }
    tracing::info!(target: "azth::security", ?missing, "escalation refused");
    Err(ApiError::new(ErrorCode::Forbidden)
        .with_detail(format!("you cannot grant permissions you do not hold: {}", missing.join(", "))))
}

/// The tenant an authenticated request acts in. No `X-Tenant-ID`, or one
/// naming the credential's own tenant: that tenant. Another tenant: only for
/// system principals (users of the `system` tenant holding a system-scope
/// permission), else 403 TENANT_MISMATCH.
pub async fn acting_tenant(
    state: &AppState,
    header: Option<&str>,
    home: &Tenant,
    user: Uuid,
) -> Result<Tenant, ApiError> {
    let Some(value) = header.map(str::trim) else { return Ok(home.clone()) };
    let same = match Uuid::parse_str(value) {
        Ok(id) => id == home.id,
        Err(_) => value == home.slug,
    };
    if same {
        return Ok(home.clone());
    }
    let named = tenancy::named(state, value).await?;
    if named.as_ref().is_some_and(|t| t.id == home.id) {
        return Ok(home.clone());
    }
    let system_principal = home.slug == SYSTEM_TENANT_SLUG && effective(state, home.id, user).await?.system_scope;
    if !system_principal {
        return Err(ApiError::new(ErrorCode::TenantMismatch));
    }
    let Some(tenant) = named else { return Err(ApiError::new(ErrorCode::TenantNotFound)) };
    let tenant = tenancy::usable(tenant)?;
    tracing::info!(target: "azth::security", operator = %user, tenant = %tenant.id, "system override");
    Ok(tenant)
}

/// Opens the transaction of an administrative change: in the acting tenant,
/// on behalf of the caller, so RLS scopes it and the audit trigger records
/// the acted-in tenant and the operator.
pub async fn admin_tx(state: &AppState, meta: &RequestMeta, principal: &Principal) -> Result<Box<dyn Tx>, ApiError> {
    Ok(state.store.tenant(&meta.audit_ctx(principal.acting.id, Actor::User(principal.user_id))).await?)
}

/// An application audit row for an administrative change, in the acting
/// tenant by the caller; under the system override it also names the
/// operator's own tenant, so the trail records both.
pub fn admin_record(
    meta: &RequestMeta,
    principal: &Principal,
    action: &'static str,
    resource_type: &'static str,
    resource_id: Option<Uuid>,
    details: serde_json::Value,
) -> AuditRecord {
    let mut details = details;
    if principal.acting.id != principal.tenant.id
        && let Some(map) = details.as_object_mut()
    {
        map.insert("operator_tenant_id".into(), serde_json::Value::String(principal.tenant.id.to_string()));
    }
    let details = match &details {
        serde_json::Value::Object(m) if m.is_empty() => None,
        _ => Some(details),
    };
    meta.record(
        principal.acting.id,
        Some(principal.user_id),
        AuditEvent { action, resource_type, resource_id, details },
    )
}
