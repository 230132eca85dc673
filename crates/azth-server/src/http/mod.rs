//! The HTTP layer: routes merged from the resource modules, wrapped in the
//! layers every request passes through (request id, problem documents,
//! logging and metrics, body limit, timeout, panic catching).

pub mod admin_users;
pub mod audit;
pub mod auth;
pub mod error;
pub mod extract;
pub mod json;
pub mod me;
pub mod notifications;
pub mod observe;
pub mod query;
pub mod recovery;
pub mod request_id;
pub mod roles;
pub mod service;
pub mod tenants;
pub mod well_known;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware::from_fn;
use axum::response::IntoResponse;
use axum::routing::get;
use azth_core::ErrorCode;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;

use crate::state::AppState;
pub use error::ApiError;
pub use json::ApiJson;

/// The `/api/v1` routes (filled by the capabilities that follow).
fn api_v1() -> Router<AppState> {
    Router::new()
        .nest("/auth", auth::router().merge(recovery::router()))
        .nest("/me", me::router())
        .merge(admin_users::router())
        .merge(roles::router())
        .merge(tenants::router())
        .merge(audit::router())
        .merge(notifications::router())
}

/// The complete application router. `extra` lets tests mount probes.
pub fn router(state: AppState, extra: Router<AppState>) -> Router {
    let config = state.config.clone();
    let mut app = Router::new()
        .merge(service::router())
        .route("/.well-known/jwks.json", get(well_known::jwks))
        .nest("/api/v1", api_v1())
        .merge(extra);
    if config.metrics_listen.is_none() {
        app = app.route("/metrics", get(service::metrics));
    }
    app.fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(config.http.body_limit_bytes))
        .layer(CatchPanicLayer::custom(|_panic: Box<dyn std::any::Any + Send>| {
            // SECURITY: the panic message may hold request data; it is not echoed.
            tracing::error!("handler panicked");
            ApiError::new(ErrorCode::Internal).into_response()
        }))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(config.http.request_timeout_secs),
        ))
        .layer(from_fn(error::finalize))
        .layer(from_fn(observe::observe))
        .layer(from_fn(request_id::assign))
        .with_state(state)
}

/// The router of the separate metrics listener (`AZTH_METRICS_LISTEN`).
pub fn metrics_router(state: AppState) -> Router {
    Router::new().route("/metrics", get(service::metrics)).with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound)
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed)
}
