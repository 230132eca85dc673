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
pub mod openapi;
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
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;
pub use error::ApiError;
pub use json::ApiJson;

/// The `/api/v1` routes. Every router is an `OpenApiRouter` whose routes
/// are added with `.routes(routes!(handler))`, so each route comes with its
/// OpenAPI operation (`#[utoipa::path]` on the handler).
fn api_v1() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .nest("/auth", auth::router().merge(recovery::router()))
        .nest("/me", me::router())
        .merge(admin_users::router())
        .merge(roles::router())
        .merge(tenants::router())
        .merge(audit::router())
        .merge(notifications::router())
        .routes(routes!(openapi::openapi_json))
}

/// Every documented route: the service endpoints, the JWKS and `/api/v1`.
/// `/metrics` is left out when it has its own listener.
fn documented_routes(with_metrics: bool) -> OpenApiRouter<AppState> {
    let mut routes = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(service::router())
        .routes(routes!(well_known::jwks))
        .nest("/api/v1", api_v1());
    if with_metrics {
        routes = routes.routes(routes!(service::metrics));
    }
    routes
}

/// The OpenAPI 3.1 document of every route (with `/metrics`, wherever it is
/// served), as `GET /api/v1/openapi.json` answers it.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut doc = documented_routes(true).into_openapi();
    openapi::optional_bodies_are_absent_not_null(&mut doc);
    doc
}

/// The complete application router. `extra` lets tests mount probes.
pub fn router(state: AppState, extra: Router<AppState>) -> Router {
    let config = state.config.clone();
    let (api, _) = documented_routes(config.metrics_listen.is_none()).split_for_parts();
    let app = Router::new().merge(api).merge(openapi::docs_router()).merge(extra);
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
        .layer(axum::middleware::from_fn_with_state(config.clone(), security_headers))
        .layer(from_fn(observe::observe))
        .layer(from_fn(request_id::assign))
        .layer(cors(&config))
        .with_state(state)
}

/// CORS for the configured origins only; credentials allowed for them, never
/// for a wildcard.
fn cors(config: &crate::config::Config) -> tower_http::cors::CorsLayer {
    use axum::http::{HeaderName, HeaderValue, Method};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let origins: Vec<HeaderValue> = config.http.cors_origins.iter().filter_map(|o| o.parse().ok()).collect();
    if origins.is_empty() {
        return CorsLayer::new();
    }
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([
            axum::http::header::AUTHORIZATION,
            axum::http::header::CONTENT_TYPE,
            HeaderName::from_static("x-csrf-token"),
            HeaderName::from_static("x-tenant-id"),
            HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([HeaderName::from_static("x-request-id"), axum::http::header::RETRY_AFTER])
        .max_age(Duration::from_secs(600))
}

/// Headers every response carries (OWASP secure headers): no sniffing, no
/// referrer, no framing, HSTS behind an https public URL, and `no-store` on
/// API answers unless the handler chose a cache policy (tokens and secrets
/// must never be cached).
async fn security_headers(
    axum::extract::State(config): axum::extract::State<std::sync::Arc<crate::config::Config>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"));
    if config.public_url().starts_with("https://") {
        headers
            .insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    if api {
        headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    }
    response
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

/// Parses `body` as every JSON request body the API accepts, the way the
/// handlers do (`json::parse`: problem+json errors, never a panic). For the
/// fuzz target `request_bodies` (fuzz/); each outcome is discarded.
#[doc(hidden)]
pub fn parse_every_body(body: &[u8]) -> usize {
    fn ok<T: serde::de::DeserializeOwned>(body: &[u8]) -> usize {
        usize::from(json::parse::<T>(body).is_ok())
    }
    ok::<admin_users::CreateUser>(body)
        + ok::<admin_users::PatchUser>(body)
        + ok::<admin_users::AssignRole>(body)
        + ok::<auth::RegisterRequest>(body)
        + ok::<auth::LoginRequest>(body)
        + ok::<auth::LoginMfaRequest>(body)
        + ok::<auth::RefreshRequest>(body)
        + ok::<auth::LogoutRequest>(body)
        + ok::<me::PatchMe>(body)
        + ok::<me::ChangePassword>(body)
        + ok::<me::CodeRequest>(body)
        + ok::<me::DisableRequest>(body)
        + ok::<notifications::PutTemplate>(body)
        + ok::<recovery::ForgotRequest>(body)
        + ok::<recovery::ResetRequest>(body)
        + ok::<recovery::VerifyRequest>(body)
        + ok::<recovery::ResendRequest>(body)
        + ok::<recovery::OtpSendRequest>(body)
        + ok::<recovery::OtpVerifyRequest>(body)
        + ok::<roles::CreateRole>(body)
        + ok::<roles::PatchRole>(body)
        + ok::<roles::PermissionSet>(body)
        + ok::<roles::CheckRequest>(body)
        + ok::<tenants::PatchOwn>(body)
        + ok::<tenants::CreateTenant>(body)
        + ok::<tenants::PatchTenant>(body)
}

#[cfg(test)]
mod parse_tests {
    #[test]
    fn every_body_parser_answers_errors_not_panics() {
        assert_eq!(super::parse_every_body(b"not json"), 0);
        assert_eq!(super::parse_every_body(b"{\"email\": 5}"), 0);
        // An empty object is a valid body for the patch and no-field requests only.
        assert!(super::parse_every_body(b"{}") > 0);
    }
}
