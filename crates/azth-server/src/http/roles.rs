//! `/api/v1/roles`, `/api/v1/permissions` and `/api/v1/authz/check`.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use azth_core::rbac::{Permission, Role};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::admin_users::created;
use super::error::ApiError;
use super::extract::{Auth, Meta, double_option};
use super::json::ApiJson;
use super::query::{Params, path_id};
use crate::services::page::Page;
use crate::services::roles;
use crate::state::AppState;

/// Routes of roles, the catalog and authorization checks.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/roles", get(list).post(create))
        .route("/roles/{id}", get(get_one).patch(patch).delete(delete_one))
        .route("/roles/{id}/permissions", get(permissions).put(set_permissions))
        .route("/permissions", get(catalog))
        .route("/authz/check", post(check))
}

async fn list(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    params: Params,
) -> Result<Json<Page<Role>>, ApiError> {
    Ok(Json(roles::list(&state, &meta, &principal, params.page()?).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRole {
    name: String,
    description: Option<String>,
    #[serde(default)]
    permissions: Vec<String>,
}

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

async fn get_one(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<Role>, ApiError> {
    Ok(Json(roles::get(&state, &meta, &principal, path_id(&id)?).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchRole {
    name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    description: Option<Option<String>>,
}

async fn patch(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PatchRole>,
) -> Result<Json<Role>, ApiError> {
    Ok(Json(roles::patch(&state, &meta, &principal, path_id(&id)?, body.name, body.description).await?))
}

async fn delete_one(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    roles::delete(&state, &meta, &principal, path_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn permissions(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Page<String>>, ApiError> {
    Ok(Json(roles::permissions(&state, &meta, &principal, path_id(&id)?, params.page()?).await?))
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct PermissionSet {
    permissions: Vec<String>,
}

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

async fn catalog(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    params: Params,
) -> Result<Json<Page<Permission>>, ApiError> {
    Ok(Json(roles::catalog(&state, &meta, &principal, params.page()?).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckRequest {
    permission: Option<String>,
    permissions: Option<Vec<String>>,
    user_id: Option<Uuid>,
}

#[derive(Serialize)]
struct CheckResponse {
    allowed: bool,
    results: BTreeMap<String, bool>,
}

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
