//! The cache: Redis in production, in-process when no Redis is configured.
//! Later capabilities (revocation, permission sets, lockout counters, rate
//! limits) build on these primitives.

pub mod fallback;
pub mod memory;
pub mod redis;

use std::time::Duration;

use async_trait::async_trait;

/// A cache failure. Callers decide whether to fall back or fail closed.
#[derive(Debug, thiserror::Error)]
#[error("cache unavailable: {0}")]
pub struct CacheError(pub String);

/// Key-value operations shared by both cache backends. Keys are given
/// without the deployment prefix; the backend adds it.
#[async_trait]
pub trait Cache: Send + Sync + 'static {
    /// Checks that the cache answers.
    async fn ping(&self) -> Result<(), CacheError>;
    /// The value under `key`, if any and not expired.
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError>;
    /// The values under `keys`, in order: one consistent read where the
    /// backend can (Redis `MGET`), else one `get` after the other.
    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<String>>, CacheError> {
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            values.push(self.get(key).await?);
        }
        Ok(values)
    }
    /// Stores `value` under `key` for `ttl`.
    async fn set_ex(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError>;
    /// Removes `key`; absent keys are fine.
    async fn del(&self, key: &str) -> Result<(), CacheError>;
    /// Increments the counter under `key`, starting a window of `window`
    /// when the counter is new; returns the new count.
    async fn incr_window(&self, key: &str, window: Duration) -> Result<i64, CacheError>;
    /// Which backend this is, for `/ready` and logs.
    fn kind(&self) -> &'static str;
}
