//! `/api/v1/tenant` (the caller's tenant) and `/api/v1/tenants` (every
//! tenant, for operators of the system tenant).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use azth_core::model::{Tenant, TenantStatus, User};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::admin_users::NoBody;
use super::admin_users::created;
use super::error::ApiError;
use super::extract::{Auth, Meta, OptionalJson, double_option};
use super::json::ApiJson;
use super::openapi::{AuthErrors, AuthTenantHeader, BodyErrors, ConflictError, CsrfHeader, PageQuery, QueryErrors};
use super::query::{Params, path_id};
use crate::services::page::Page;
use crate::services::tenants;
use crate::state::AppState;

/// Routes of `/tenant` and `/tenants`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_own, patch_own))
        .routes(routes!(list, create))
        .routes(routes!(get_one, patch, delete_one))
        .routes(routes!(suspend))
        .routes(routes!(activate))
}

/// The filters of `GET /tenants` (read by `Params`; this type describes them).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct TenantFilters {
    /// Prefix of the name or slug.
    q: Option<String>,
    status: Option<TenantStatus>,
}

/// A settings patch (API.md "Tenant settings"): the keys given are merged
/// into the current settings, `null` resets a key to its default, unknown
/// keys are refused (422).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // describes the `settings` of tenant create and patch bodies
struct SettingsPatch {
    allow_registration: Option<bool>,
    require_verified_email: Option<bool>,
    #[schema(minimum = 8, maximum = 128)]
    password_min_length: Option<u32>,
    #[schema(minimum = 3, maximum = 100)]
    max_login_attempts: Option<u32>,
    #[schema(minimum = 1, maximum = 1440)]
    lockout_minutes: Option<u32>,
    #[schema(minimum = 60, maximum = 86400)]
    access_token_ttl_seconds: Option<u32>,
    #[schema(minimum = 1, maximum = 365)]
    refresh_token_ttl_days: Option<u32>,
    #[schema(minimum = 5, maximum = 525600)]
    session_idle_timeout_minutes: Option<u32>,
    mfa_required: Option<bool>,
    #[schema(minimum = 1, maximum = 100)]
    otp_send_per_hour: Option<u32>,
    #[schema(minimum = 0, maximum = 1000000)]
    sms_daily_limit: Option<u32>,
}

/// The caller's tenant (tenant:read).
#[utoipa::path(
    get,
    operation_id = "tenants_get_own",
    path = "/tenant",
    tag = "tenants",
    params(AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "The tenant", body = Tenant), AuthErrors)
)]
async fn get_own(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
) -> Result<Json<Tenant>, ApiError> {
    Ok(Json(tenants::get_own(&state, &meta, &principal).await?))
}

/// `settings` is merged into the current settings.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatchOwn {
    /// 1–255 characters, not blank, no control characters.
    #[schema(pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$", max_length = 255)]
    name: Option<String>,
    #[schema(value_type = Option<SettingsPatch>)]
    settings: Option<serde_json::Value>,
}

/// Edits the caller's tenant (tenant:update); `settings` are merged.
#[utoipa::path(
    patch,
    operation_id = "tenants_patch_own",
    path = "/tenant",
    tag = "tenants",
    params(CsrfHeader, AuthTenantHeader),
    request_body = PatchOwn,
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "The updated tenant", body = Tenant), AuthErrors, BodyErrors)
)]
async fn patch_own(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<PatchOwn>,
) -> Result<Json<Tenant>, ApiError> {
    Ok(Json(tenants::patch_own(&state, &meta, &principal, body.name, body.settings).await?))
}

/// Every tenant (system scope, tenants:read).
#[utoipa::path(
    get,
    operation_id = "tenants_list",
    path = "/tenants",
    tag = "tenants",
    params(TenantFilters, PageQuery, AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "A page of tenants", body = Page<Tenant>), AuthErrors, QueryErrors)
)]
async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> Result<Json<Page<Tenant>>, ApiError> {
    let status = params.parsed("status", TenantStatus::parse, "one of active, suspended")?;
    let q = params.get("q").map(str::to_owned);
    Ok(Json(tenants::list(&state, &principal, q, status, params.page()?).await?))
}

/// The first owner; without a password they are `pending` and invited.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OwnerRequest {
    email: String,
    #[schema(value_type = Option<String>, format = Password)]
    password: Option<SecretString>,
    username: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateTenant {
    name: String,
    slug: String,
    /// Matched against `Host` to resolve the tenant of unauthenticated requests.
    domain: Option<String>,
    plan: Option<String>,
    #[schema(value_type = Option<SettingsPatch>)]
    settings: Option<serde_json::Value>,
    owner: OwnerRequest,
}

/// The created tenant, with its first owner.
#[derive(Serialize, ToSchema)]
#[schema(as = CreatedTenant)]
struct Created {
    #[serde(flatten)]
    tenant: Tenant,
    owner: User,
}

/// Creates a tenant with its system roles and first owner (system scope, tenants:create).
#[utoipa::path(
    post,
    operation_id = "tenants_create",
    path = "/tenants",
    tag = "tenants",
    params(CsrfHeader, AuthTenantHeader),
    request_body = CreateTenant,
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 201, description = "Created (`Location` names it)", body = Created, headers(("Location" = String))), AuthErrors, BodyErrors, ConflictError)
)]
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

/// A tenant (system scope, tenants:read).
#[utoipa::path(
    get,
    operation_id = "tenants_get_one",
    path = "/tenants/{id}",
    tag = "tenants",
    params(("id" = Uuid, Path, description = "Tenant id"), AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "The tenant", body = Tenant), AuthErrors)
)]
async fn get_one(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<Tenant>, ApiError> {
    Ok(Json(tenants::get(&state, &principal, path_id(&id)?).await?))
}

/// Absent fields are left alone; `null` clears the domain; `settings` are merged.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatchTenant {
    name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    domain: Option<Option<String>>,
    plan: Option<String>,
    #[schema(value_type = Option<SettingsPatch>)]
    settings: Option<serde_json::Value>,
}

/// Edits a tenant (system scope, tenants:update).
#[utoipa::path(
    patch,
    operation_id = "tenants_patch",
    path = "/tenants/{id}",
    tag = "tenants",
    params(CsrfHeader, ("id" = Uuid, Path, description = "Tenant id"), AuthTenantHeader),
    request_body = PatchTenant,
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "The updated tenant", body = Tenant), AuthErrors, BodyErrors, ConflictError)
)]
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

/// Soft-deletes a tenant (system scope, tenants:delete).
#[utoipa::path(
    delete,
    operation_id = "tenants_delete_one",
    path = "/tenants/{id}",
    tag = "tenants",
    params(CsrfHeader, ("id" = Uuid, Path, description = "Tenant id"), AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 204, description = "Deleted"), AuthErrors, ConflictError)
)]
async fn delete_one(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    tenants::delete(&state, &meta, &principal, path_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Suspends a tenant: its users' requests answer 403 `TENANT_SUSPENDED` (tenants:update).
#[utoipa::path(
    post,
    operation_id = "tenants_suspend",
    path = "/tenants/{id}/suspend",
    tag = "tenants",
    params(CsrfHeader, ("id" = Uuid, Path, description = "Tenant id"), AuthTenantHeader),
    request_body(content = Option<NoBody>, description = "None; an empty body is accepted"),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "The tenant", body = Tenant), AuthErrors, BodyErrors, ConflictError)
)]
async fn suspend(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
    OptionalJson(_body): OptionalJson<NoBody>,
) -> Result<Json<Tenant>, ApiError> {
    Ok(Json(tenants::set_status(&state, &meta, &principal, path_id(&id)?, TenantStatus::Suspended).await?))
}

/// Activates a suspended tenant (tenants:update).
#[utoipa::path(
    post,
    operation_id = "tenants_activate",
    path = "/tenants/{id}/activate",
    tag = "tenants",
    params(CsrfHeader, ("id" = Uuid, Path, description = "Tenant id"), AuthTenantHeader),
    request_body(content = Option<NoBody>, description = "None; an empty body is accepted"),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "The tenant", body = Tenant), AuthErrors, BodyErrors)
)]
async fn activate(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
    OptionalJson(_body): OptionalJson<NoBody>,
) -> Result<Json<Tenant>, ApiError> {
    Ok(Json(tenants::set_status(&state, &meta, &principal, path_id(&id)?, TenantStatus::Active).await?))
}
