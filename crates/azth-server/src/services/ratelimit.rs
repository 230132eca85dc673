//! Rate limits (API.md "Lockout and limits"): a sliding window over two
//! fixed windows in the shared cache (the previous window's count weighted
//! by how much of it still overlaps), so limits hold across nodes and a
//! burst at a window edge cannot double the rate. Over the limit →
//! 429 `RATE_LIMITED` with `Retry-After` and the `RateLimit-*` headers.

use std::time::Duration;

use azth_core::ErrorCode;
use chrono::Utc;

use super::RequestMeta;
use crate::http::ApiError;
use crate::state::AppState;

/// Counts one event for `subject` under `name` and refuses it when more
/// than `limit` happened within `window`.
pub async fn hit(state: &AppState, name: &str, subject: &str, limit: u32, window: Duration) -> Result<(), ApiError> {
    if limit == 0 {
        return Ok(());
    }
    let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
    let now_ms = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
    let index = now_ms / window_ms;
    let elapsed = now_ms % window_ms;
    let key = |i: u64| format!("rl:{name}:{subject}:{i}");
    // The counters live two windows: the current one and the one after it
    // needs this one as its "previous".
    let current = state.limits.incr_window(&key(index), window * 2).await.map_err(ApiError::unavailable)?;
    let previous: i64 = state
        .limits
        .get(&key(index.saturating_sub(1)))
        .await
        .map_err(ApiError::unavailable)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let overlap = 1.0 - (elapsed as f64 / window_ms as f64);
    let estimate = previous as f64 * overlap + current as f64;
    let reset = (window_ms - elapsed).div_ceil(1000).max(1);
    if estimate > f64::from(limit) {
        metrics::counter!("azth_rate_limited_total", "limit" => name.to_owned()).increment(1);
        let mut err = ApiError::new(ErrorCode::RateLimited).with_retry_after(reset);
        err.rate_limit = Some((u64::from(limit), 0, reset));
        return Err(err);
    }
    Ok(())
}

/// The per-IP limit of a sign-in endpoint: `AZTH_IP_RATE_LIMIT` a minute.
pub async fn per_ip(state: &AppState, meta: &RequestMeta, endpoint: &str) -> Result<(), ApiError> {
    let Some(ip) = meta.ip else { return Ok(()) };
    hit(state, endpoint, &format!("ip:{ip}"), state.config.ip_rate_limit, Duration::from_secs(60)).await
}
