//! `/api/v1/users`: users as administrators manage them, their sessions,
//! role assignments and effective permissions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use azth_core::model::{Session, User, UserStatus};
use azth_core::rbac::Assignment;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{Auth, Meta, OptionalJson, double_option};
use super::json::ApiJson;
use super::openapi::{AuthErrors, AuthTenantHeader, BodyErrors, ConflictError, CsrfHeader, PageQuery, QueryErrors};
use super::query::{Params, path_id};
use crate::services::page::Page;
use crate::services::{admin_users, roles};
use crate::state::AppState;

/// Routes under `/users`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, patch, delete_one))
        .routes(routes!(restore))
        .routes(routes!(unlock))
        .routes(routes!(sessions, revoke_sessions))
        .routes(routes!(revoke_session))
        .routes(routes!(user_roles, assign))
        .routes(routes!(unassign))
        .routes(routes!(user_permissions))
}

/// The filters of `GET /users` (read by `Params`; this type describes them).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct UserFilters {
    /// Case-insensitive prefix of email, username, first or last name.
    q: Option<String>,
    status: Option<UserStatus>,
    /// A role id or name.
    role: Option<String>,
    /// Include soft-deleted users (`true`/`false`).
    include_deleted: Option<bool>,
}

/// `include_deleted` of `GET /users/{id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct IncludeDeleted {
    /// Show a soft-deleted user too (`true`/`false`).
    include_deleted: Option<bool>,
}

/// 201 with `Location`.
pub fn created<T: Serialize>(location: String, body: T) -> Result<Response, ApiError> {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    response.headers_mut().insert(header::LOCATION, HeaderValue::from_str(&location).map_err(ApiError::internal)?);
    Ok(response)
}

/// Lists the tenant's users (users:read).
#[utoipa::path(
    get,
    operation_id = "users_list",
    path = "/users",
    tag = "users",
    params(UserFilters, PageQuery, AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "A page of users", body = Page<User>), AuthErrors, QueryErrors)
)]
async fn list(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    params: Params,
) -> Result<Json<Page<User>>, ApiError> {
    let input = admin_users::ListInput {
        q: params.get("q").map(str::to_owned),
        status: params.parsed("status", UserStatus::parse, "one of active, inactive, suspended, pending")?,
        role: params.get("role").map(str::to_owned),
        include_deleted: params.flag("include_deleted")?,
        page: params.page()?,
    };
    Ok(Json(admin_users::list(&state, &meta, &principal, input).await?))
}

/// Without a password the user is `pending` and gets an invitation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateUser {
    #[schema(
        pattern = r"^[\x21-\x3f\x41-\x7e]{1,64}@[\x21-\x2d\x2f-\x3f\x41-\x7e]+(\.[\x21-\x2d\x2f-\x3f\x41-\x7e]+)+$",
        max_length = 254
    )]
    email: String,
    #[schema(pattern = r"^\s*([A-Za-z0-9._-]{3,64})?\s*$")]
    username: Option<String>,
    /// The tenant's password policy applies (12–128 characters unless the tenant changed the minimum).
    #[schema(value_type = Option<String>, format = Password, min_length = 12, max_length = 128)]
    password: Option<SecretString>,
    #[schema(pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", max_length = 100)]
    first_name: Option<String>,
    #[schema(pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", max_length = 100)]
    last_name: Option<String>,
    /// `pending` exactly when there is no password (the default then); with one, not `pending`.
    status: Option<UserStatus>,
}

/// Creates a user (users:create).
#[utoipa::path(
    post,
    operation_id = "users_create",
    path = "/users",
    tag = "users",
    params(CsrfHeader, AuthTenantHeader),
    request_body = CreateUser,
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 201, description = "Created (`Location` names it)", body = User, headers(("Location" = String))), AuthErrors, BodyErrors, ConflictError)
)]
async fn create(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<Response, ApiError> {
    let input = admin_users::CreateInput {
        email: body.email,
        username: body.username,
        password: body.password,
        first_name: body.first_name,
        last_name: body.last_name,
        status: body.status,
    };
    let user = admin_users::create(&state, &meta, &principal, input).await?;
    created(format!("/api/v1/users/{}", user.id), user)
}

/// A user (users:read); a deleted one only with `include_deleted=true`.
#[utoipa::path(
    get,
    operation_id = "users_get_one",
    path = "/users/{id}",
    tag = "users",
    params(("id" = Uuid, Path, description = "User id"), IncludeDeleted, AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "The user", body = User), AuthErrors, QueryErrors)
)]
async fn get_one(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<User>, ApiError> {
    let id = path_id(&id)?;
    Ok(Json(admin_users::get(&state, &meta, &principal, id, params.flag("include_deleted")?).await?))
}

/// Absent fields are left alone; `null` clears one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatchUser {
    #[schema(value_type = Option<String>, pattern = r"^[\x21-\x3f\x41-\x7e]{1,64}@[\x21-\x2d\x2f-\x3f\x41-\x7e]+(\.[\x21-\x2d\x2f-\x3f\x41-\x7e]+)+$", max_length = 254)]
    email: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, pattern = r"^\s*([A-Za-z0-9._-]{3,64})?\s*$")]
    username: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", max_length = 100)]
    first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", max_length = 100)]
    last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, pattern = r"^https?://[\x21-\x7e]*$", max_length = 2048)]
    avatar: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, pattern = r"^\+[0-9]{8,15}$")]
    phone: Option<Option<String>>,
    /// `pending` is set by invitations only.
    #[schema(value_type = Option<PatchableStatus>)]
    status: Option<UserStatus>,
}

/// The statuses `PATCH /users/{id}` may set (`pending` comes from invitations only).
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // describes `PatchUser::status`
enum PatchableStatus {
    Active,
    Inactive,
    Suspended,
}

/// Edits a user (users:update); leaving `active` revokes the user's sessions.
#[utoipa::path(
    patch,
    operation_id = "users_patch",
    path = "/users/{id}",
    tag = "users",
    params(CsrfHeader, ("id" = Uuid, Path, description = "User id"), AuthTenantHeader),
    request_body = PatchUser,
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "The updated user", body = User), AuthErrors, BodyErrors, ConflictError)
)]
async fn patch(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PatchUser>,
) -> Result<Json<User>, ApiError> {
    let id = path_id(&id)?;
    let input = admin_users::PatchInput {
        email: body.email,
        username: body.username,
        first_name: body.first_name,
        last_name: body.last_name,
        avatar: body.avatar,
        phone: body.phone,
        status: body.status,
    };
    Ok(Json(admin_users::patch(&state, &meta, &principal, id, input).await?))
}

/// Soft-deletes a user (users:delete): sessions revoked, email and username freed.
#[utoipa::path(
    delete,
    operation_id = "users_delete_one",
    path = "/users/{id}",
    tag = "users",
    params(CsrfHeader, ("id" = Uuid, Path, description = "User id"), AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 204, description = "Deleted"), AuthErrors, ConflictError)
)]
async fn delete_one(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    admin_users::delete(&state, &meta, &principal, path_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// No fields; the body may also be empty.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoBody {}

/// Restores a soft-deleted user (users:update).
#[utoipa::path(
    post,
    operation_id = "users_restore",
    path = "/users/{id}/restore",
    tag = "users",
    params(CsrfHeader, ("id" = Uuid, Path, description = "User id"), AuthTenantHeader),
    request_body(content = Option<NoBody>, description = "None; an empty body is accepted"),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "The restored user", body = User), AuthErrors, BodyErrors, ConflictError)
)]
async fn restore(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
    OptionalJson(_body): OptionalJson<NoBody>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(admin_users::restore(&state, &meta, &principal, path_id(&id)?).await?))
}

/// Clears a sign-in lockout (users:update).
#[utoipa::path(
    post,
    operation_id = "users_unlock",
    path = "/users/{id}/unlock",
    tag = "users",
    params(CsrfHeader, ("id" = Uuid, Path, description = "User id"), AuthTenantHeader),
    request_body(content = Option<NoBody>, description = "None; an empty body is accepted"),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "The user", body = User), AuthErrors, BodyErrors)
)]
async fn unlock(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
    OptionalJson(_body): OptionalJson<NoBody>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(admin_users::unlock(&state, &meta, &principal, path_id(&id)?).await?))
}

/// A session as `GET /users/{id}/sessions` shows it.
#[derive(Serialize, ToSchema)]
#[schema(as = SessionView)]
struct SessionView {
    id: Uuid,
    ip_address: Option<String>,
    user_agent: Option<String>,
    created_at: DateTime<Utc>,
    last_activity: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    current: bool,
}

/// The user's live sessions (sessions:read).
#[utoipa::path(
    get,
    operation_id = "users_sessions",
    path = "/users/{id}/sessions",
    tag = "users",
    params(("id" = Uuid, Path, description = "User id"), PageQuery, AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "A page of sessions", body = Page<SessionView>), AuthErrors, QueryErrors)
)]
async fn sessions(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Page<SessionView>>, ApiError> {
    let page = admin_users::sessions(&state, &meta, &principal, path_id(&id)?, params.page()?).await?;
    Ok(Json(page.map(|s: Session| SessionView {
        current: s.id == principal.session_id,
        id: s.id,
        ip_address: s.ip_address,
        user_agent: s.user_agent,
        created_at: s.created_at,
        last_activity: s.last_activity,
        expires_at: s.expires_at,
    })))
}

/// Revokes every session of the user (sessions:revoke).
#[utoipa::path(
    delete,
    operation_id = "users_revoke_sessions",
    path = "/users/{id}/sessions",
    tag = "users",
    params(CsrfHeader, ("id" = Uuid, Path, description = "User id"), AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 204, description = "Revoked"), AuthErrors)
)]
async fn revoke_sessions(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    admin_users::revoke_sessions(&state, &meta, &principal, path_id(&id)?, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes one session of the user (sessions:revoke).
#[utoipa::path(
    delete,
    operation_id = "users_revoke_session",
    path = "/users/{id}/sessions/{session_id}",
    tag = "users",
    params(CsrfHeader, ("id" = Uuid, Path, description = "User id"), ("session_id" = Uuid, Path, description = "Session id"), AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 204, description = "Revoked"), AuthErrors)
)]
async fn revoke_session(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path((id, session_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    admin_users::revoke_sessions(&state, &meta, &principal, path_id(&id)?, Some(path_id(&session_id)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The user's role assignments (roles:read).
#[utoipa::path(
    get,
    operation_id = "users_user_roles",
    path = "/users/{id}/roles",
    tag = "users",
    params(("id" = Uuid, Path, description = "User id"), PageQuery, AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "A page of assignments", body = Page<Assignment>), AuthErrors, QueryErrors)
)]
async fn user_roles(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Page<Assignment>>, ApiError> {
    Ok(Json(roles::assignments(&state, &meta, &principal, path_id(&id)?, params.page()?).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssignRole {
    role_id: Uuid,
    /// An expired assignment grants nothing.
    expires_at: Option<DateTime<Utc>>,
}

/// Assigns a role (roles:assign; never beyond the caller's own permissions).
#[utoipa::path(
    post,
    operation_id = "users_assign",
    path = "/users/{id}/roles",
    tag = "users",
    params(CsrfHeader, ("id" = Uuid, Path, description = "User id"), AuthTenantHeader),
    request_body = AssignRole,
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 201, description = "The assignment (`Location` names it)", body = Assignment, headers(("Location" = String))), AuthErrors, BodyErrors, ConflictError)
)]
async fn assign(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AssignRole>,
) -> Result<Response, ApiError> {
    let user = path_id(&id)?;
    let assignment = roles::assign(&state, &meta, &principal, user, body.role_id, body.expires_at).await?;
    created(format!("/api/v1/users/{user}/roles/{}", assignment.role_id), assignment)
}

/// Removes a role assignment (roles:assign).
#[utoipa::path(
    delete,
    operation_id = "users_unassign",
    path = "/users/{id}/roles/{role_id}",
    tag = "users",
    params(CsrfHeader, ("id" = Uuid, Path, description = "User id"), ("role_id" = Uuid, Path, description = "Role id"), AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 204, description = "Removed"), AuthErrors, ConflictError)
)]
async fn unassign(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path((id, role_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    roles::unassign(&state, &meta, &principal, path_id(&id)?, path_id(&role_id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The user's effective permission names (roles:read).
#[utoipa::path(
    get,
    operation_id = "users_user_permissions",
    path = "/users/{id}/permissions",
    tag = "users",
    params(("id" = Uuid, Path, description = "User id"), PageQuery, AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "A page of permission names", body = Page<String>), AuthErrors, QueryErrors)
)]
async fn user_permissions(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Page<String>>, ApiError> {
    Ok(Json(roles::effective_permissions(&state, &meta, &principal, path_id(&id)?, params.page()?).await?))
}
