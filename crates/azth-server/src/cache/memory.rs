//! In-process cache for single-node deployments without Redis. Bounded: when
//! full, expired entries are swept and, if still full, the entry closest to
//! expiry is evicted.

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

/// Frees a slot for `key` when the map is full: expired entries first, then
/// the one closest to expiry.
fn make_room(map: &mut Entries, key: &str, capacity: usize, now: Instant) {
    if map.len() >= capacity && !map.contains_key(key) {
        map.retain(|_, (_, until)| *until > now);
        if map.len() >= capacity {
            let soonest = map.iter().min_by_key(|(_, (_, until))| *until).map(|(k, _)| k.clone());
            if let Some(k) = soonest {
                map.remove(&k);
            }
        }
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
        make_room(&mut map, key, self.capacity, now);
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
        make_room(&mut map, key, self.capacity, now);
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
        cache.set_ex("a", "1", Duration::from_secs(60)).await.unwrap();
        assert_eq!(cache.get("a").await.unwrap().as_deref(), Some("1"));
        cache.set_ex("gone", "x", Duration::ZERO).await.unwrap();
        assert_eq!(cache.get("gone").await.unwrap(), None);
        cache.set_ex("b", "2", Duration::from_secs(60)).await.unwrap();
        cache.set_ex("c", "3", Duration::from_secs(60)).await.unwrap();
        assert!(cache.lock().unwrap().len() <= 2);
        assert_eq!(cache.get("c").await.unwrap().as_deref(), Some("3"));
        cache.del("c").await.unwrap();
        assert_eq!(cache.get("c").await.unwrap(), None);
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
