//! Roles, their permissions, assignments and authorization checks (API.md
//! "Administration" and "Authorization").
//!
//! Rules: system roles cannot be deleted or renamed and no role may take
//! their names (409); a role of an ordinary tenant never holds a
//! system-scope permission (422, checked before escalation); nobody puts on
//! a role, or assigns, permissions they do not hold (403).

use std::collections::BTreeMap;

use azth_core::model::SYSTEM_TENANT_SLUG;
use azth_core::rbac::{
    Assignment, OWNER_ROLE, Permission, PermissionScope, Role, check_role_name, is_system_role_name,
};
use azth_core::{ErrorCode, FieldError};
use azth_store::Tx;
use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::access::{self, admin_record, admin_tx};
use super::admin_users::ensure_other_owner;
use super::page::{Page, PageParams};
use super::{Principal, RequestMeta};
use crate::http::ApiError;
use crate::state::AppState;

/// Most permissions one request may name.
const MAX_NAMES: usize = 100;

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound)
}

fn name_conflict(detail: &str) -> ApiError {
    let mut err = ApiError::conflict(Some("name".into()));
    err.detail = Some(detail.to_owned());
    err
}

/// Lists the acting tenant's roles by name.
pub async fn list(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    page: PageParams,
) -> Result<Page<Role>, ApiError> {
    access::require(state, principal, "roles:read").await?;
    let after = page.after::<(String, Uuid)>("roles")?;
    let mut tx = admin_tx(state, meta, principal).await?;
    let rows = tx.list_roles(principal.acting.id, after, page.fetch()).await?;
    tx.commit().await?;
    Ok(Page::from_rows(rows, &page, "roles", |r| (r.name.clone(), r.id)))
}

/// One role of the acting tenant.
pub async fn get(state: &AppState, meta: &RequestMeta, principal: &Principal, id: Uuid) -> Result<Role, ApiError> {
    access::require(state, principal, "roles:read").await?;
    let mut tx = admin_tx(state, meta, principal).await?;
    let role = tx.role_by_id(principal.acting.id, id).await?;
    tx.commit().await?;
    role.ok_or_else(not_found)
}

/// Checks permission names against the catalog for a role of `principal.acting`:
/// unknown names and (outside the system tenant) system-scope ones → 422.
async fn check_names(
    tx: &mut dyn Tx,
    principal: &Principal,
    names: &[String],
    field: &str,
) -> Result<Vec<String>, ApiError> {
    if names.len() > MAX_NAMES {
        return Err(ApiError::validation(vec![FieldError::new(field, "too_long", "at most 100 permissions")]));
    }
    let catalog: BTreeMap<String, Permission> =
        tx.permission_catalog().await?.into_iter().map(|p| (p.name.clone(), p)).collect();
    let system_tenant = principal.acting.slug == SYSTEM_TENANT_SLUG;
    let mut errors = Vec::new();
    for (i, name) in names.iter().enumerate() {
        match catalog.get(name) {
            None => {
                errors.push(FieldError::new(format!("{field}[{i}]"), "unknown_permission", "is not a known permission"))
            }
            Some(p) if p.scope == PermissionScope::System && !system_tenant => errors.push(FieldError::new(
                format!("{field}[{i}]"),
                "system_scope",
                "a tenant role cannot hold a system-scope permission",
            )),
            Some(_) => {}
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let mut names = names.to_vec();
    names.sort();
    names.dedup();
    Ok(names)
}

/// What `POST /roles` takes.
pub struct CreateInput {
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<String>,
}

fn check_description(description: Option<&str>) -> Result<(), ApiError> {
    match description {
        Some(d) if d.chars().count() > 1000 => {
            Err(ApiError::validation(vec![FieldError::new("description", "too_long", "at most 1000 characters")]))
        }
        _ => Ok(()),
    }
}

/// Creates a role (optionally with permissions) in the acting tenant.
pub async fn create(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    input: CreateInput,
) -> Result<Role, ApiError> {
    let caller = access::require(state, principal, "roles:create").await?;
    let name = input.name.trim().to_owned();
    check_role_name(&name).map_err(|e| ApiError::validation(vec![e]))?;
    check_description(input.description.as_deref())?;
    if is_system_role_name(&name) {
        return Err(name_conflict("the name belongs to a system role"));
    }
    let tenant = principal.acting.id;
    let mut tx = admin_tx(state, meta, principal).await?;
    let permissions = check_names(tx.as_mut(), principal, &input.permissions, "permissions").await?;
    access::require_all(&caller, &permissions)?;
    let role = tx.insert_role(tenant, &name, input.description.as_deref()).await?;
    let granted = if permissions.is_empty() {
        Vec::new()
    } else {
        tx.set_role_permissions(tenant, role.id, &permissions).await?
    };
    tx.insert_audit(&admin_record(
        meta,
        principal,
        "roles.created",
        "roles",
        Some(role.id),
        json!({"name": name, "permissions": granted}),
    ))
    .await?;
    tx.commit().await?;
    Ok(Role { permissions: granted, ..role })
}

/// Renames or redescribes a role; system roles keep their names.
pub async fn patch(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    id: Uuid,
    name: Option<String>,
    description: Option<Option<String>>,
) -> Result<Role, ApiError> {
    access::require(state, principal, "roles:update").await?;
    let name = name.map(|n| n.trim().to_owned());
    if let Some(n) = &name {
        check_role_name(n).map_err(|e| ApiError::validation(vec![e]))?;
    }
    check_description(description.as_ref().and_then(|d| d.as_deref()))?;
    let tenant = principal.acting.id;
    let mut tx = admin_tx(state, meta, principal).await?;
    let role = tx.role_by_id(tenant, id).await?.ok_or_else(not_found)?;
    if let Some(n) = &name
        && *n != role.name
    {
        if role.is_system {
            return Err(name_conflict("system roles cannot be renamed"));
        }
        if is_system_role_name(n) {
            return Err(name_conflict("the name belongs to a system role"));
        }
    }
    let updated = tx
        .update_role(tenant, id, name.as_deref(), description.as_ref().map(|d| d.as_deref()))
        .await?
        .ok_or_else(not_found)?;
    tx.insert_audit(&admin_record(meta, principal, "roles.updated", "roles", Some(id), json!({"name": updated.name})))
        .await?;
    tx.commit().await?;
    Ok(updated)
}

/// Deletes a (non-system) role and its assignments.
pub async fn delete(state: &AppState, meta: &RequestMeta, principal: &Principal, id: Uuid) -> Result<(), ApiError> {
    access::require(state, principal, "roles:delete").await?;
    let tenant = principal.acting.id;
    let mut tx = admin_tx(state, meta, principal).await?;
    let role = tx.role_by_id(tenant, id).await?.ok_or_else(not_found)?;
    if role.is_system {
        let mut err = ApiError::conflict(None);
        err.detail = Some("system roles cannot be deleted".into());
        return Err(err);
    }
    tx.delete_role(tenant, id).await?;
    tx.insert_audit(&admin_record(meta, principal, "roles.deleted", "roles", Some(id), json!({"name": role.name})))
        .await?;
    tx.commit().await?;
    access::invalidate(state, tenant).await;
    Ok(())
}

/// The permission names of a role.
pub async fn permissions(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    id: Uuid,
    page: PageParams,
) -> Result<Page<String>, ApiError> {
    let role = get(state, meta, principal, id).await?;
    Page::from_sorted(role.permissions, &page, "role-permissions", false, Clone::clone)
}

/// Replaces a role's permissions atomically. System roles keep theirs
/// (409): the owner must always hold every tenant permission.
pub async fn set_permissions(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    id: Uuid,
    names: Vec<String>,
) -> Result<Vec<String>, ApiError> {
    let caller = access::require(state, principal, "roles:update").await?;
    let tenant = principal.acting.id;
    let mut tx = admin_tx(state, meta, principal).await?;
    let role = tx.role_by_id(tenant, id).await?.ok_or_else(not_found)?;
    // 422 before 403: a system-scope permission is refused whoever asks.
    let names = check_names(tx.as_mut(), principal, &names, "permissions").await?;
    let added: Vec<String> = names.iter().filter(|n| !role.permissions.contains(n)).cloned().collect();
    access::require_all(&caller, &added)?;
    if role.is_system {
        let mut err = ApiError::conflict(None);
        err.detail = Some("the permissions of system roles are fixed".into());
        return Err(err);
    }
    let granted = tx.set_role_permissions(tenant, id, &names).await?;
    tx.insert_audit(&admin_record(
        meta,
        principal,
        "roles.permissions.replaced",
        "roles",
        Some(id),
        json!({"permissions": granted}),
    ))
    .await?;
    tx.commit().await?;
    access::invalidate(state, tenant).await;
    Ok(granted)
}

/// The permission catalog.
pub async fn catalog(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    page: PageParams,
) -> Result<Page<Permission>, ApiError> {
    access::require(state, principal, "permissions:read").await?;
    let mut tx = admin_tx(state, meta, principal).await?;
    let all = tx.permission_catalog().await?;
    tx.commit().await?;
    Page::from_sorted(all, &page, "permissions", false, |p| p.name.clone())
}

/// A user's role assignments (expired ones included, with their expiry).
pub async fn assignments(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    user: Uuid,
    page: PageParams,
) -> Result<Page<Assignment>, ApiError> {
    access::require(state, principal, "roles:read").await?;
    let tenant = principal.acting.id;
    let mut tx = admin_tx(state, meta, principal).await?;
    tx.find_user(tenant, user, false).await?.ok_or_else(not_found)?;
    let all = tx.user_assignments(tenant, user).await?;
    tx.commit().await?;
    Page::from_sorted(all, &page, "user-roles", false, |a| (a.role_name.clone(), a.role_id))
}

/// Assigns a role, optionally until `expires_at`; re-assigning replaces the expiry.
pub async fn assign(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    user: Uuid,
    role_id: Uuid,
    expires_at: Option<DateTime<Utc>>,
) -> Result<Assignment, ApiError> {
    let caller = access::require(state, principal, "roles:assign").await?;
    if expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(ApiError::validation(vec![FieldError::new("expires_at", "in_past", "must be in the future")]));
    }
    let tenant = principal.acting.id;
    let mut tx = admin_tx(state, meta, principal).await?;
    tx.find_user(tenant, user, false).await?.ok_or_else(not_found)?;
    let role = tx.role_by_id(tenant, role_id).await?.ok_or_else(not_found)?;
    access::require_all(&caller, &role.permissions)?;
    if role.name == OWNER_ROLE && role.is_system && expires_at.is_some() {
        // Turning a permanent ownership into an expiring one may end the last owner later.
        ensure_other_owner(tx.as_mut(), tenant, user, Some("expires_at")).await?;
    }
    let assignment = tx.assign_role(tenant, user, role_id, Some(principal.user_id), expires_at).await?;
    tx.insert_audit(&admin_record(
        meta,
        principal,
        "roles.assigned",
        "users",
        Some(user),
        json!({"role_id": role_id, "role": role.name, "expires_at": expires_at}),
    ))
    .await?;
    tx.commit().await?;
    access::invalidate(state, tenant).await;
    Ok(assignment)
}

/// Removes an assignment; the last active owner keeps theirs (409).
pub async fn unassign(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    user: Uuid,
    role_id: Uuid,
) -> Result<(), ApiError> {
    access::require(state, principal, "roles:assign").await?;
    let tenant = principal.acting.id;
    let mut tx = admin_tx(state, meta, principal).await?;
    tx.find_user(tenant, user, false).await?.ok_or_else(not_found)?;
    let role = tx.role_by_id(tenant, role_id).await?.ok_or_else(not_found)?;
    if role.name == OWNER_ROLE && role.is_system {
        ensure_other_owner(tx.as_mut(), tenant, user, Some("role_id")).await?;
    }
    if !tx.unassign_role(tenant, user, role_id).await? {
        return Err(not_found());
    }
    tx.insert_audit(&admin_record(
        meta,
        principal,
        "roles.unassigned",
        "users",
        Some(user),
        json!({"role_id": role_id, "role": role.name}),
    ))
    .await?;
    tx.commit().await?;
    access::invalidate(state, tenant).await;
    Ok(())
}

/// A user's effective permissions (unexpired assignments only).
pub async fn effective_permissions(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    user: Uuid,
    page: PageParams,
) -> Result<Page<String>, ApiError> {
    access::require(state, principal, "roles:read").await?;
    let tenant = principal.acting.id;
    let mut tx = admin_tx(state, meta, principal).await?;
    tx.find_user(tenant, user, false).await?.ok_or_else(not_found)?;
    tx.commit().await?;
    let access = access::effective(state, tenant, user).await?;
    Page::from_sorted(access.permissions, &page, "user-permissions", false, Clone::clone)
}

/// `POST /authz/check`: whether the caller (or `user`, which needs
/// `roles:read`) holds every listed permission; unknown names are false.
pub async fn check(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    names: Vec<String>,
    user: Option<Uuid>,
) -> Result<(bool, BTreeMap<String, bool>), ApiError> {
    if names.is_empty() || names.len() > MAX_NAMES {
        return Err(ApiError::validation(vec![FieldError::new(
            "permissions",
            "invalid_length",
            "name between 1 and 100 permissions",
        )]));
    }
    let access = match user {
        None => access::of_principal(state, principal).await?,
        Some(user) => {
            access::require(state, principal, "roles:read").await?;
            let tenant = principal.acting.id;
            let mut tx = admin_tx(state, meta, principal).await?;
            let found = tx.find_user(tenant, user, false).await?;
            tx.commit().await?;
            found.ok_or_else(not_found)?;
            access::effective(state, tenant, user).await?
        }
    };
    let results: BTreeMap<String, bool> = names.into_iter().map(|n| (n.clone(), access.has(&n))).collect();
    Ok((results.values().all(|v| *v), results))
}
