//! `/api/v1/tenant` (the caller's tenant) and `/api/v1/tenants` (every
//! tenant, for operators of the system tenant).

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use azth_core::model::{Tenant, TenantStatus, User};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::admin_users::created;
use super::error::ApiError;
use super::extract::{Auth, Meta, OptionalJson, double_option};
use super::json::ApiJson;
use super::query::{Params, path_id};
use crate::services::page::Page;
use crate::services::tenants;
use crate::state::AppState;

/// Routes of `/tenant` and `/tenants`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tenant", get(get_own).patch(patch_own))
        .route("/tenants", get(list).post(create))
        .route("/tenants/{id}", get(get_one).patch(patch).delete(delete_one))
        .route("/tenants/{id}/suspend", post(suspend))
        .route("/tenants/{id}/activate", post(activate))
}

async fn get_own(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
) -> Result<Json<Tenant>, ApiError> {
    Ok(Json(tenants::get_own(&state, &meta, &principal).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchOwn {
    name: Option<String>,
    settings: Option<serde_json::Value>,
}

async fn patch_own(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<PatchOwn>,
) -> Result<Json<Tenant>, ApiError> {
    Ok(Json(tenants::patch_own(&state, &meta, &principal, body.name, body.settings).await?))
}

async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> Result<Json<Page<Tenant>>, ApiError> {
    let status = params.parsed("status", TenantStatus::parse, "one of active, suspended")?;
    let q = params.get("q").map(str::to_owned);
    Ok(Json(tenants::list(&state, &principal, q, status, params.page()?).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnerRequest {
    email: String,
    password: Option<SecretString>,
    username: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTenant {
    name: String,
    slug: String,
    domain: Option<String>,
    plan: Option<String>,
    settings: Option<serde_json::Value>,
    owner: OwnerRequest,
}

/// The created tenant, with its first owner.
#[derive(Serialize)]
struct Created {
    #[serde(flatten)]
    tenant: Tenant,
    owner: User,
}

async fn create(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<CreateTenant>,
) -> Result<Response, ApiError> {
    let input = tenants::CreateInput {
        name: body.name,
        slug: body.slug,
        domain: body.domain,
        plan: body.plan,
        settings: body.settings,
        owner: tenants::OwnerInput {
            email: body.owner.email,
            password: body.owner.password,
            username: body.owner.username,
            first_name: body.owner.first_name,
            last_name: body.owner.last_name,
        },
    };
    let (tenant, owner) = tenants::create(&state, &meta, &principal, input).await?;
    created(format!("/api/v1/tenants/{}", tenant.id), Created { tenant, owner })
}

async fn get_one(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<Tenant>, ApiError> {
    Ok(Json(tenants::get(&state, &principal, path_id(&id)?).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchTenant {
    name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    domain: Option<Option<String>>,
    plan: Option<String>,
    settings: Option<serde_json::Value>,
}

async fn patch(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PatchTenant>,
) -> Result<Json<Tenant>, ApiError> {
    let input = tenants::PatchInput { name: body.name, domain: body.domain, plan: body.plan, settings: body.settings };
    Ok(Json(tenants::patch(&state, &meta, &principal, path_id(&id)?, input).await?))
}

async fn delete_one(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    tenants::delete(&state, &meta, &principal, path_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoBody {}

async fn suspend(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
    OptionalJson(_body): OptionalJson<NoBody>,
) -> Result<Json<Tenant>, ApiError> {
    Ok(Json(tenants::set_status(&state, &meta, &principal, path_id(&id)?, TenantStatus::Suspended).await?))
}

async fn activate(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
    OptionalJson(_body): OptionalJson<NoBody>,
) -> Result<Json<Tenant>, ApiError> {
    Ok(Json(tenants::set_status(&state, &meta, &principal, path_id(&id)?, TenantStatus::Active).await?))
}
