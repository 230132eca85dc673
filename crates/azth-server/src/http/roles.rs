//! `/api/v1/roles`, `/api/v1/permissions` and `/api/v1/authz/check`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use azth_core::rbac::{Permission, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::admin_users::created;
use super::error::ApiError;
use super::extract::{Auth, Meta, double_option};
use super::json::ApiJson;
use super::openapi::{AuthErrors, AuthTenantHeader, BodyErrors, ConflictError, CsrfHeader, PageQuery, QueryErrors};
use super::query::{Params, path_id};
use crate::services::page::Page;
use crate::services::roles;
use crate::state::AppState;

/// Routes of roles, the catalog and authorization checks.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, patch, delete_one))
        .routes(routes!(permissions, set_permissions))
        .routes(routes!(catalog))
        .routes(routes!(check))
}

/// The tenant's roles (roles:read).
#[utoipa::path(
    get,
    operation_id = "roles_list",
    path = "/roles",
    tag = "roles",
    params(PageQuery, AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "A page of roles", body = Page<Role>), AuthErrors, QueryErrors)
)]
async fn list(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    params: Params,
) -> Result<Json<Page<Role>>, ApiError> {
    Ok(Json(roles::list(&state, &meta, &principal, params.page()?).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateRole {
    /// 1–100 characters, not blank, no control characters; not a system role's name (409).
    #[schema(pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$", max_length = 100)]
    name: String,
    #[schema(max_length = 1000)]
    description: Option<String>,
    /// Permission names (tenant scope, held by the caller), at most 100.
    #[serde(default)]
    #[schema(value_type = Vec<TenantPermission>, max_items = 100)]
    permissions: Vec<String>,
}

/// A tenant-scope permission name: what a tenant role can hold (system-scope names → 422, except in the
/// `system` tenant).
#[derive(ToSchema)]
#[allow(dead_code)] // describes permission lists of tenant roles
enum TenantPermission {
    #[serde(rename = "tenant:read")]
    TenantRead,
    #[serde(rename = "tenant:update")]
    TenantUpdate,
    #[serde(rename = "users:read")]
    UsersRead,
    #[serde(rename = "users:create")]
    UsersCreate,
    #[serde(rename = "users:update")]
    UsersUpdate,
    #[serde(rename = "users:delete")]
    UsersDelete,
    #[serde(rename = "roles:read")]
    RolesRead,
    #[serde(rename = "roles:create")]
    RolesCreate,
    #[serde(rename = "roles:update")]
    RolesUpdate,
    #[serde(rename = "roles:delete")]
    RolesDelete,
    #[serde(rename = "roles:assign")]
    RolesAssign,
    #[serde(rename = "permissions:read")]
    PermissionsRead,
    #[serde(rename = "sessions:read")]
    SessionsRead,
    #[serde(rename = "sessions:revoke")]
    SessionsRevoke,
    #[serde(rename = "audit:read")]
    AuditRead,
    #[serde(rename = "notifications:read")]
    NotificationsRead,
    #[serde(rename = "notifications:manage")]
    NotificationsManage,
}

/// Creates a role (roles:create).
#[utoipa::path(
    post,
    operation_id = "roles_create",
    path = "/roles",
    tag = "roles",
    params(CsrfHeader, AuthTenantHeader),
    request_body = CreateRole,
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 201, description = "Created (`Location` names it)", body = Role, headers(("Location" = String))), AuthErrors, BodyErrors, ConflictError)
)]
async fn create(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<CreateRole>,
) -> Result<Response, ApiError> {
    let input = roles::CreateInput { name: body.name, description: body.description, permissions: body.permissions };
    let role = roles::create(&state, &meta, &principal, input).await?;
    created(format!("/api/v1/roles/{}", role.id), role)
}

/// A role (roles:read).
#[utoipa::path(
    get,
    operation_id = "roles_get_one",
    path = "/roles/{id}",
    tag = "roles",
    params(("id" = Uuid, Path, description = "Role id"), AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "The role", body = Role), AuthErrors)
)]
async fn get_one(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<Role>, ApiError> {
    Ok(Json(roles::get(&state, &meta, &principal, path_id(&id)?).await?))
}

/// Absent fields are left alone; `null` clears the description.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatchRole {
    #[schema(pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$", max_length = 100)]
    name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 1000)]
    description: Option<Option<String>>,
}

/// Renames or describes a role (roles:update); system roles cannot be renamed.
#[utoipa::path(
    patch,
    operation_id = "roles_patch",
    path = "/roles/{id}",
    tag = "roles",
    params(CsrfHeader, ("id" = Uuid, Path, description = "Role id"), AuthTenantHeader),
    request_body = PatchRole,
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "The updated role", body = Role), AuthErrors, BodyErrors, ConflictError)
)]
async fn patch(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PatchRole>,
) -> Result<Json<Role>, ApiError> {
    Ok(Json(roles::patch(&state, &meta, &principal, path_id(&id)?, body.name, body.description).await?))
}

/// Deletes a role (roles:delete); system roles cannot be deleted.
#[utoipa::path(
    delete,
    operation_id = "roles_delete_one",
    path = "/roles/{id}",
    tag = "roles",
    params(CsrfHeader, ("id" = Uuid, Path, description = "Role id"), AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 204, description = "Deleted"), AuthErrors, ConflictError)
)]
async fn delete_one(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    roles::delete(&state, &meta, &principal, path_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The permission names of a role (roles:read).
#[utoipa::path(
    get,
    operation_id = "roles_permissions",
    path = "/roles/{id}/permissions",
    tag = "roles",
    params(("id" = Uuid, Path, description = "Role id"), PageQuery, AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "A page of permission names", body = Page<String>), AuthErrors, QueryErrors)
)]
async fn permissions(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Page<String>>, ApiError> {
    Ok(Json(roles::permissions(&state, &meta, &principal, path_id(&id)?, params.page()?).await?))
}

/// A role's permission names.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PermissionSet {
    #[schema(value_type = Vec<TenantPermission>, max_items = 100, example = json!(["users:read", "roles:read"]))]
    permissions: Vec<String>,
}

/// Replaces the permissions of a role (roles:update; never beyond the caller's own, never system scope).
#[utoipa::path(
    put,
    operation_id = "roles_set_permissions",
    path = "/roles/{id}/permissions",
    tag = "roles",
    params(CsrfHeader, ("id" = Uuid, Path, description = "Role id"), AuthTenantHeader),
    request_body = PermissionSet,
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "The new set", body = PermissionSet), AuthErrors, BodyErrors, ConflictError)
)]
async fn set_permissions(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PermissionSet>,
) -> Result<Json<PermissionSet>, ApiError> {
    let permissions = roles::set_permissions(&state, &meta, &principal, path_id(&id)?, body.permissions).await?;
    Ok(Json(PermissionSet { permissions }))
}

/// The permission catalog (permissions:read).
#[utoipa::path(
    get,
    operation_id = "roles_catalog",
    path = "/permissions",
    tag = "roles",
    params(PageQuery, AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "A page of permissions", body = Page<Permission>), AuthErrors, QueryErrors)
)]
async fn catalog(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    params: Params,
) -> Result<Json<Page<Permission>>, ApiError> {
    Ok(Json(roles::catalog(&state, &meta, &principal, params.page()?).await?))
}

/// `permission` and/or `permissions`; `user_id` checks another user (needs roles:read).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckRequest {
    permission: Option<String>,
    permissions: Option<Vec<String>>,
    user_id: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
struct CheckResponse {
    /// True when every listed permission is held.
    allowed: bool,
    /// Each name → held (unknown names are false).
    results: BTreeMap<String, bool>,
}

/// Checks permissions of the caller, or of `user_id`.
#[utoipa::path(
    post,
    operation_id = "roles_check",
    path = "/authz/check",
    tag = "roles",
    params(CsrfHeader, AuthTenantHeader),
    request_body = CheckRequest,
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "The verdict", body = CheckResponse), AuthErrors, BodyErrors)
)]
async fn check(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<CheckRequest>,
) -> Result<Json<CheckResponse>, ApiError> {
    let mut names: Vec<String> = body.permissions.unwrap_or_default();
    names.extend(body.permission);
    let (allowed, results) = roles::check(&state, &meta, &principal, names, body.user_id).await?;
    Ok(Json(CheckResponse { allowed, results }))
}
