//! The PostgreSQL store: tenant isolation enforced by row-level security.
//!
//! Tenant transactions run as `app_user` with the tenant, actor, ip and user
//! agent set transaction-locally (`set_config(…, true)`, never a session
//! `SET`, which would outlive the transaction on a pooled connection).

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
pub mod seed;
mod sessions;
mod tenants;
mod users;

use std::time::Duration;

use async_trait::async_trait;
use azth_core::model::User;
use azth_core::{Actor, AuditContext};
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection as _, PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::{PoolStats, Store, StoreError, Tx};

/// An idle connection is pinged before reuse once it has been idle this long.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// Connection settings of the PostgreSQL store.
#[derive(Clone)]
pub struct PgConfig {
    /// `postgres://user:password@host:port/db`; kept secret because it may hold a password.
    pub url: SecretString,
    pub max_connections: u32,
    pub min_connections: u32,
    /// How long a request waits for a free connection before answering 503.
    pub acquire_timeout: Duration,
    pub idle_timeout: Option<Duration>,
    pub max_lifetime: Option<Duration>,
    /// Server-side limit on one statement.
    pub statement_timeout: Duration,
}

impl std::fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConfig")
            .field("url", &redact_url(self.url.expose_secret()))
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .finish_non_exhaustive()
    }
}

/// Replaces the password of a connection URL with `***` for logs and errors.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}{tail}")
            } else {
                format!("{scheme}://{user}@{host}{tail}")
            }
        }
        None => url.to_owned(),
    }
}

/// The PostgreSQL implementation of [`Store`].
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    max: u32,
}

impl PgStore {
    /// Builds the pool without connecting: the server may start while the
    /// database is still down and answer 503 until it returns.
    pub fn connect_lazy(config: &PgConfig) -> Result<Self, StoreError> {
        let options: PgConnectOptions = config
            .url
            .expose_secret()
            .parse()
            .map_err(|_| StoreError::Internal("database url is not a valid postgres:// URL".into()))?;
        let statement_timeout = format!("{}ms", config.statement_timeout.as_millis());
        let options = options.application_name("azth").options([("statement_timeout", statement_timeout.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections)
            .min_connections(config.min_connections)
            .acquire_timeout(config.acquire_timeout)
            .idle_timeout(config.idle_timeout)
            .max_lifetime(config.max_lifetime)
            // A connection killed by the server (restart, pg_terminate_backend)
            // is detected before use instead of failing a request. sqlx
            // already pings every connection when it returns to the pool, so
            // only one that has since sat idle for a while is pinged again:
            // a ping on every acquire was one round trip in five of `GET /me`.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_IF_IDLE_FOR {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_lazy_with(options);
        Ok(Self { pool, max: config.max_connections })
    }

    /// The underlying pool, for migrations and tests.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A tenant-scoped transaction with its concrete type (store-internal use and tests).
    pub async fn tenant_tx(&self, ctx: &AuditContext) -> Result<PgTx, StoreError> {
        let mut tx = self.pool.begin().await?;
        let actor = ctx.actor.user_id().map(|id| id.to_string()).unwrap_or_default();
        let ip = ctx.ip.map(|ip| ip.to_string()).unwrap_or_default();
        // SECURITY: one statement switches to the RLS-bound role and sets the
        // tenant; both are transaction-local and vanish at commit/rollback.
        sqlx::query(
            "select set_config('role', 'app_user', true),
                    set_config('app.current_tenant_id', $1, true),
                    set_config('app.current_user_id', $2, true),
                    set_config('app.ip_address', $3, true),
                    set_config('app.user_agent', $4, true),
                    set_config('app.actor', $5, true)",
        )
        .bind(ctx.tenant_id.to_string())
        .bind(actor)
        .bind(ip)
        .bind(ctx.user_agent.as_deref().unwrap_or_default())
        .bind(actor_label(ctx.actor))
        .execute(&mut *tx)
        .await?;
        Ok(PgTx { tx })
    }

    /// A transaction as `app_admin`, which sees every tenant.
    pub async fn system_tx(&self, reason: &'static str) -> Result<PgTx, StoreError> {
        tracing::debug!(reason, "system transaction");
        let mut tx = self.pool.begin().await?;
        sqlx::query("select set_config('role', 'app_admin', true), set_config('app.actor', 'system', true)")
            .execute(&mut *tx)
            .await?;
        Ok(PgTx { tx })
    }
}

pub(crate) fn actor_label(actor: Actor) -> &'static str {
    match actor {
        Actor::User(_) => "user",
        Actor::Anonymous => "anonymous",
        Actor::Cli => "cli",
        Actor::System => "system",
    }
}

#[async_trait]
impl Store for PgStore {
    async fn tenant(&self, ctx: &AuditContext) -> Result<Box<dyn Tx>, StoreError> {
        Ok(Box::new(self.tenant_tx(ctx).await?))
    }

    async fn read_own_user(&self, tenant_id: Uuid, user_id: Uuid) -> Result<Option<User>, StoreError> {
        users::read_own_user(&self.pool, tenant_id, user_id).await
    }

    async fn system(&self, reason: &'static str) -> Result<Box<dyn Tx>, StoreError> {
        Ok(Box::new(self.system_tx(reason).await?))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }

    fn pool_stats(&self) -> PoolStats {
        let size = self.pool.size();
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        PoolStats { size, idle, max: self.max }
    }
}

/// An open PostgreSQL transaction (tenant or system).
pub struct PgTx {
    tx: Transaction<'static, Postgres>,
}

impl PgTx {
    /// The connection of this transaction, for queries of the store modules and tests.
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}

#[async_trait]
impl Tx for PgTx {
    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn urls_lose_their_password() {
        assert_eq!(redact_url("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
        assert_eq!(redact_url("redis://:pw@h:6379"), "redis://:***@h:6379");
        assert_eq!(redact_url("not a url"), "not a url");
    }
}
