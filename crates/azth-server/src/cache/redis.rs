//! Redis cache over one multiplexed, self-reconnecting connection
//! (`redis::aio::ConnectionManager`), created lazily so azth starts — and
//! reports `/ready` 503 — while Redis is still down.

use std::time::Duration;

use async_trait::async_trait;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Cache, CacheError};

/// How long commands fail fast after a failure, before Redis is tried again.
const BREAKER_OPEN: Duration = Duration::from_secs(2);

/// The Redis implementation of [`Cache`].
#[derive(Clone)]
pub struct RedisCache {
    conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
    /// Circuit breaker: while Redis is failing, commands answer an error at
    /// once instead of each waiting for a connection attempt, so a Redis
    /// outage costs requests nothing but the fallback. Milliseconds since
    /// the epoch until which the breaker is open.
    open_until: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl RedisCache {
    /// Prepares the connection; nothing is sent until the first command.
    pub fn connect_lazy(url: &str, prefix: &str, timeout: Duration) -> Result<Self, CacheError> {
        let client = redis::Client::open(url).map_err(|_| CacheError("redis url is not valid".into()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(|e| CacheError(e.to_string()))?;
        Ok(Self { conn, prefix: prefix.to_owned(), timeout, open_until: Default::default() })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    async fn run<T, F>(&self, f: F) -> Result<T, CacheError>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        use std::sync::atomic::Ordering;
        let now = chrono::Utc::now().timestamp_millis();
        if now < self.open_until.load(Ordering::Relaxed) {
            return Err(CacheError("redis unavailable (circuit open)".into()));
        }
        self.attempt(f).await
    }

    async fn attempt<T, F>(&self, f: F) -> Result<T, CacheError>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        use std::sync::atomic::Ordering;
        let result = match tokio::time::timeout(self.timeout, f).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(CacheError(e.to_string())),
            Err(_) => Err(CacheError("redis command timed out".into())),
        };
        let until = match &result {
            Ok(_) => 0,
            Err(_) => chrono::Utc::now().timestamp_millis() + i64::try_from(BREAKER_OPEN.as_millis()).unwrap_or(2000),
        };
        self.open_until.store(until, Ordering::Relaxed);
        result
    }
}

#[async_trait]
impl Cache for RedisCache {
    async fn ping(&self) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        // PING always tries Redis (it is how readiness sees it return), and
        // closes the breaker when it answers.
        let pong: String = self.attempt(async move { redis::cmd("PING").query_async(&mut conn).await }).await?;
        if pong == "PONG" { Ok(()) } else { Err(CacheError("unexpected PING answer".into())) }
    }

    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        self.run(async move { conn.get(key).await }).await
    }

    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<String>>, CacheError> {
        let mut conn = self.conn.clone();
        let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        self.run(async move { redis::cmd("MGET").arg(keys).query_async(&mut conn).await }).await
    }

    async fn set_ex(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        let value = value.to_owned();
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        self.run(async move { conn.pset_ex(key, value, ms).await }).await
    }

    async fn del(&self, key: &str) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        self.run(async move { conn.del(key).await }).await
    }

    async fn incr_window(&self, key: &str, window: Duration) -> Result<i64, CacheError> {
        // One round trip, atomic: the window starts with the first increment.
        static SCRIPT: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
            redis::Script::new(
                "local n = redis.call('INCR', KEYS[1]) \
                 if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end \
                 return n",
            )
        });
        let mut conn = self.conn.clone();
        let key = self.key(key);
        let ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
        self.run(async move { SCRIPT.key(key).arg(ms).invoke_async(&mut conn).await }).await
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}
