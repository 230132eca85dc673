//! `/api/v1/users`: users as administrators manage them, their sessions,
//! role assignments and effective permissions.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use azth_core::model::{Session, User, UserStatus};
use azth_core::rbac::Assignment;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{Auth, Meta, OptionalJson, double_option};
use super::json::ApiJson;
use super::query::{Params, path_id};
use crate::services::page::Page;
use crate::services::{admin_users, roles};
use crate::state::AppState;

/// Routes under `/users`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(create))
        .route("/users/{id}", get(get_one).patch(patch).delete(delete_one))
        .route("/users/{id}/restore", post(restore))
        .route("/users/{id}/unlock", post(unlock))
        .route("/users/{id}/sessions", get(sessions).delete(revoke_sessions))
        .route("/users/{id}/sessions/{session_id}", delete(revoke_session))
        .route("/users/{id}/roles", get(user_roles).post(assign))
        .route("/users/{id}/roles/{role_id}", delete(unassign))
        .route("/users/{id}/permissions", get(user_permissions))
}

/// 201 with `Location`.
pub fn created<T: Serialize>(location: String, body: T) -> Result<Response, ApiError> {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    response.headers_mut().insert(header::LOCATION, HeaderValue::from_str(&location).map_err(ApiError::internal)?);
    Ok(response)
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUser {
    email: String,
    username: Option<String>,
    password: Option<SecretString>,
    first_name: Option<String>,
    last_name: Option<String>,
    status: Option<UserStatus>,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchUser {
    email: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    username: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    avatar: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    phone: Option<Option<String>>,
    status: Option<UserStatus>,
}

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

async fn delete_one(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    admin_users::delete(&state, &meta, &principal, path_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoBody {}

async fn restore(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
    OptionalJson(_body): OptionalJson<NoBody>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(admin_users::restore(&state, &meta, &principal, path_id(&id)?).await?))
}

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
#[derive(Serialize)]
struct SessionView {
    id: Uuid,
    ip_address: Option<String>,
    user_agent: Option<String>,
    created_at: DateTime<Utc>,
    last_activity: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    current: bool,
}

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

async fn revoke_sessions(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    admin_users::revoke_sessions(&state, &meta, &principal, path_id(&id)?, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn revoke_session(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path((id, session_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    admin_users::revoke_sessions(&state, &meta, &principal, path_id(&id)?, Some(path_id(&session_id)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn user_roles(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Page<Assignment>>, ApiError> {
    Ok(Json(roles::assignments(&state, &meta, &principal, path_id(&id)?, params.page()?).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignRole {
    role_id: Uuid,
    expires_at: Option<DateTime<Utc>>,
}

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

async fn unassign(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path((id, role_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    roles::unassign(&state, &meta, &principal, path_id(&id)?, path_id(&role_id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn user_permissions(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Page<String>>, ApiError> {
    Ok(Json(roles::effective_permissions(&state, &meta, &principal, path_id(&id)?, params.page()?).await?))
}
