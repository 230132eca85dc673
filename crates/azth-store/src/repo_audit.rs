//! Reading the audit trail and the notification outbox as administrators
//! do (API.md "Administration": `GET /audit-logs`, `/audit-logs/export`,
//! `/notifications`), and operator retries of failed messages. Every method
//! takes the tenant id explicitly, like those of [`crate::repo`]; PostgreSQL
//! also enforces it with row-level security.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::{StoreError, TimeKey};

/// How `GET /audit-logs` picks its rows: every filter that is set must
/// match; rows come newest first, keyset-paged on `(created_at, id)`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub user_id: Option<Uuid>,
    /// Exact action, e.g. `auth.login.failed` or `UPDATE`.
    pub action: Option<String>,
    /// Exact resource type (a table name for trigger rows).
    pub resource_type: Option<String>,
    pub resource_id: Option<Uuid>,
    /// Rows created at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Rows created strictly before this instant.
    pub to: Option<DateTime<Utc>>,
    /// Rows strictly before this position, in `(created_at, id)` descending order.
    pub before: Option<TimeKey>,
    /// At most this many rows.
    pub limit: i64,
}

/// One row of the audit trail, as API.md's "audit row".
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<Uuid>,
    pub old_values: Option<serde_json::Value>,
    pub new_values: Option<serde_json::Value>,
    /// The client address without a netmask.
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// How `GET /notifications` picks its rows (newest first, keyset on `(created_at, id)`).
#[derive(Debug, Clone, Default)]
pub struct NotificationFilter {
    /// `pending`, `sending`, `retrying`, `sent` or `failed`.
    pub status: Option<String>,
    /// `email`, `sms` or `push` (the `type` column).
    pub channel: Option<String>,
    /// Recipient (address or phone number), compared case-insensitively.
    pub recipient: Option<String>,
    pub before: Option<TimeKey>,
    pub limit: i64,
}

/// A notification as the API shows it: everything but the content, which
/// holds live links and codes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotificationView {
    pub id: Uuid,
    /// The channel: `email`, `sms` or `push`.
    #[serde(rename = "type")]
    pub kind: String,
    pub template: String,
    pub recipient: String,
    pub subject: Option<String>,
    pub status: String,
    pub sent_at: Option<DateTime<Utc>>,
    pub error_message: Option<String>,
    pub retry_count: i32,
    pub max_retries: i32,
    pub scheduled_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// What asking to retry a notification did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryOutcome {
    /// Queued again: `pending`, due now, with a fresh retry budget.
    Queued(NotificationView),
    /// Sent already, or being delivered right now: left alone.
    Refused(NotificationView),
    /// No such notification in the tenant.
    NotFound,
}

/// The audit trail, read.
#[async_trait]
pub trait AuditLogRepo {
    /// One page (or export batch) of the tenant's audit rows, newest first.
    async fn list_audit(&mut self, tenant_id: Uuid, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError>;
}

/// The outbox as administrators see it, and template resets.
#[async_trait]
pub trait NotificationAdminRepo {
    async fn list_notifications(
        &mut self,
        tenant_id: Uuid,
        filter: &NotificationFilter,
    ) -> Result<Vec<NotificationView>, StoreError>;
    async fn notification_by_id(&mut self, tenant_id: Uuid, id: Uuid) -> Result<Option<NotificationView>, StoreError>;
    /// Puts a `failed`, `retrying` or `pending` notification back in the
    /// queue, due now, with `retry_count` reset to 0.
    async fn retry_notification(&mut self, tenant_id: Uuid, id: Uuid) -> Result<RetryOutcome, StoreError>;
    /// Removes the tenant's override of a template; false when there was none.
    async fn delete_notification_template(&mut self, tenant_id: Uuid, name: &str) -> Result<bool, StoreError>;
}
