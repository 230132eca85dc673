//! The notification outbox, message templates and housekeeping in SQLite.
//!
//! Rows are written in the request's transaction; workers claim them with
//! one `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING`, atomic under the
//! single writer (PostgreSQL needs `FOR UPDATE SKIP LOCKED` for that).
//! There is no `pg_notify`: the server wakes its own worker in process, and
//! other processes sharing the file are picked up by the worker's polling.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use uuid::fmt::Hyphenated;

use super::audit_read::page_limit;
use super::{SqliteTx, at, id, id_opt, now, ts};
use crate::{
    DELIVERED_CONTENT, MaintenanceRepo, NewNotification, NotificationRepo, OutboxMessage, Purged, StoreError,
    StoredTemplate, TemplateRepo,
};

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: Hyphenated,
    tenant_id: Hyphenated,
    #[sqlx(rename = "type")]
    kind: String,
    template: String,
    recipient: String,
    subject: Option<String>,
    content: String,
    html_content: Option<String>,
    retry_count: i32,
    max_retries: i32,
    created_at: i64,
}

#[async_trait]
impl NotificationRepo for SqliteTx {
    async fn insert_notification(&mut self, new: &NewNotification) -> Result<Uuid, StoreError> {
        self.check_scope(new.tenant_id)?;
        let message = Uuid::now_v7();
        sqlx::query(
            "insert into notifications (id, tenant_id, user_id, type, template, recipient, subject, content,
                                        html_content, scheduled_at, created_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        )
        .bind(id(message))
        .bind(id(new.tenant_id))
        .bind(id_opt(new.user_id))
        .bind(&new.kind)
        .bind(&new.template)
        .bind(&new.recipient)
        .bind(&new.subject)
        .bind(&new.content)
        .bind(&new.html_content)
        .bind(now())
        .execute(self.write().await?)
        .await?;
        Ok(message)
    }

    async fn claim_notifications(
        &mut self,
        limit: i64,
        lease: chrono::Duration,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        // A claimed row becomes `sending` with scheduled_at = end of the
        // lease: if this worker dies, the row is due again after it.
        let stamp = now();
        let until = stamp.saturating_add(lease.num_microseconds().unwrap_or(i64::MAX));
        let scope = self.scope_text();
        let mut rows: Vec<MessageRow> = sqlx::query_as(
            "update notifications set status = 'sending', scheduled_at = $3
             where id in (select id from notifications
                          where status in ('pending', 'retrying', 'sending') and scheduled_at <= $2
                            and ($4 is null or tenant_id = $4)
                          order by scheduled_at
                          limit $1)
             returning id, tenant_id, type, template, recipient, subject, content, html_content,
                       retry_count, max_retries, created_at",
        )
        .bind(page_limit(limit)?)
        .bind(stamp)
        .bind(until)
        .bind(scope)
        .fetch_all(self.write().await?)
        .await?;
        // RETURNING has no order; hand the batch out oldest first.
        rows.sort_by_key(|r| (r.created_at, r.id));
        Ok(rows
            .into_iter()
            .map(|r| OutboxMessage {
                id: r.id.into_uuid(),
                tenant_id: r.tenant_id.into_uuid(),
                kind: r.kind,
                template: r.template,
                recipient: r.recipient,
                subject: r.subject,
                content: r.content,
                html_content: r.html_content,
                retry_count: r.retry_count,
                max_retries: r.max_retries,
                created_at: at(r.created_at),
            })
            .collect())
    }

    async fn mark_notification_sent(&mut self, message: Uuid) -> Result<(), StoreError> {
        let scope = self.scope_text();
        // SECURITY: the body held live links and codes; once delivered it is
        // not kept (gap G4).
        sqlx::query(
            "update notifications set status = 'sent', sent_at = $2, error_message = null,
                    content = $4, html_content = case when html_content is null then null else $4 end
             where id = $1 and ($3 is null or tenant_id = $3)",
        )
        .bind(id(message))
        .bind(now())
        .bind(scope)
        .bind(DELIVERED_CONTENT)
        .execute(self.write().await?)
        .await?;
        Ok(())
    }

    async fn mark_notification_failed(
        &mut self,
        message: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let scope = self.scope_text();
        // substr counts characters, as PostgreSQL's left() does.
        sqlx::query(
            "update notifications set
                status = case when $3 is null then 'failed' else 'retrying' end,
                retry_count = retry_count + 1,
                scheduled_at = coalesce($3, scheduled_at),
                error_message = substr($2, 1, 1000)
             where id = $1 and ($4 is null or tenant_id = $4)",
        )
        .bind(id(message))
        .bind(error)
        .bind(retry_at.map(ts))
        .bind(scope)
        .execute(self.write().await?)
        .await?;
        Ok(())
    }
}

#[derive(sqlx::FromRow)]
struct TemplateRow {
    name: String,
    subject: String,
    text_body: String,
    html_body: Option<String>,
    updated_at: i64,
}

impl From<TemplateRow> for StoredTemplate {
    fn from(r: TemplateRow) -> Self {
        Self {
            name: r.name,
            subject: r.subject,
            text_body: r.text_body,
            html_body: r.html_body,
            updated_at: at(r.updated_at),
        }
    }
}

#[async_trait]
impl TemplateRepo for SqliteTx {
    async fn notification_template(
        &mut self,
        tenant_id: Uuid,
        name: &str,
    ) -> Result<Option<StoredTemplate>, StoreError> {
        let row: Option<TemplateRow> = sqlx::query_as(
            "select name, subject, text_body, html_body, updated_at from notification_templates
             where tenant_id = $1 and name = $2",
        )
        .bind(id(tenant_id))
        .bind(name)
        .fetch_optional(self.read().await?)
        .await?;
        Ok(row.map(Into::into))
    }

    async fn upsert_notification_template(
        &mut self,
        tenant_id: Uuid,
        name: &str,
        subject: &str,
        text_body: &str,
        html_body: Option<&str>,
    ) -> Result<StoredTemplate, StoreError> {
        self.check_scope(tenant_id)?;
        let row: TemplateRow = sqlx::query_as(
            "insert into notification_templates (id, tenant_id, name, subject, text_body, html_body,
                                                 created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $7)
             on conflict (tenant_id, name) do update
                set subject = excluded.subject, text_body = excluded.text_body, html_body = excluded.html_body,
                    updated_at = excluded.updated_at
             returning name, subject, text_body, html_body, updated_at",
        )
        .bind(id(Uuid::now_v7()))
        .bind(id(tenant_id))
        .bind(name)
        .bind(subject)
        .bind(text_body)
        .bind(html_body)
        .bind(now())
        .fetch_one(self.write().await?)
        .await?;
        Ok(row.into())
    }
}

/// Audit retention and partitions belong to the operator: PostgreSQL grants
/// its functions to the system role only, so a tenant transaction is refused.
fn system_only(tx: &SqliteTx, what: &str) -> Result<(), StoreError> {
    match tx.scope() {
        Some(_) => Err(StoreError::Internal(format!("{what} runs in a system transaction only"))),
        None => Ok(()),
    }
}

#[async_trait]
impl MaintenanceRepo for SqliteTx {
    async fn create_audit_partitions(&mut self, _months: i32) -> Result<i32, StoreError> {
        // SQLite has no partitions: audit_logs is one table; nothing to create.
        system_only(self, "create_audit_partitions")?;
        Ok(0)
    }

    async fn drop_audit_partitions_before(&mut self, cutoff: DateTime<Utc>) -> Result<i32, StoreError> {
        // SQLite has no partitions: retention deletes the rows older than
        // `cutoff` (through idx_audit_logs_created). PostgreSQL drops whole
        // months and returns how many partitions it dropped; here the count
        // is of rows deleted, clamped to i32 (callers only log it and test
        // it against zero).
        system_only(self, "drop_audit_partitions_before")?;
        let deleted = sqlx::query("delete from audit_logs where created_at < $1")
            .bind(ts(cutoff))
            .execute(self.write().await?)
            .await?
            .rows_affected();
        Ok(i32::try_from(deleted).unwrap_or(i32::MAX))
    }

    async fn purge_expired(&mut self, cutoff: DateTime<Utc>) -> Result<Purged, StoreError> {
        // Refresh tokens go with their sessions (ON DELETE CASCADE); the
        // ones of live sessions are purged once expired on their own.
        let cutoff = ts(cutoff);
        let scope = self.scope_text();
        let refresh_tokens =
            sqlx::query("delete from refresh_tokens where expires_at < $1 and ($2 is null or tenant_id = $2)")
                .bind(cutoff)
                .bind(scope)
                .execute(self.write().await?)
                .await?
                .rows_affected();
        let sessions = sqlx::query(
            "delete from sessions where (expires_at < $1 or revoked_at < $1) and ($2 is null or tenant_id = $2)",
        )
        .bind(cutoff)
        .bind(scope)
        .execute(self.write().await?)
        .await?
        .rows_affected();
        let otp_codes = sqlx::query("delete from otp_codes where expires_at < $1 and ($2 is null or tenant_id = $2)")
            .bind(cutoff)
            .bind(scope)
            .execute(self.write().await?)
            .await?
            .rows_affected();
        Ok(Purged { sessions, otp_codes, refresh_tokens })
    }
}
