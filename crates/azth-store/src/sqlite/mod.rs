//! The embedded SQLite store: one file, one writer, a pool of readers.
//!
//! SQLite has no row-level security, so tenant isolation is enforced here:
//! every tenant-scoped query names the tenant it was given, and a tenant
//! transaction additionally scopes the few look-ups that take no tenant
//! argument (token hashes, tenants) to its own tenant, as PostgreSQL's
//! policies do for `app_user`.
//!
//! Concurrency: WAL mode, so readers never block the writer nor each other.
//! A transaction starts without a connection; reads borrow a reader (each
//! statement sees what was committed before it, like PostgreSQL's READ
//! COMMITTED), and the first write takes the single writer connection with
//! `BEGIN IMMEDIATE`, after which every statement of the transaction runs
//! there. Writers queue on the writer pool (bounded by the acquire timeout,
//! then 503) and, across processes such as `azth` CLI commands run beside
//! the server, on SQLite's busy timeout.

mod access;
mod admin_tenants;
mod admin_users;
mod audit;
mod audit_read;
mod keys;
pub mod migrate;
mod notifications;
mod otp;
mod recovery;
mod roles;
mod sessions;
mod tenants;
mod users;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use azth_core::AuditContext;
use chrono::{DateTime, Utc};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};
use uuid::Uuid;
use uuid::fmt::Hyphenated;

use crate::postgres::actor_label;
use crate::{PoolStats, Store, StoreError, Tx};

/// Settings of the SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteConfig {
    /// The database file; created (with its directory) when missing.
    pub path: PathBuf,
    /// Reader connections (the writer is always one).
    pub readers: u32,
    /// How long a request waits for a connection before answering 503.
    pub acquire_timeout: Duration,
    /// How long a statement waits for another process's write lock.
    pub busy_timeout: Duration,
}

impl SqliteConfig {
    /// Defaults for the file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            readers: 4,
            acquire_timeout: Duration::from_secs(5),
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// The SQLite implementation of [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    readers: SqlitePool,
    max: u32,
}

impl SqliteStore {
    /// Opens (creating when missing) the database file. Migrations are
    /// applied separately ([`migrate::up`]).
    pub async fn open(config: &SqliteConfig) -> Result<Self, StoreError> {
        if let Some(dir) = config.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::files::create_private_dir(dir)
                .map_err(|e| StoreError::Internal(format!("cannot create {}: {e}", dir.display())))?;
        }
        // SECURITY: the database (and with it its WAL and shared-memory
        // files) is readable by the azth user only (gap G10).
        if config.path.as_os_str() != ":memory:" {
            crate::files::ensure_private_file(&config.path)
                .map_err(|e| StoreError::Internal(format!("cannot create {}: {e}", config.path.display())))?;
        }
        let base = SqliteConnectOptions::from_str("sqlite://")
            .map_err(|e| StoreError::Internal(e.to_string()))?
            .filename(&config.path)
            .foreign_keys(true)
            // NORMAL in WAL mode: a commit survives a crash of azth; only a
            // power loss may drop the last transactions (never corrupts).
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(config.busy_timeout)
            // SECURITY: no extension loading, no trusted schema functions.
            .pragma("trusted_schema", "off");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .acquire_timeout(config.acquire_timeout)
            .connect_with(base.clone().journal_mode(SqliteJournalMode::Wal).create_if_missing(true))
            .await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(config.readers.max(1))
            .min_connections(0)
            .acquire_timeout(config.acquire_timeout)
            .connect_lazy_with(base.read_only(true));
        Ok(Self { writer, readers, max: config.readers.max(1) + 1 })
    }

    /// The writer pool, for migrations and tests.
    pub fn pool(&self) -> &SqlitePool {
        &self.writer
    }

    /// A tenant-scoped transaction with its concrete type.
    pub fn tenant_tx(&self, ctx: &AuditContext) -> SqliteTx {
        SqliteTx { store: self.clone(), scope: Some(ctx.tenant_id), audit: AuditRow::of(ctx, true), state: State::Idle }
    }

    /// A transaction that sees every tenant.
    pub fn system_tx(&self, reason: &'static str) -> SqliteTx {
        tracing::debug!(reason, "system transaction");
        SqliteTx {
            store: self.clone(),
            scope: None,
            audit: AuditRow { actor: Some("system"), ..AuditRow::default() },
            state: State::Idle,
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn tenant(&self, ctx: &AuditContext) -> Result<Box<dyn Tx>, StoreError> {
        Ok(Box::new(self.tenant_tx(ctx)))
    }

    async fn system(&self, reason: &'static str) -> Result<Box<dyn Tx>, StoreError> {
        Ok(Box::new(self.system_tx(reason)))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("select 1").execute(&self.readers).await?;
        Ok(())
    }

    fn pool_stats(&self) -> PoolStats {
        let size = self.writer.size() + self.readers.size();
        let idle = u32::try_from(self.writer.num_idle() + self.readers.num_idle()).unwrap_or(u32::MAX);
        PoolStats { size, idle, max: self.max }
    }
}

/// Who acts, as the audit triggers read it from `audit_context`.
#[derive(Debug, Clone, Default)]
struct AuditRow {
    tenant_id: Option<Uuid>,
    user_id: Option<Uuid>,
    ip_address: Option<String>,
    user_agent: Option<String>,
    actor: Option<&'static str>,
}

impl AuditRow {
    fn of(ctx: &AuditContext, with_tenant: bool) -> Self {
        Self {
            tenant_id: with_tenant.then_some(ctx.tenant_id),
            user_id: ctx.actor.user_id(),
            ip_address: ctx.ip.map(|ip| ip.to_string()),
            user_agent: ctx.user_agent.clone(),
            actor: Some(actor_label(ctx.actor)),
        }
    }
}

enum State {
    Idle,
    Read(PoolConnection<Sqlite>),
    Write(Transaction<'static, Sqlite>),
}

/// An open SQLite transaction (tenant or system).
pub struct SqliteTx {
    store: SqliteStore,
    /// The tenant of a tenant transaction; `None` for a system transaction.
    scope: Option<Uuid>,
    audit: AuditRow,
    state: State,
}

impl SqliteTx {
    /// A connection for reading: the writer once this transaction has
    /// written, else a reader.
    pub async fn read(&mut self) -> Result<&mut SqliteConnection, StoreError> {
        if matches!(self.state, State::Idle) {
            self.state = State::Read(self.store.readers.acquire().await?);
        }
        Ok(match &mut self.state {
            State::Read(conn) => &mut **conn,
            State::Write(tx) => &mut **tx,
            State::Idle => unreachable!("a connection was just acquired"),
        })
    }

    /// The writer connection inside this transaction's `BEGIN IMMEDIATE`.
    pub async fn write(&mut self) -> Result<&mut SqliteConnection, StoreError> {
        if !matches!(self.state, State::Write(_)) {
            // Give the reader back before waiting for the writer.
            self.state = State::Idle;
            let mut tx = self.store.writer.begin_with("BEGIN IMMEDIATE").await?;
            set_audit_context(&mut tx, &self.audit).await?;
            self.state = State::Write(tx);
        }
        match &mut self.state {
            State::Write(tx) => Ok(&mut **tx),
            _ => unreachable!("the writer was just taken"),
        }
    }

    /// The tenant of a tenant transaction (`None` for a system one).
    pub fn scope(&self) -> Option<Uuid> {
        self.scope
    }

    /// The scope as a bind value: `($n is null or tenant_id = $n)` filters
    /// look-ups that take no tenant argument.
    pub(crate) fn scope_text(&self) -> Option<Hyphenated> {
        self.scope.map(Uuid::hyphenated)
    }

    /// Refuses a write for another tenant inside a tenant transaction (what
    /// PostgreSQL's `WITH CHECK` policies do).
    pub(crate) fn check_scope(&self, tenant_id: Uuid) -> Result<(), StoreError> {
        match self.scope {
            Some(scope) if scope != tenant_id => {
                Err(StoreError::Internal("a tenant transaction may not write another tenant's rows".into()))
            }
            _ => Ok(()),
        }
    }

    /// Replaces who acts for the rest of the transaction.
    pub(crate) async fn set_actor(&mut self, ctx: &AuditContext) -> Result<(), StoreError> {
        let tenant_id = self.audit.tenant_id;
        self.audit = AuditRow { tenant_id, ..AuditRow::of(ctx, false) };
        if let State::Write(tx) = &mut self.state {
            set_audit_context(tx, &self.audit).await?;
        }
        Ok(())
    }
}

async fn set_audit_context(conn: &mut SqliteConnection, row: &AuditRow) -> Result<(), StoreError> {
    sqlx::query(
        "insert or replace into audit_context (id, tenant_id, user_id, ip_address, user_agent, actor)
         values (1, $1, $2, $3, $4, $5)",
    )
    .bind(row.tenant_id.map(Uuid::hyphenated))
    .bind(row.user_id.map(Uuid::hyphenated))
    .bind(&row.ip_address)
    .bind(&row.user_agent)
    .bind(row.actor)
    .execute(conn)
    .await?;
    Ok(())
}

#[async_trait]
impl Tx for SqliteTx {
    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        if let State::Write(mut tx) = self.state {
            // The context belongs to this transaction only.
            sqlx::query("delete from audit_context").execute(&mut *tx).await?;
            tx.commit().await?;
        }
        Ok(())
    }
}

/// A timestamp as stored: microseconds since the Unix epoch.
pub(crate) fn ts(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// The current time as stored.
pub(crate) fn now() -> i64 {
    ts(Utc::now())
}

/// A stored timestamp as a time.
pub(crate) fn at(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// A stored optional timestamp as a time.
pub(crate) fn at_opt(micros: Option<i64>) -> Option<DateTime<Utc>> {
    micros.map(at)
}

/// A uuid as stored (hyphenated text).
pub(crate) fn id(uuid: Uuid) -> Hyphenated {
    uuid.hyphenated()
}

/// An optional uuid as stored.
pub(crate) fn id_opt(uuid: Option<Uuid>) -> Option<Hyphenated> {
    uuid.map(Uuid::hyphenated)
}

/// A stored JSON array of strings (`amr`, `backup_codes`).
pub(crate) fn string_array(text: Option<&str>) -> Vec<String> {
    text.and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default()
}

/// A list of strings as a stored JSON array.
pub(crate) fn to_array(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}
