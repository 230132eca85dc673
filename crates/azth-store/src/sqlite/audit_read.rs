//! Reading the audit trail and the outbox in SQLite, for the administration
//! API.
//!
//! The queries are assembled from fixed fragments with only the filters that
//! are set (every value bound), so SQLite picks the tenant-leading index of
//! the filter (`idx_audit_logs_tenant_user`, `…_action`, `…_resource`, else
//! `…_created`). Rows come newest first, keyset-paged on `(created_at, id)`:
//! ids are lower-case hyphenated text, whose order is the order of the uuids.

use async_trait::async_trait;
use sqlx::{QueryBuilder, Sqlite};
use uuid::Uuid;
use uuid::fmt::Hyphenated;

use super::{SqliteTx, at, at_opt, id, now, ts};
use crate::{
    AuditEntry, AuditFilter, AuditLogRepo, NotificationAdminRepo, NotificationFilter, NotificationView, RetryOutcome,
    StoreError,
};

/// A `LIMIT` as PostgreSQL takes it: SQLite reads a negative limit as "no
/// limit", PostgreSQL refuses it.
pub(super) fn page_limit(limit: i64) -> Result<i64, StoreError> {
    if limit < 0 {
        return Err(StoreError::Internal("LIMIT must not be negative".to_owned()));
    }
    Ok(limit)
}

/// A stored JSON document (`old_values`, `new_values`).
fn json(text: Option<String>) -> Result<Option<serde_json::Value>, StoreError> {
    text.map(|t| serde_json::from_str(&t).map_err(|_| StoreError::Internal("an audit row holds invalid JSON".into())))
        .transpose()
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: Hyphenated,
    tenant_id: Option<Hyphenated>,
    user_id: Option<Hyphenated>,
    action: String,
    resource_type: String,
    resource_id: Option<Hyphenated>,
    old_values: Option<String>,
    new_values: Option<String>,
    ip_address: Option<String>,
    user_agent: Option<String>,
    created_at: i64,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;
    fn try_from(r: AuditRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id.into_uuid(),
            tenant_id: r.tenant_id.map(Hyphenated::into_uuid),
            user_id: r.user_id.map(Hyphenated::into_uuid),
            action: r.action,
            resource_type: r.resource_type,
            resource_id: r.resource_id.map(Hyphenated::into_uuid),
            old_values: json(r.old_values)?,
            new_values: json(r.new_values)?,
            ip_address: r.ip_address,
            user_agent: r.user_agent,
            created_at: at(r.created_at),
        })
    }
}

#[async_trait]
impl AuditLogRepo for SqliteTx {
    async fn list_audit(&mut self, tenant_id: Uuid, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        // SECURITY: no row-level security here: the tenant predicate is the isolation.
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "select id, tenant_id, user_id, action, resource_type, resource_id, old_values, new_values,
                    ip_address, user_agent, created_at
             from audit_logs where tenant_id = ",
        );
        q.push_bind(id(tenant_id));
        if let Some(user) = filter.user_id {
            q.push(" and user_id = ").push_bind(id(user));
        }
        if let Some(action) = &filter.action {
            q.push(" and action = ").push_bind(action.clone());
        }
        if let Some(kind) = &filter.resource_type {
            q.push(" and resource_type = ").push_bind(kind.clone());
        }
        if let Some(resource) = filter.resource_id {
            q.push(" and resource_id = ").push_bind(id(resource));
        }
        if let Some(from) = filter.from {
            q.push(" and created_at >= ").push_bind(ts(from));
        }
        if let Some(to) = filter.to {
            q.push(" and created_at < ").push_bind(ts(to));
        }
        if let Some((before_at, before_id)) = filter.before {
            q.push(" and (created_at, id) < (").push_bind(ts(before_at)).push(", ").push_bind(id(before_id)).push(")");
        }
        q.push(" order by created_at desc, id desc limit ").push_bind(page_limit(filter.limit)?);
        let rows: Vec<AuditRow> = q.build_query_as().fetch_all(self.read().await?).await?;
        rows.into_iter().map(AuditEntry::try_from).collect()
    }
}

const NOTIFICATION_COLUMNS: &str = "id, type, template, recipient, subject, status, sent_at, error_message,
    retry_count, max_retries, scheduled_at, created_at";

#[derive(sqlx::FromRow)]
struct NotificationRow {
    id: Hyphenated,
    #[sqlx(rename = "type")]
    kind: String,
    template: String,
    recipient: String,
    subject: Option<String>,
    status: String,
    sent_at: Option<i64>,
    error_message: Option<String>,
    retry_count: i32,
    max_retries: i32,
    scheduled_at: i64,
    created_at: i64,
}

impl From<NotificationRow> for NotificationView {
    fn from(r: NotificationRow) -> Self {
        Self {
            id: r.id.into_uuid(),
            kind: r.kind,
            template: r.template,
            recipient: r.recipient,
            subject: r.subject,
            status: r.status,
            sent_at: at_opt(r.sent_at),
            error_message: r.error_message,
            retry_count: r.retry_count,
            max_retries: r.max_retries,
            scheduled_at: at(r.scheduled_at),
            created_at: at(r.created_at),
        }
    }
}

#[async_trait]
impl NotificationAdminRepo for SqliteTx {
    async fn list_notifications(
        &mut self,
        tenant_id: Uuid,
        filter: &NotificationFilter,
    ) -> Result<Vec<NotificationView>, StoreError> {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new(format!("select {NOTIFICATION_COLUMNS} from notifications where tenant_id = "));
        q.push_bind(id(tenant_id));
        if let Some(status) = &filter.status {
            q.push(" and status = ").push_bind(status.clone());
        }
        if let Some(channel) = &filter.channel {
            q.push(" and type = ").push_bind(channel.clone());
        }
        if let Some(recipient) = &filter.recipient {
            // SQLite's lower() folds ASCII letters only (PostgreSQL's folds
            // every letter): recipients differing in non-ASCII case differ.
            q.push(" and lower(recipient) = lower(").push_bind(recipient.clone()).push(")");
        }
        if let Some((before_at, before_id)) = filter.before {
            q.push(" and (created_at, id) < (").push_bind(ts(before_at)).push(", ").push_bind(id(before_id)).push(")");
        }
        q.push(" order by created_at desc, id desc limit ").push_bind(page_limit(filter.limit)?);
        let rows: Vec<NotificationRow> = q.build_query_as().fetch_all(self.read().await?).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn notification_by_id(
        &mut self,
        tenant_id: Uuid,
        message: Uuid,
    ) -> Result<Option<NotificationView>, StoreError> {
        let sql = format!("select {NOTIFICATION_COLUMNS} from notifications where tenant_id = $1 and id = $2");
        let row: Option<NotificationRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(tenant_id))
            .bind(id(message))
            .fetch_optional(self.read().await?)
            .await?;
        Ok(row.map(Into::into))
    }

    async fn retry_notification(&mut self, tenant_id: Uuid, message: Uuid) -> Result<RetryOutcome, StoreError> {
        self.check_scope(tenant_id)?;
        // One conditional update on the single writer: a worker claiming or
        // finishing the row either went before (and the status says so) or
        // waits for this transaction.
        let sql = format!(
            "update notifications set status = 'pending', scheduled_at = $3, retry_count = 0
             where tenant_id = $1 and id = $2 and status in ('failed', 'retrying', 'pending')
             returning {NOTIFICATION_COLUMNS}"
        );
        let row: Option<NotificationRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(tenant_id))
            .bind(id(message))
            .bind(now())
            .fetch_optional(self.write().await?)
            .await?;
        if let Some(row) = row {
            return Ok(RetryOutcome::Queued(row.into()));
        }
        // Still on the writer: what the update saw.
        Ok(match self.notification_by_id(tenant_id, message).await? {
            Some(view) => RetryOutcome::Refused(view),
            None => RetryOutcome::NotFound,
        })
    }

    async fn delete_notification_template(&mut self, tenant_id: Uuid, name: &str) -> Result<bool, StoreError> {
        self.check_scope(tenant_id)?;
        let done = sqlx::query("delete from notification_templates where tenant_id = $1 and name = $2")
            .bind(id(tenant_id))
            .bind(name)
            .execute(self.write().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
