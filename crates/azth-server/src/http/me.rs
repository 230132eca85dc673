//! `/api/v1/me`: the caller's own account.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use azth_core::model::User;
use azth_store::ProfilePatch;
use secrecy::SecretString;
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{Auth, Meta, OptionalJson, double_option};
use super::json::ApiJson;
use crate::services::{me, mfa};
use crate::state::AppState;

/// Routes under `/me`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(get_me).patch(patch_me))
        .route("/password", post(change_password))
        .route("/mfa/totp", post(totp_enrol).delete(totp_disable))
        .route("/mfa/totp/confirm", post(totp_confirm))
        .route("/mfa/backup-codes", post(backup_codes))
}

async fn get_me(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
) -> Result<Json<serde_json::Value>, ApiError> {
    let me = me::get(&state, &meta, &principal).await?;
    Ok(Json(serde_json::json!({
        "user": me.user,
        "tenant": me.tenant,
        "roles": me.roles,
        "permissions": me.permissions,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchMe {
    #[serde(default, deserialize_with = "double_option")]
    username: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    avatar: Option<Option<String>>,
}

async fn patch_me(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<PatchMe>,
) -> Result<Json<User>, ApiError> {
    let patch = ProfilePatch {
        username: body.username,
        first_name: body.first_name,
        last_name: body.last_name,
        avatar: body.avatar,
    };
    Ok(Json(me::patch(&state, &meta, &principal, patch).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangePassword {
    current_password: SecretString,
    new_password: SecretString,
}

async fn change_password(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    me::change_password(&state, &meta, &principal, body.current_password, body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn totp_enrol(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    OptionalJson(_body): OptionalJson<serde_json::Map<String, serde_json::Value>>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let e = mfa::enrol(&state, &meta, &principal).await?;
    let mut response =
        Json(serde_json::json!({"secret": e.secret, "otpauth_uri": e.otpauth_uri, "qr_svg": e.qr_svg})).into_response();
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeRequest {
    code: String,
}

fn backup_codes_response(codes: Vec<String>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response = Json(serde_json::json!({"backup_codes": codes})).into_response();
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    response
}

async fn totp_confirm(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<CodeRequest>,
) -> Result<axum::response::Response, ApiError> {
    Ok(backup_codes_response(mfa::confirm(&state, &meta, &principal, &body.code).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DisableRequest {
    password: SecretString,
    code: String,
}

async fn totp_disable(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<DisableRequest>,
) -> Result<StatusCode, ApiError> {
    mfa::disable(&state, &meta, &principal, body.password, &body.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn backup_codes(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<CodeRequest>,
) -> Result<axum::response::Response, ApiError> {
    Ok(backup_codes_response(mfa::regenerate(&state, &meta, &principal, &body.code).await?))
}
