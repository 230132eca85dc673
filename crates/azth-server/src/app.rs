//! Building and running a server: store and cache from configuration,
//! migrations on start, listeners, graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use azth_store::migrations::MigrationStatus;
use azth_store::postgres::PgStore;
use azth_store::sqlite::SqliteStore;
use azth_store::{Store, StoreError};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use crate::cache::Cache;
use crate::cache::memory::MemoryCache;
use crate::cache::redis::RedisCache;
use crate::config::{Backend, Config};
use crate::hashing::HashPool;
use crate::keys::{KeyRing, load_master_key};
use crate::services::bootstrap::{self, Bootstrapped};
use crate::state::AppState;
use azth_core::crypto::hash::HashParams;

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Database(#[from] StoreError),
    #[error("cache: {0}")]
    Cache(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("keys: {0}")]
    Keys(#[from] crate::keys::KeyError),
    #[error("{0}")]
    Other(String),
}

/// The process-wide Prometheus recorder (a recorder can be installed once).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0])
                .map(|b| b.build_recorder())
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// An open database of either backend, for the commands that need more
/// than the [`Store`] trait (migrations, seeding).
#[derive(Clone)]
pub enum Database {
    Postgres(PgStore),
    Sqlite(SqliteStore),
}

impl Database {
    /// The store behind the services.
    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Self::Postgres(pg) => Arc::new(pg.clone()),
            Self::Sqlite(lite) => Arc::new(lite.clone()),
        }
    }

    /// Applies every pending migration.
    pub async fn migrate_up(&self) -> Result<(), StoreError> {
        match self {
            Self::Postgres(pg) => azth_store::postgres::migrate::up(pg.pool()).await,
            Self::Sqlite(lite) => azth_store::sqlite::migrate::up(lite.pool()).await,
        }
    }

    /// Reverts down to version `to` (exclusive), or the newest migration.
    pub async fn migrate_down(&self, to: Option<i64>) -> Result<Vec<i64>, StoreError> {
        match self {
            Self::Postgres(pg) => azth_store::postgres::migrate::down(pg.pool(), to).await,
            Self::Sqlite(lite) => azth_store::sqlite::migrate::down(lite.pool(), to).await,
        }
    }

    /// Every migration of this backend and whether it is applied.
    pub async fn migrate_status(&self) -> Result<Vec<MigrationStatus>, StoreError> {
        match self {
            Self::Postgres(pg) => azth_store::postgres::migrate::status(pg.pool()).await,
            Self::Sqlite(lite) => azth_store::sqlite::migrate::status(lite.pool()).await,
        }
    }
}

/// Opens the database of `config` (PostgreSQL, or the embedded SQLite file,
/// created with its directory when missing), applying pending migrations
/// when `migrate_now`, retrying for up to `wait` while PostgreSQL is down.
pub async fn open_store(config: &Config, migrate_now: bool, wait: Duration) -> Result<Database, StartError> {
    let db = match config.backend() {
        Backend::Postgres(pg) => Database::Postgres(PgStore::connect_lazy(&pg)?),
        Backend::Sqlite(lite) => {
            tracing::info!(path = %lite.path.display(), "embedded SQLite database");
            Database::Sqlite(SqliteStore::open(&lite).await?)
        }
    };
    if migrate_now {
        let deadline = Instant::now() + wait;
        loop {
            match db.migrate_up().await {
                Ok(()) => break,
                Err(e) if e.is_unavailable() && Instant::now() < deadline => {
                    tracing::warn!(error = %e, "database not reachable yet; retrying migrations");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(db)
}

/// Opens the cache of `config`: Redis when a URL is set, else in-process.
pub fn open_cache(config: &Config) -> Result<Arc<dyn Cache>, StartError> {
    Ok(match &config.redis.url {
        Some(url) => Arc::new(
            RedisCache::connect_lazy(
                url.expose_secret(),
                &config.redis.key_prefix,
                Duration::from_millis(config.redis.command_timeout_ms),
            )
            .map_err(|e| StartError::Cache(e.to_string()))?,
        ),
        None => Arc::new(MemoryCache::new(100_000)),
    })
}

/// A server ready to run: listeners bound, dependencies prepared.
pub struct Application {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    state: AppState,
    router: Router,
    bootstrapped: Option<Bootstrapped>,
    /// Set when azth terminates TLS itself.
    tls: Option<Arc<rustls::ServerConfig>>,
}

/// Opens everything a server or a CLI command needs: store (migrated when
/// configured), cache, master key, key ring and hashing pool.
pub async fn open_state(config: Config) -> Result<AppState, StartError> {
    crate::install_crypto_provider();
    let store = open_store(&config, config.database.migrate_on_start, Duration::from_secs(30)).await?.store();
    let cache = open_cache(&config)?;
    let limits: Arc<dyn Cache> = match &config.redis.url {
        Some(_) => Arc::new(crate::cache::fallback::Fallback::new(cache.clone(), 100_000)),
        None => cache.clone(),
    };
    let master = Arc::new(load_master_key(&config)?);
    let keys = Arc::new(KeyRing::load(store.clone(), master.clone()).await?);
    let params: HashParams =
        config.password_hash.parse().map_err(|e| StartError::Other(format!("password_hash: {e}")))?;
    let hasher = Arc::new(
        HashPool::new(params, config.hash_pool.workers, config.hash_pool.queue)
            .map_err(|e| StartError::Other(format!("hashing pool: {}", e.code)))?,
    );
    Ok(AppState {
        config: Arc::new(config),
        store,
        cache,
        limits,
        metrics: metrics_handle(),
        keys,
        hasher,
        master,
        outbox_wake: Arc::new(tokio::sync::Notify::new()),
        revocations: Arc::default(),
        background: tokio_util::task::TaskTracker::new(),
    })
}

impl Application {
    /// Builds the server described by `config`.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        Self::build_with(config, Router::new()).await
    }

    /// Builds the server with extra routes merged in (test probes).
    pub async fn build_with(config: Config, extra: Router<AppState>) -> Result<Self, StartError> {
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Listen { addr: config.listen, source })?;
        let metrics_listener = match config.metrics_listen {
            Some(addr) => Some(TcpListener::bind(addr).await.map_err(|source| StartError::Listen { addr, source })?),
            None => None,
        };
        let tls = match (&config.http.tls_cert, &config.http.tls_key) {
            (Some(cert), Some(key)) => {
                crate::install_crypto_provider();
                Some(crate::tls::server_config(cert, key).map_err(StartError::Other)?)
            }
            _ => None,
        };
        let state = open_state(config).await?;
        let bootstrapped =
            bootstrap::ensure(&state.config, state.store.as_ref(), &state.hasher).await.map_err(|e| {
                StartError::Other(format!(
                    "bootstrap failed: {}",
                    e.detail.clone().unwrap_or_else(|| e.code.to_string())
                ))
            })?;
        crate::services::auth::warm_revocations(&state).await;
        let router = crate::http::router(state.clone(), extra);
        Ok(Self { listener, metrics_listener, state, router, bootstrapped, tls })
    }

    /// The address the API listens on (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| self.state.config.listen)
    }

    /// The address of the separate metrics listener, if any.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// What the first start created (the generated admin password is in it, once).
    pub fn take_bootstrapped(&mut self) -> Option<Bootstrapped> {
        self.bootstrapped.take()
    }

    /// The shared state (for tests and the CLI).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish
    /// for at most the configured grace period.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let grace = Duration::from_secs(self.state.config.http.shutdown_grace_secs);
        let (tx, rx) = tokio::sync::watch::channel(false);
        let mut stop_metrics = rx.clone();
        if let Some(listener) = self.metrics_listener {
            let router = crate::http::metrics_router(self.state.clone());
            tokio::spawn(async move {
                let _ = axum::serve(listener, router)
                    .with_graceful_shutdown(async move {
                        let _ = stop_metrics.wait_for(|v| *v).await;
                    })
                    .await;
            });
        }
        // Deliver queued messages, and keep the audit trail and expired rows in order.
        let sender = senders(&self.state.config).map_err(std::io::Error::other)?;
        let mut background = Vec::new();
        for _ in 0..self.state.config.outbox.workers {
            background.push(tokio::spawn(crate::notify::run(self.state.clone(), sender.clone(), rx.clone())));
        }
        background.push(tokio::spawn(crate::maintenance::run(self.state.clone(), rx.clone())));
        background.push(tokio::spawn(crate::services::auth::flush_revocations(self.state.clone(), rx.clone())));
        // Pick up signing keys rotated by another node or the CLI, and give
        // back the hashing workers' memory once sign-ins have paused.
        let keys = self.state.keys.clone();
        let hasher = self.state.hasher.clone();
        let mut stop_keys = rx.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(15));
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        keys.refresh_if_stale().await;
                        let released = hasher.release_idle(crate::hashing::RELEASE_AFTER);
                        if released > 0 {
                            tracing::debug!(released, "hashing pool idle: working memory released");
                        }
                    }
                    _ = stop_keys.changed() => break,
                }
            }
        });
        let mut stopped = rx.clone();
        let stopping = async move {
            let _ = stopped.wait_for(|v| *v).await;
        };
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        let server: std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> = match self.tls {
            Some(config) => {
                use axum::serve::ListenerExt;
                let listener = crate::tls::TlsListener::new(self.listener, config)?.tap_io(|_| {});
                Box::pin(axum::serve(listener, service).with_graceful_shutdown(stopping).into_future())
            }
            None => Box::pin(axum::serve(self.listener, service).with_graceful_shutdown(stopping).into_future()),
        };
        let server = tokio::spawn(server);
        shutdown.await;
        tracing::info!(grace_secs = grace.as_secs(), "shutting down: finishing in-flight requests");
        let _ = tx.send(true);
        let result = tokio::time::timeout(grace, server).await;
        // Work handed off by requests (reset links, codes) completes.
        self.state.background.close();
        if tokio::time::timeout(grace, self.state.background.wait()).await.is_err() {
            tracing::warn!("shutdown grace period over with handed-off work unfinished");
        }
        // Workers finish the message in hand; unfinished claims expire.
        for task in background {
            let _ = tokio::time::timeout(grace, task).await;
        }
        match result {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(std::io::Error::other(join)),
            Err(_) => {
                tracing::warn!("shutdown grace period over; dropping remaining connections");
                Ok(())
            }
        }
    }
}

/// The senders of `config`: SMTP and the webhook where configured, the
/// file outbox for the rest.
pub fn senders(config: &Config) -> Result<Arc<dyn crate::notify::Sender>, String> {
    use crate::notify::{ByChannel, Sender, file::FileOutbox, smtp::Smtp, webhook::Webhook};
    let file: Arc<dyn Sender> = Arc::new(FileOutbox::new(config.data_dir.join("outbox")));
    let email: Arc<dyn Sender> = match &config.smtp_url {
        Some(url) => Arc::new(Smtp::new(url.expose_secret(), &config.smtp_from)?),
        None => file.clone(),
    };
    let sms: Arc<dyn Sender> = match (&config.sms_webhook_url, &config.sms_webhook_secret) {
        (Some(url), Some(secret)) => Arc::new(Webhook::new(url, secret.clone())?),
        _ => file.clone(),
    };
    Ok(Arc::new(ByChannel { email, push: sms.clone(), sms }))
}

/// Completes on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
