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
use super::extract::{Auth, Meta, double_option};
use super::json::ApiJson;
use crate::services::me;
use crate::state::AppState;

/// Routes under `/me`.
pub fn router() -> Router<AppState> {
    Router::new().route("/", get(get_me).patch(patch_me)).route("/password", post(change_password))
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
