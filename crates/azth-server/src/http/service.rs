//! Service endpoints outside `/api/v1`: `/health`, `/ready`, `/metrics`.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::Unavailable;

use crate::state::AppState;

/// How long `/ready` waits for each dependency.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Routes of the service endpoints (`/metrics` is mounted by the caller:
/// it may have its own listener).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health)).routes(routes!(ready))
}

/// The answer of `/health`.
#[derive(Serialize, ToSchema)]
struct Health {
    /// Always `ok` while the process runs.
    #[schema(example = "ok")]
    status: &'static str,
    /// azth's version.
    #[schema(example = "0.1.0")]
    version: &'static str,
}

/// Liveness: answers while the process runs.
#[utoipa::path(get, path = "/health", tag = "service", responses((status = 200, description = "Running", body = Health), Unavailable))]
async fn health() -> Json<Health> {
    Json(Health { status: "ok", version: env!("CARGO_PKG_VERSION") })
}

/// The answer of `/ready` (documentation of the JSON built below).
#[derive(ToSchema)]
#[allow(dead_code)]
struct Readiness {
    /// `ok` when every dependency answers, else `unavailable`.
    #[schema(pattern = "^(ok|unavailable)$")]
    status: String,
    checks: ReadinessChecks,
}

/// Each dependency: `ok` or `unavailable`.
#[derive(ToSchema)]
#[allow(dead_code)]
struct ReadinessChecks {
    #[schema(pattern = "^(ok|unavailable)$")]
    database: String,
    #[schema(pattern = "^(ok|unavailable)$")]
    cache: String,
}

/// Readiness: whether the database and the cache answer.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "service",
    responses(
        (status = 200, description = "Database and cache answer", body = Readiness),
        (status = 503, description = "A dependency does not answer; the body names it (`Retry-After` is set)",
            body = Readiness, headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn ready(State(state): State<AppState>) -> Response {
    let db = async { matches!(tokio::time::timeout(CHECK_TIMEOUT, state.store.ping()).await, Ok(Ok(()))) };
    let cache = async { matches!(tokio::time::timeout(CHECK_TIMEOUT, state.cache.ping()).await, Ok(Ok(()))) };
    let (db_ok, cache_ok) = tokio::join!(db, cache);
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let all = db_ok && cache_ok;
    let body = json!({
        "status": word(all),
        "checks": {"database": word(db_ok), "cache": word(cache_ok)},
    });
    if !all {
        tracing::warn!(target: "azth::health", database = word(db_ok), cache = word(cache_ok), "not ready");
    }
    let status = if all { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let mut response = (status, Json(body)).into_response();
    if !all {
        response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(1u64));
    }
    response
}

/// `GET /metrics`: the Prometheus text exposition.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    description = "Prometheus text exposition: requests by route and status, latency, logins by outcome, \
        hash-pool queue, outbox depth, database and cache pool use. Served on its own address instead when \
        `AZTH_METRICS_LISTEN` is set.",
    responses((status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain"), Unavailable)
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let pool = state.store.pool_stats();
    metrics::gauge!("azth_db_pool_connections", "state" => "open").set(f64::from(pool.size));
    metrics::gauge!("azth_db_pool_connections", "state" => "idle").set(f64::from(pool.idle));
    metrics::gauge!("azth_db_pool_connections", "state" => "max").set(f64::from(pool.max));
    metrics::gauge!("azth_hash_pool_queued").set(state.hasher.queued() as f64);
    let body = state.metrics.render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
