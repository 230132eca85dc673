//! Service endpoints outside `/api/v1`: `/health`, `/ready`, `/metrics`.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::state::AppState;

/// How long `/ready` waits for each dependency.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Routes of the service endpoints.
pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/health", get(health)).route("/ready", get(ready))
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

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
pub async fn metrics(State(state): State<AppState>) -> Response {
    let pool = state.store.pool_stats();
    metrics::gauge!("azth_db_pool_connections", "state" => "open").set(f64::from(pool.size));
    metrics::gauge!("azth_db_pool_connections", "state" => "idle").set(f64::from(pool.idle));
    metrics::gauge!("azth_db_pool_connections", "state" => "max").set(f64::from(pool.max));
    metrics::gauge!("azth_hash_pool_queued").set(state.hasher.queued() as f64);
    let body = state.metrics.render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
