//! The bounded Argon2 pool: at most `workers` hashes run at once on the
//! blocking thread pool, at most `queue` requests wait for one, and the rest
//! are answered 503 with `Retry-After` at once instead of piling up (a login
//! flood must not starve the cheap endpoints).
//!
//! Each worker slot owns an Argon2 working memory ([`HashMemory`]) reused
//! from one hash to the next, so hashing holds at most `workers` × `m` KiB
//! however many requests pass through (it was allocated per call, and the
//! allocator's per-thread caches grew the process to hundreds of MiB), and
//! gives it back once the pool has been idle for [`RELEASE_AFTER`].

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use azth_core::ErrorCode;
use azth_core::crypto::hash::{self, DummyHash, HashMemory, HashParams};
use secrecy::{ExposeSecret, SecretString};
use thread_priority::{ThreadPriority, ThreadPriorityValue, set_current_thread_priority};
use tokio::sync::Semaphore;

use crate::http::ApiError;

/// Idle time after which the workers' memory is given back.
pub const RELEASE_AFTER: Duration = Duration::from_secs(30);

/// The hashing pool.
pub struct HashPool {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
    params: HashParams,
    dummy: Arc<DummyHash>,
    /// One working memory per worker slot: a job holding a permit takes one.
    memories: Arc<Mutex<Vec<HashMemory>>>,
    /// Hand-over to the worker threads (never more than `workers` jobs:
    /// a job holds a permit).
    jobs: Mutex<mpsc::Sender<Job>>,
    /// When the pool was created, and milliseconds since then of the last hash.
    epoch: Instant,
    last_used_ms: Arc<AtomicU64>,
}

impl HashPool {
    /// A pool running `workers` hashes at once (0 = one per core).
    pub fn new(params: HashParams, workers: usize, queue: usize) -> Result<Self, ApiError> {
        let workers =
            if workers == 0 { std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) } else { workers };
        let dummy = DummyHash::new(&params).map_err(ApiError::internal)?;
        let memories = (0..workers)
            .map(|_| HashMemory::new(&params))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ApiError::internal)?;
        let (jobs, queue_rx) = mpsc::channel::<Job>();
        let queue_rx = Arc::new(Mutex::new(queue_rx));
        for i in 0..workers {
            let queue_rx = queue_rx.clone();
            std::thread::Builder::new()
                .name(format!("azth-hash-{i}"))
                .spawn(move || worker(&queue_rx))
                .map_err(ApiError::internal)?;
        }
        Ok(Self {
            jobs: Mutex::new(jobs),
            memories: Arc::new(Mutex::new(memories)),
            epoch: Instant::now(),
            last_used_ms: Arc::new(AtomicU64::new(0)),
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

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut HashMemory) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
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
                // Counted out on every exit, including a request dropped while
                // it waits (the client went away): a leaked count would shrink
                // the queue until every sign-in was refused.
                let _waiting = Waiting(&self.waiting);
                self.permits.clone().acquire_owned().await.map_err(ApiError::internal)?
            }
        };
        let memories = self.memories.clone();
        let params = self.params;
        let (epoch, last_used_ms) = (self.epoch, self.last_used_ms.clone());
        let (done, result) = tokio::sync::oneshot::channel();
        let work: Job = Box::new(move || {
            // A permit holder always finds a memory (one per permit); the
            // fallback only guards against a bug, at the cost of an allocation.
            let taken = memories.lock().unwrap_or_else(PoisonError::into_inner).pop();
            let out = match taken.map_or_else(|| HashMemory::new(&params), Ok) {
                Ok(mut memory) => {
                    let out = job(&mut memory);
                    memories.lock().unwrap_or_else(PoisonError::into_inner).push(memory);
                    Ok(out)
                }
                Err(e) => Err(ApiError::internal(e)),
            };
            last_used_ms.store(millis_since(epoch), Ordering::Relaxed);
            drop(permit);
            let _ = done.send(out);
        });
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(work)
            .map_err(|_| ApiError::internal("the hashing workers are gone"))?;
        // A job that panicked drops `done`: an internal error, not a hang.
        result.await.map_err(|_| ApiError::internal("a hashing job failed"))?
    }

    /// Gives back the working memory of idle workers when no hash has run
    /// for `idle`; returns the bytes released. Called periodically.
    pub fn release_idle(&self, idle: Duration) -> usize {
        let since_last = millis_since(self.epoch).saturating_sub(self.last_used_ms.load(Ordering::Relaxed));
        if u128::from(since_last) < idle.as_millis() {
            return 0;
        }
        let mut memories = self.memories.lock().unwrap_or_else(PoisonError::into_inner);
        memories
            .iter_mut()
            .map(|memory| {
                let held = memory.held_bytes();
                memory.release();
                held
            })
            .sum()
    }

    /// Working memory held by idle workers, in bytes.
    pub fn held_bytes(&self) -> usize {
        self.memories.lock().unwrap_or_else(PoisonError::into_inner).iter().map(HashMemory::held_bytes).sum()
    }

    /// Hashes a new password with the configured parameters.
    pub async fn hash(&self, password: &SecretString) -> Result<String, ApiError> {
        let password = SecretString::from(password.expose_secret().to_owned());
        let params = self.params;
        self.run(move |memory| hash::hash_password_with(password.expose_secret().as_bytes(), &params, memory))
            .await?
            .map_err(ApiError::internal)
    }

    /// Verifies `password` against `phc`, or — when there is no hash (unknown
    /// or invited user) — against a dummy of equal cost so the answer takes
    /// the same time. Returns false then.
    pub async fn verify(&self, password: &SecretString, phc: Option<String>) -> Result<bool, ApiError> {
        let password = SecretString::from(password.expose_secret().to_owned());
        let dummy = self.dummy.clone();
        self.run(move |memory| match phc {
            // A malformed stored hash counts as a failed verification.
            Some(phc) => hash::verify_password_with(password.expose_secret().as_bytes(), &phc, memory).unwrap_or(false),
            None => {
                let _ = dummy.verify_with(password.expose_secret().as_bytes(), memory);
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

type Job = Box<dyn FnOnce() + Send>;

/// One request waiting for a worker; leaves the count when dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One hashing thread: runs jobs until the pool is dropped.
///
/// It lowers its own CPU priority first (nice 10 on Linux): when cheap
/// requests are waiting for a core, the scheduler gives it to them, and a
/// login flood slows logins rather than everything else; an idle core still
/// goes to hashing, so logins alone run at full speed.
fn worker(jobs: &Mutex<mpsc::Receiver<Job>>) {
    if let Err(e) = ThreadPriorityValue::try_from(HASHING_PRIORITY)
        .map_err(|e| e.to_owned())
        .and_then(|p| set_current_thread_priority(ThreadPriority::Crossplatform(p)).map_err(|e| format!("{e:?}")))
    {
        tracing::warn!(error = %e, "could not lower the priority of a hashing thread");
    }
    loop {
        let job = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = job else {
            return;
        };
        // A panicking job loses its answer (the caller sees an error), not the worker.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

/// thread-priority's cross-platform scale (0–99); 22 is nice 10 on Linux.
const HASHING_PRIORITY: u8 = 22;

fn millis_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
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
    async fn workers_reuse_their_memory() {
        let pool = pool(2, 8);
        let pw = SecretString::from("a long enough password".to_owned());
        let mut phcs = Vec::new();
        for _ in 0..6 {
            phcs.push(pool.hash(&pw).await.unwrap());
        }
        for phc in phcs {
            assert!(pool.verify(&pw, Some(phc)).await.unwrap());
        }
        assert_eq!(pool.memories.lock().unwrap().len(), 2, "every memory came back");
        let held = pool.held_bytes();
        assert!(held > 0 && held <= 2 * 1024 * 1024, "at most one m=1024 KiB block per worker: {held}");
        // Not idle for an hour yet: kept. Idle for zero: given back.
        assert_eq!(pool.release_idle(Duration::from_secs(3600)), 0);
        assert_eq!(pool.held_bytes(), held);
        assert_eq!(pool.release_idle(Duration::ZERO), held);
        assert_eq!(pool.held_bytes(), 0);
        assert!(pool.verify(&pw, Some(pool.hash(&pw).await.unwrap())).await.unwrap(), "works after a release");
    }

    /// The nice value of the calling thread (field 19 of /proc/thread-self/stat).
    fn own_nice() -> i64 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        // The command name (field 2) may hold spaces; fields after its ')' are plain.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        rest.split(' ').nth(16).unwrap().parse().unwrap()
    }

    #[tokio::test]
    async fn hashes_run_on_named_threads_at_lower_priority() {
        let pool = pool(2, 0);
        let (name, nice) = pool.run(|_| (std::thread::current().name().map(str::to_owned), own_nice())).await.unwrap();
        assert!(name.is_some_and(|n| n.starts_with("azth-hash-")));
        assert_eq!(nice, own_nice() + 10, "nice 10 relative to the caller");
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_and_the_workers_survive() {
        let pool = pool(1, 0);
        let err = pool.run(|_| -> u8 { panic!("boom") }).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::Internal);
        assert_eq!(pool.run(|_| 7).await.unwrap(), 7);
        let pw = SecretString::from("a long enough password".to_owned());
        assert!(pool.verify(&pw, Some(pool.hash(&pw).await.unwrap())).await.unwrap());
    }

    /// Starts a verification that has to wait (every worker is held) and
    /// returns once it is queued — without sleeping.
    async fn queue_one(pool: &Arc<HashPool>) -> tokio::task::JoinHandle<Result<bool, ApiError>> {
        let waiting = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.verify(&SecretString::from("x".to_owned()), None).await })
        };
        while pool.queued() == 0 {
            tokio::task::yield_now().await;
        }
        waiting
    }

    #[tokio::test]
    async fn a_waiting_request_that_is_dropped_leaves_the_queue() {
        let pool = Arc::new(pool(1, 1));
        let held = pool.permits.clone().try_acquire_owned().unwrap();
        let waiting = queue_one(&pool).await;
        // The client goes away: its request future is dropped while it waits.
        waiting.abort();
        assert!(waiting.await.unwrap_err().is_cancelled());
        assert_eq!(pool.queued(), 0, "the aborted request left the queue");
        drop(held);
        assert!(!pool.verify(&SecretString::from("y".to_owned()), None).await.unwrap(), "the queue still takes one");
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
        let waiting = queue_one(&pool).await;
        let err = pool.verify(&SecretString::from("y".to_owned()), None).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::Unavailable, "the queue holds one");
        drop(held);
        assert!(!waiting.await.unwrap().unwrap());
    }
}
