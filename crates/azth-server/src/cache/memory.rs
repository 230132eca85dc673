//! In-process cache for single-node deployments without Redis. Bounded: when
//! full, expired entries are swept and, if still full, the reloadable entry
//! (a tenant or permission look-up) closest to expiry is evicted.
//!
//! SECURITY: security state — revoked sessions, lockout counters and locks,
//! rate-limit windows — is never evicted to make room: forgetting it would
//! let a revoked token work again or reset a brute-force counter. When only
//! such state fills the cache, a new entry is refused with an error, and
//! every caller of the cache fails closed on errors (503, or the database
//! check for revocation).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{Cache, CacheError};

type Entries = HashMap<String, (String, Instant)>;

/// The in-process implementation of [`Cache`].
pub struct MemoryCache {
    entries: Mutex<Entries>,
    capacity: usize,
}

impl MemoryCache {
    /// A cache holding at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self { entries: Mutex::new(HashMap::new()), capacity: capacity.max(1) }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Entries>, CacheError> {
        self.entries.lock().map_err(|_| CacheError("memory cache poisoned".into()))
    }
}

/// Whether an entry is a copy of database state that can be read again
/// (and so may be evicted), as opposed to security state held only here.
fn reloadable(key: &str) -> bool {
    key.starts_with("tenant:") || key.starts_with("perms:")
}

/// Frees a slot for `key` when the map is full: expired entries first, then
/// the reloadable one closest to expiry; refuses when only security state is left.
fn make_room(map: &mut Entries, key: &str, capacity: usize, now: Instant) -> Result<(), CacheError> {
    if map.len() < capacity || map.contains_key(key) {
        return Ok(());
    }
    map.retain(|_, (_, until)| *until > now);
    if map.len() < capacity {
        return Ok(());
    }
    let soonest =
        map.iter().filter(|(k, _)| reloadable(k)).min_by_key(|(_, (_, until))| *until).map(|(k, _)| k.clone());
    match soonest {
        Some(k) => {
            map.remove(&k);
            Ok(())
        }
        // A revocation is always kept, even past capacity: refusing it would
        // leave a signed-out token valid. Only signed-in users create them
        // (sign-out, revocation, password change) and each lives no longer
        // than an access token, so they stay few.
        None if key.starts_with("revoked:") => Ok(()),
        None => Err(CacheError("in-process cache is full of security state; refusing a new entry".into())),
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn ping(&self) -> Result<(), CacheError> {
        self.lock().map(|_| ())
    }

    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        let now = Instant::now();
        let map = self.lock()?;
        Ok(map.get(key).filter(|(_, until)| *until > now).map(|(v, _)| v.clone()))
    }

    async fn set_ex(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        let now = Instant::now();
        let mut map = self.lock()?;
        make_room(&mut map, key, self.capacity, now)?;
        map.insert(key.to_owned(), (value.to_owned(), now + ttl));
        Ok(())
    }

    async fn del(&self, key: &str) -> Result<(), CacheError> {
        self.lock()?.remove(key);
        Ok(())
    }

    async fn incr_window(&self, key: &str, window: Duration) -> Result<i64, CacheError> {
        let now = Instant::now();
        let mut map = self.lock()?;
        let (next, until) = match map.get(key).filter(|(_, until)| *until > now) {
            Some((v, until)) => (v.parse::<i64>().unwrap_or(0) + 1, *until),
            None => (1, now + window),
        };
        make_room(&mut map, key, self.capacity, now)?;
        map.insert(key.to_owned(), (next.to_string(), until));
        Ok(next)
    }

    fn kind(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stores_expires_and_stays_bounded() {
        let cache = MemoryCache::new(2);
        cache.set_ex("tenant:a", "1", Duration::from_secs(60)).await.unwrap();
        assert_eq!(cache.get("tenant:a").await.unwrap().as_deref(), Some("1"));
        cache.set_ex("perms:gone", "x", Duration::ZERO).await.unwrap();
        assert_eq!(cache.get("perms:gone").await.unwrap(), None);
        cache.set_ex("tenant:b", "2", Duration::from_secs(60)).await.unwrap();
        cache.set_ex("tenant:c", "3", Duration::from_secs(60)).await.unwrap();
        assert!(cache.lock().unwrap().len() <= 2);
        assert_eq!(cache.get("tenant:c").await.unwrap().as_deref(), Some("3"));
        cache.del("tenant:c").await.unwrap();
        assert_eq!(cache.get("tenant:c").await.unwrap(), None);
    }

    #[tokio::test]
    async fn security_state_is_never_evicted_to_make_room() {
        let cache = MemoryCache::new(2);
        cache.set_ex("revoked:s1", "1", Duration::from_secs(60)).await.unwrap();
        cache.set_ex("tenant:x", "t", Duration::from_secs(1)).await.unwrap();
        // The look-up goes, the revocation stays.
        cache.incr_window("fails:t:i:h", Duration::from_secs(60)).await.unwrap();
        assert_eq!(cache.get("revoked:s1").await.unwrap().as_deref(), Some("1"));
        assert_eq!(cache.get("tenant:x").await.unwrap(), None);
        // Full of security state: a new entry is refused (callers fail closed)…
        assert!(cache.set_ex("lock:t:u:1", "9", Duration::from_secs(60)).await.is_err());
        assert!(cache.set_ex("tenant:y", "t", Duration::from_secs(60)).await.is_err());
        // …but a revocation is always kept, past capacity if need be…
        cache.set_ex("revoked:s2", "1", Duration::from_secs(60)).await.unwrap();
        assert_eq!(cache.get("revoked:s2").await.unwrap().as_deref(), Some("1"));
        // …and existing counters keep counting.
        assert_eq!(cache.incr_window("fails:t:i:h", Duration::from_secs(60)).await.unwrap(), 2);
        assert_eq!(cache.get("revoked:s1").await.unwrap().as_deref(), Some("1"));
    }

    #[tokio::test]
    async fn counters_count_within_their_window() {
        let cache = MemoryCache::new(10);
        assert_eq!(cache.incr_window("n", Duration::from_secs(60)).await.unwrap(), 1);
        assert_eq!(cache.incr_window("n", Duration::from_secs(60)).await.unwrap(), 2);
        assert_eq!(cache.incr_window("gone", Duration::ZERO).await.unwrap(), 1);
        assert_eq!(cache.incr_window("gone", Duration::ZERO).await.unwrap(), 1);
    }
}
