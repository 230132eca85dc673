//! Counters that survive a Redis outage: every operation goes to the shared
//! cache and, when it cannot answer, to a per-node in-process cache. Used
//! for lockout counters, rate limits and MFA tokens — limits keep holding
//! (per node) instead of failing open or answering 503. Revocation and
//! permission checks do not use this: they fall back to the database.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use super::memory::MemoryCache;
use super::{Cache, CacheError};

/// Shared cache first, this node's memory when it fails.
pub struct Fallback {
    primary: Arc<dyn Cache>,
    local: MemoryCache,
    last_warning: AtomicU64,
}

impl Fallback {
    pub fn new(primary: Arc<dyn Cache>, local_capacity: usize) -> Self {
        Self { primary, local: MemoryCache::new(local_capacity), last_warning: AtomicU64::new(0) }
    }

    fn degraded(&self, error: &CacheError) {
        // One warning a minute is enough to say the limits are per node now.
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        let last = self.last_warning.load(Ordering::Relaxed);
        if now >= last + 60
            && self.last_warning.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            tracing::warn!(error = %error, "shared cache unavailable: limits and counters are per node until it returns");
        }
        metrics::counter!("azth_cache_fallbacks_total").increment(1);
    }
}

#[async_trait]
impl Cache for Fallback {
    async fn ping(&self) -> Result<(), CacheError> {
        self.primary.ping().await
    }

    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        match self.primary.get(key).await {
            Ok(v) => Ok(v),
            Err(e) => {
                self.degraded(&e);
                self.local.get(key).await
            }
        }
    }

    async fn set_ex(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        match self.primary.set_ex(key, value, ttl).await {
            Ok(()) => Ok(()),
            Err(e) => {
                self.degraded(&e);
                self.local.set_ex(key, value, ttl).await
            }
        }
    }

    async fn del(&self, key: &str) -> Result<(), CacheError> {
        // Deleted in both: a value written locally during an outage must not outlive it.
        let local = self.local.del(key).await;
        match self.primary.del(key).await {
            Ok(()) => local,
            Err(e) => {
                self.degraded(&e);
                local
            }
        }
    }

    async fn incr_window(&self, key: &str, window: Duration) -> Result<i64, CacheError> {
        match self.primary.incr_window(key, window).await {
            Ok(n) => Ok(n),
            Err(e) => {
                self.degraded(&e);
                self.local.incr_window(key, window).await
            }
        }
    }

    fn kind(&self) -> &'static str {
        "redis+memory"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cache that always fails, standing in for Redis while it is down.
    struct Down;

    #[async_trait]
    impl Cache for Down {
        async fn ping(&self) -> Result<(), CacheError> {
            Err(CacheError("down".into()))
        }
        async fn get(&self, _: &str) -> Result<Option<String>, CacheError> {
            Err(CacheError("down".into()))
        }
        async fn set_ex(&self, _: &str, _: &str, _: Duration) -> Result<(), CacheError> {
            Err(CacheError("down".into()))
        }
        async fn del(&self, _: &str) -> Result<(), CacheError> {
            Err(CacheError("down".into()))
        }
        async fn incr_window(&self, _: &str, _: Duration) -> Result<i64, CacheError> {
            Err(CacheError("down".into()))
        }
        fn kind(&self) -> &'static str {
            "down"
        }
    }

    #[tokio::test]
    async fn counts_locally_while_the_shared_cache_is_down() {
        let cache = Fallback::new(Arc::new(Down), 100);
        assert!(cache.ping().await.is_err(), "readiness still reports the outage");
        assert_eq!(cache.incr_window("k", Duration::from_secs(60)).await.unwrap(), 1);
        assert_eq!(cache.incr_window("k", Duration::from_secs(60)).await.unwrap(), 2);
        cache.set_ex("lock", "1", Duration::from_secs(60)).await.unwrap();
        assert_eq!(cache.get("lock").await.unwrap().as_deref(), Some("1"));
        cache.del("lock").await.unwrap();
        assert_eq!(cache.get("lock").await.unwrap(), None);
    }
}
