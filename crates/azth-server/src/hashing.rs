//! The bounded Argon2 pool: at most `workers` hashes run at once on the
//! blocking thread pool, at most `queue` requests wait for one, and the rest
//! are answered 503 with `Retry-After` at once instead of piling up (a login
//! flood must not starve the cheap endpoints).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use azth_core::ErrorCode;
use azth_core::crypto::hash::{self, DummyHash, HashParams};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use crate::http::ApiError;

/// The hashing pool.
pub struct HashPool {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
    params: HashParams,
    dummy: Arc<DummyHash>,
}

impl HashPool {
    /// A pool running `workers` hashes at once (0 = one per core).
    pub fn new(params: HashParams, workers: usize, queue: usize) -> Result<Self, ApiError> {
        let workers =
            if workers == 0 { std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) } else { workers };
        let dummy = DummyHash::new(&params).map_err(ApiError::internal)?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(workers)),
            waiting: AtomicUsize::new(0),
            queue,
            params,
            dummy: Arc::new(dummy),
        })
    }

    /// The configured parameters.
    pub fn params(&self) -> &HashParams {
        &self.params
    }

    /// Requests currently waiting for a worker (exported as a metric).
    pub fn queued(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    async fn run<T: Send + 'static>(&self, job: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
        // SECURITY: bounded queue — overflow is refused, never buffered.
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let before = self.waiting.fetch_add(1, Ordering::AcqRel);
                if before >= self.queue {
                    self.waiting.fetch_sub(1, Ordering::AcqRel);
                    metrics::counter!("azth_hash_pool_rejected_total").increment(1);
                    return Err(ApiError::new(ErrorCode::Unavailable)
                        .with_detail("too many sign-ins at once; retry shortly")
                        .with_retry_after(1));
                }
                let permit = self.permits.clone().acquire_owned().await;
                self.waiting.fetch_sub(1, Ordering::AcqRel);
                permit.map_err(ApiError::internal)?
            }
        };
        let result = tokio::task::spawn_blocking(move || {
            let out = job();
            drop(permit);
            out
        })
        .await
        .map_err(ApiError::internal)?;
        Ok(result)
    }

    /// Hashes a new password with the configured parameters.
    pub async fn hash(&self, password: &SecretString) -> Result<String, ApiError> {
        let password = SecretString::from(password.expose_secret().to_owned());
        let params = self.params;
        self.run(move || hash::hash_password(password.expose_secret().as_bytes(), &params))
            .await?
            .map_err(ApiError::internal)
    }

    /// Verifies `password` against `phc`, or — when there is no hash (unknown
    /// or invited user) — against a dummy of equal cost so the answer takes
    /// the same time. Returns false then.
    pub async fn verify(&self, password: &SecretString, phc: Option<String>) -> Result<bool, ApiError> {
        let password = SecretString::from(password.expose_secret().to_owned());
        let dummy = self.dummy.clone();
        self.run(move || match phc {
            // A malformed stored hash counts as a failed verification.
            Some(phc) => hash::verify_password(password.expose_secret().as_bytes(), &phc).unwrap_or(false),
            None => {
                let _ = dummy.verify(password.expose_secret().as_bytes());
                false
            }
        })
        .await
    }

    /// Whether `phc` should be re-hashed with the current parameters.
    pub fn needs_rehash(&self, phc: &str) -> bool {
        hash::needs_rehash(phc, &self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(workers: usize, queue: usize) -> HashPool {
        HashPool::new("argon2id:m=1024,t=1,p=1".parse().unwrap(), workers, queue).unwrap()
    }

    #[tokio::test]
    async fn hashes_and_verifies() {
        let pool = pool(1, 4);
        let pw = SecretString::from("a long enough password".to_owned());
        let phc = pool.hash(&pw).await.unwrap();
        assert!(pool.verify(&pw, Some(phc.clone())).await.unwrap());
        assert!(!pool.verify(&SecretString::from("other".to_owned()), Some(phc.clone())).await.unwrap());
        assert!(!pool.verify(&pw, None).await.unwrap(), "the dummy never matches");
        assert!(!pool.verify(&pw, Some("not a phc".into())).await.unwrap());
        assert!(!pool.needs_rehash(&phc));
    }

    #[tokio::test]
    async fn overflow_is_refused_at_once_with_retry_after() {
        let pool = pool(1, 0);
        // Occupy the only worker.
        let held = pool.permits.clone().try_acquire_owned().unwrap();
        let err = pool.verify(&SecretString::from("x".to_owned()), None).await.unwrap_err();
        assert_eq!((err.code, err.retry_after), (ErrorCode::Unavailable, Some(1)));
        drop(held);
        assert!(!pool.verify(&SecretString::from("x".to_owned()), None).await.unwrap());
    }

    #[tokio::test]
    async fn queued_requests_wait_for_a_worker() {
        let pool = Arc::new(pool(1, 1));
        let held = pool.permits.clone().try_acquire_owned().unwrap();
        let waiting = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.verify(&SecretString::from("x".to_owned()), None).await })
        };
        // Wait (without sleeping) until the request is queued.
        while pool.queued() == 0 {
            tokio::task::yield_now().await;
        }
        let err = pool.verify(&SecretString::from("y".to_owned()), None).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::Unavailable, "the queue holds one");
        drop(held);
        assert!(!waiting.await.unwrap().unwrap());
    }
}
