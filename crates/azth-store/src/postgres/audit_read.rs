//! Reading the audit trail and the outbox in PostgreSQL, for the
//! administration API.
//!
//! The audit query is assembled from fixed fragments with only the filters
//! that are set (every value bound), so PostgreSQL plans each combination
//! against the tenant-leading indexes of 0002 (`(tenant_id, created_at desc,
//! id desc)`, `(tenant_id, user_id, …)`, `(tenant_id, action, …)`,
//! `(tenant_id, resource_type, resource_id, …)`) instead of a generic plan
//! full of `$n is null or …`. `from`/`to` and the cursor are bounds on
//! `created_at`, the partition key, so the monthly partitions outside them
//! are pruned.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use super::PgTx;
use crate::{
    AuditEntry, AuditFilter, AuditLogRepo, NotificationAdminRepo, NotificationFilter, NotificationView, RetryOutcome,
    StoreError,
};

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: Uuid,
    tenant_id: Option<Uuid>,
    user_id: Option<Uuid>,
    action: String,
    resource_type: String,
    resource_id: Option<Uuid>,
    old_values: Option<serde_json::Value>,
    new_values: Option<serde_json::Value>,
    ip_address: Option<String>,
    user_agent: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> Self {
        Self {
            id: r.id,
            tenant_id: r.tenant_id,
            user_id: r.user_id,
            action: r.action,
            resource_type: r.resource_type,
            resource_id: r.resource_id,
            old_values: r.old_values,
            new_values: r.new_values,
            ip_address: r.ip_address,
            user_agent: r.user_agent,
            created_at: r.created_at,
        }
    }
}

#[async_trait]
impl AuditLogRepo for PgTx {
    async fn list_audit(&mut self, tenant_id: Uuid, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        // SECURITY: the explicit tenant predicate doubles row-level security.
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
            "select id, tenant_id, user_id, action, resource_type, resource_id, old_values, new_values,
                    host(ip_address) as ip_address, user_agent, created_at
             from audit_logs where tenant_id = ",
        );
        q.push_bind(tenant_id);
        if let Some(user) = filter.user_id {
            q.push(" and user_id = ").push_bind(user);
        }
        if let Some(action) = &filter.action {
            q.push(" and action = ").push_bind(action.clone());
        }
        if let Some(kind) = &filter.resource_type {
            q.push(" and resource_type = ").push_bind(kind.clone());
        }
        if let Some(id) = filter.resource_id {
            q.push(" and resource_id = ").push_bind(id);
        }
        if let Some(from) = filter.from {
            q.push(" and created_at >= ").push_bind(from);
        }
        if let Some(to) = filter.to {
            q.push(" and created_at < ").push_bind(to);
        }
        if let Some((at, id)) = filter.before {
            // The plain bound lets the planner prune newer partitions; the
            // row comparison is the exact keyset condition.
            q.push(" and created_at <= ").push_bind(at);
            q.push(" and (created_at, id) < (").push_bind(at).push(", ").push_bind(id).push(")");
        }
        q.push(" order by created_at desc, id desc limit ").push_bind(filter.limit);
        let rows: Vec<AuditRow> = q.build_query_as().fetch_all(self.conn()).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}

const NOTIFICATION_COLUMNS: &str = "id, type, template, recipient, subject, status, sent_at, error_message,
    retry_count, max_retries, scheduled_at, created_at";

#[derive(sqlx::FromRow)]
struct NotificationRow {
    id: Uuid,
    #[sqlx(rename = "type")]
    kind: String,
    template: String,
    recipient: String,
    subject: Option<String>,
    status: String,
    sent_at: Option<DateTime<Utc>>,
    error_message: Option<String>,
    retry_count: i32,
    max_retries: i32,
    scheduled_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

impl From<NotificationRow> for NotificationView {
    fn from(r: NotificationRow) -> Self {
        Self {
            id: r.id,
            kind: r.kind,
            template: r.template,
            recipient: r.recipient,
            subject: r.subject,
            status: r.status,
            sent_at: r.sent_at,
            error_message: r.error_message,
            retry_count: r.retry_count,
            max_retries: r.max_retries,
            scheduled_at: r.scheduled_at,
            created_at: r.created_at,
        }
    }
}

#[async_trait]
impl NotificationAdminRepo for PgTx {
    async fn list_notifications(
        &mut self,
        tenant_id: Uuid,
        filter: &NotificationFilter,
    ) -> Result<Vec<NotificationView>, StoreError> {
        let mut q: QueryBuilder<Postgres> =
            QueryBuilder::new(format!("select {NOTIFICATION_COLUMNS} from notifications where tenant_id = "));
        q.push_bind(tenant_id);
        if let Some(status) = &filter.status {
            q.push(" and status = ").push_bind(status.clone());
        }
        if let Some(channel) = &filter.channel {
            q.push(" and type = ").push_bind(channel.clone());
        }
        if let Some(recipient) = &filter.recipient {
            q.push(" and lower(recipient) = lower(").push_bind(recipient.clone()).push(")");
        }
        if let Some((at, id)) = filter.before {
            q.push(" and (created_at, id) < (").push_bind(at).push(", ").push_bind(id).push(")");
        }
        q.push(" order by created_at desc, id desc limit ").push_bind(filter.limit);
        let rows: Vec<NotificationRow> = q.build_query_as().fetch_all(self.conn()).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn notification_by_id(&mut self, tenant_id: Uuid, id: Uuid) -> Result<Option<NotificationView>, StoreError> {
        let sql = format!("select {NOTIFICATION_COLUMNS} from notifications where tenant_id = $1 and id = $2");
        let row: Option<NotificationRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant_id).bind(id).fetch_optional(self.conn()).await?;
        Ok(row.map(Into::into))
    }

    async fn retry_notification(&mut self, tenant_id: Uuid, id: Uuid) -> Result<RetryOutcome, StoreError> {
        // One conditional update: a worker claiming or finishing the row at
        // the same moment either happens before (and the status says so) or
        // waits for this transaction.
        let sql = format!(
            "update notifications set status = 'pending', scheduled_at = now(), retry_count = 0
             where tenant_id = $1 and id = $2 and status in ('failed', 'retrying', 'pending')
             returning {NOTIFICATION_COLUMNS}"
        );
        let row: Option<NotificationRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant_id).bind(id).fetch_optional(self.conn()).await?;
        if let Some(row) = row {
            // Same signal as a new message (insert_notification).
            sqlx::query("select pg_notify('azth_outbox', '')").execute(self.conn()).await?;
            return Ok(RetryOutcome::Queued(row.into()));
        }
        Ok(match self.notification_by_id(tenant_id, id).await? {
            Some(view) => RetryOutcome::Refused(view),
            None => RetryOutcome::NotFound,
        })
    }

    async fn delete_notification_template(&mut self, tenant_id: Uuid, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("delete from notification_templates where tenant_id = $1 and name = $2")
            .bind(tenant_id)
            .bind(name)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
