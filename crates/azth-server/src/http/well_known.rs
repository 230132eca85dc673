//! `/.well-known/jwks.json`: the public signing keys, current and retired
//! but still valid, so anyone can verify azth's access tokens.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// `GET /.well-known/jwks.json`.
pub async fn jwks(State(state): State<AppState>) -> Response {
    state.keys.refresh_if_stale().await;
    let mut response = Json(state.keys.keys().jwks.clone()).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    response
}
