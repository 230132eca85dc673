//! azth-store: persistence behind traits.
//!
//! Services see only the traits of this crate ([`Store`], [`Tx`]) and plain
//! domain types; SQL and sqlx types stay inside the driver modules
//! (`postgres/`, `sqlite/`). A store hands out two kinds of
//! transaction (ARCHITECTURE.md "Tenancy and row-level security"):
//!
//! * [`Store::tenant`] — scoped to one tenant: row-level security applies,
//!   and the actor, ip and user agent reach the audit trigger;
//! * [`Store::system`] — for the few named operations that precede knowing
//!   the tenant (token look-ups, tenant resolution, workers).

pub mod error;
pub mod files;
pub mod migrations;
pub mod postgres;
pub mod repo;
pub mod repo_admin;
pub mod repo_audit;
pub mod repo_notify;
pub mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

use async_trait::async_trait;
use azth_core::model::User;
use azth_core::{Actor, AuditContext};
use uuid::Uuid;

pub use error::StoreError;
pub use repo::{
    AccessRepo, AuditRecord, AuditRepo, KeyRepo, NewSession, NewTenant, NewUser, ProfilePatch, RefreshOutcome,
    SessionRepo, StoredKey, TenantRepo, UserRepo,
};
pub use repo_admin::{
    AdminTenantRepo, AdminUserPatch, AdminUserRepo, RoleRepo, TenantFilter, TenantPatch, TimeKey, UserFilter,
};
pub use repo_audit::{
    AuditEntry, AuditFilter, AuditLogRepo, NotificationAdminRepo, NotificationFilter, NotificationView, RetryOutcome,
};
pub use repo_notify::{
    DELIVERED_CONTENT, MaintenanceRepo, MfaState, NewNotification, NewOtp, NotificationRepo, OtpCheck, OtpCode,
    OtpRepo, OutboxMessage, Purged, RecoveryRepo, StoredTemplate, TemplateRepo,
};

/// Counters of the connection pool, exported as metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections, idle or in use.
    pub size: u32,
    /// Open connections waiting for work.
    pub idle: u32,
    /// The configured ceiling.
    pub max: u32,
}

/// A storage backend.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Opens a transaction acting in `ctx.tenant_id` on behalf of `ctx.actor`.
    async fn tenant(&self, ctx: &AuditContext) -> Result<Box<dyn Tx>, StoreError>;

    /// The user `user_id` of `tenant_id` (not deleted), read on that user's
    /// behalf: `GET /me`, the hottest read. A store may answer it in one
    /// round trip (PostgreSQL does).
    async fn read_own_user(&self, tenant_id: Uuid, user_id: Uuid) -> Result<Option<User>, StoreError> {
        let mut tx = self.tenant(&AuditContext::new(tenant_id, Actor::User(user_id))).await?;
        let user = tx.user_by_id(tenant_id, user_id).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Opens a transaction that sees every tenant. `reason` names why the
    /// operation cannot be tenant-scoped; it is logged at debug level.
    async fn system(&self, reason: &'static str) -> Result<Box<dyn Tx>, StoreError>;

    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Current connection pool figures.
    fn pool_stats(&self) -> PoolStats;
}

/// An open transaction with every repository. Dropping it without
/// [`Tx::commit`] rolls it back.
#[async_trait]
pub trait Tx:
    TenantRepo
    + UserRepo
    + AccessRepo
    + SessionRepo
    + KeyRepo
    + AuditRepo
    + RecoveryRepo
    + OtpRepo
    + NotificationRepo
    + TemplateRepo
    + MaintenanceRepo
    + RoleRepo
    + AdminUserRepo
    + AdminTenantRepo
    + AuditLogRepo
    + NotificationAdminRepo
    + Send
{
    /// Makes every change of the transaction durable, atomically.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}
