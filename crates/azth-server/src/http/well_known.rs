//! `/.well-known/jwks.json`: the public signing keys, current and retired
//! but still valid, so anyone can verify azth's access tokens.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// A JSON Web Key Set (RFC 7517): the public signing keys.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // describes the JSON of `jsonwebtoken::jwk::JwkSet`
struct Jwks {
    /// Public JWKs (`kty`, `crv`, `x`, `kid`, `alg`, `use`…), current and retired but still valid.
    keys: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// `GET /.well-known/jwks.json`.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "service",
    description = "The public keys that verify azth's access tokens: the current one and retired ones still valid.",
    responses(
        (status = 200, description = "The key set (cacheable for 60 s)", body = Jwks),
        super::openapi::Unavailable,
    )
)]
pub async fn jwks(State(state): State<AppState>) -> Response {
    state.keys.refresh_if_stale().await;
    let mut response = Json(state.keys.keys().jwks.clone()).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    response
}
