//! Shared state of the HTTP layer: the store, the cache, configuration and
//! the metrics handle. Cheap to clone (everything behind `Arc`).

use std::sync::Arc;

use azth_core::crypto::seal::MasterKey;
use azth_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::cache::Cache;
use crate::config::Config;
use crate::hashing::HashPool;
use crate::keys::KeyRing;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub cache: Arc<dyn Cache>,
    /// Lockout counters, rate limits and MFA tokens: the shared cache, with
    /// a per-node fallback while it is down (see `cache::fallback`).
    pub limits: Arc<dyn Cache>,
    pub metrics: PrometheusHandle,
    pub keys: Arc<KeyRing>,
    pub hasher: Arc<HashPool>,
    /// Seals secrets at rest and derives the keys that digest short codes.
    pub master: Arc<MasterKey>,
    /// Wakes this node's outbox worker after a commit that queued messages.
    pub outbox_wake: Arc<tokio::sync::Notify>,
    /// Whether this node trusts the cache's revocation markers (not while
    /// the cache failed or lost them: see `services::auth::Revocations`).
    pub revocations: Arc<crate::services::auth::Revocations>,
    /// Work a request hands off so its answer cannot depend on it (the
    /// existence-revealing half of forgot/resend/otp-send); awaited on shutdown.
    pub background: tokio_util::task::TaskTracker,
}

impl AppState {
    /// The key digesting one-time codes and backup codes (HMAC-SHA256).
    pub fn code_key(&self) -> zeroize::Zeroizing<[u8; 32]> {
        self.master.derive("short-codes")
    }
}
