//! The notification outbox in PostgreSQL: rows written in the request's
//! transaction, claimed by workers with `FOR UPDATE SKIP LOCKED`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::PgTx;
use crate::{DELIVERED_CONTENT, NewNotification, NotificationRepo, OutboxMessage, StoreError};

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: Uuid,
    tenant_id: Uuid,
    #[sqlx(rename = "type")]
    kind: String,
    template: String,
    recipient: String,
    subject: Option<String>,
    content: String,
    html_content: Option<String>,
    retry_count: i32,
    max_retries: i32,
    created_at: DateTime<Utc>,
}

#[async_trait]
impl NotificationRepo for PgTx {
    async fn insert_notification(&mut self, new: &NewNotification) -> Result<Uuid, StoreError> {
        let id = Uuid::now_v7();
        sqlx::query(
            "insert into notifications (id, tenant_id, user_id, type, template, recipient, subject, content, html_content)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(new.tenant_id)
        .bind(new.user_id)
        .bind(&new.kind)
        .bind(&new.template)
        .bind(&new.recipient)
        .bind(&new.subject)
        .bind(&new.content)
        .bind(&new.html_content)
        .execute(self.conn())
        .await?;
        // Wakes workers listening on this node or any other.
        sqlx::query("select pg_notify('azth_outbox', '')").execute(self.conn()).await?;
        Ok(id)
    }

    async fn claim_notifications(
        &mut self,
        limit: i64,
        lease: chrono::Duration,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        // A claimed row becomes `sending` with scheduled_at = end of the
        // lease: if this worker dies, the row is due again after it.
        let rows: Vec<MessageRow> = sqlx::query_as(
            "update notifications n set status = 'sending', scheduled_at = now() + $2
             from (select id from notifications
                   where status in ('pending', 'retrying', 'sending') and scheduled_at <= now()
                   order by scheduled_at
                   limit $1
                   for update skip locked) due
             where n.id = due.id
             returning n.id, n.tenant_id, n.type, n.template, n.recipient, n.subject, n.content, n.html_content,
                       n.retry_count, n.max_retries, n.created_at",
        )
        .bind(limit)
        .bind(lease)
        .fetch_all(self.conn())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| OutboxMessage {
                id: r.id,
                tenant_id: r.tenant_id,
                kind: r.kind,
                template: r.template,
                recipient: r.recipient,
                subject: r.subject,
                content: r.content,
                html_content: r.html_content,
                retry_count: r.retry_count,
                max_retries: r.max_retries,
                created_at: r.created_at,
            })
            .collect())
    }

    async fn mark_notification_sent(&mut self, id: Uuid) -> Result<(), StoreError> {
        // SECURITY: the body held live links and codes; once delivered it is
        // not kept (gap G4).
        sqlx::query(
            "update notifications set status = 'sent', sent_at = now(), error_message = null,
                    content = $2, html_content = case when html_content is null then null else $2 end
             where id = $1",
        )
        .bind(id)
        .bind(DELIVERED_CONTENT)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn mark_notification_failed(
        &mut self,
        id: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "update notifications set
                status = case when $3::timestamptz is null then 'failed' else 'retrying' end,
                retry_count = retry_count + 1,
                scheduled_at = coalesce($3, scheduled_at),
                error_message = left($2, 1000)
             where id = $1",
        )
        .bind(id)
        .bind(error)
        .bind(retry_at)
        .execute(self.conn())
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
    updated_at: DateTime<Utc>,
}

impl From<TemplateRow> for crate::StoredTemplate {
    fn from(r: TemplateRow) -> Self {
        Self {
            name: r.name,
            subject: r.subject,
            text_body: r.text_body,
            html_body: r.html_body,
            updated_at: r.updated_at,
        }
    }
}

#[async_trait]
impl crate::TemplateRepo for PgTx {
    async fn notification_template(
        &mut self,
        tenant_id: Uuid,
        name: &str,
    ) -> Result<Option<crate::StoredTemplate>, StoreError> {
        let row: Option<TemplateRow> = sqlx::query_as(
            "select name, subject, text_body, html_body, updated_at from notification_templates
             where tenant_id = $1 and name = $2",
        )
        .bind(tenant_id)
        .bind(name)
        .fetch_optional(self.conn())
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
    ) -> Result<crate::StoredTemplate, StoreError> {
        let row: TemplateRow = sqlx::query_as(
            "insert into notification_templates (tenant_id, name, subject, text_body, html_body)
             values ($1, $2, $3, $4, $5)
             on conflict (tenant_id, name) do update
                set subject = excluded.subject, text_body = excluded.text_body, html_body = excluded.html_body
             returning name, subject, text_body, html_body, updated_at",
        )
        .bind(tenant_id)
        .bind(name)
        .bind(subject)
        .bind(text_body)
        .bind(html_body)
        .fetch_one(self.conn())
        .await?;
        Ok(row.into())
    }
}

#[async_trait]
impl crate::MaintenanceRepo for PgTx {
    async fn create_audit_partitions(&mut self, months: i32) -> Result<i32, StoreError> {
        Ok(sqlx::query_scalar("select create_audit_partitions($1)").bind(months).fetch_one(self.conn()).await?)
    }

    async fn drop_audit_partitions_before(&mut self, cutoff: DateTime<Utc>) -> Result<i32, StoreError> {
        Ok(sqlx::query_scalar("select drop_audit_partitions_before($1)").bind(cutoff).fetch_one(self.conn()).await?)
    }

    async fn purge_expired(&mut self, cutoff: DateTime<Utc>) -> Result<crate::Purged, StoreError> {
        // Refresh tokens go with their sessions (ON DELETE CASCADE); the
        // ones of live sessions are purged once expired on their own.
        let refresh_tokens = sqlx::query("delete from refresh_tokens where expires_at < $1")
            .bind(cutoff)
            .execute(self.conn())
            .await?
            .rows_affected();
        let sessions = sqlx::query("delete from sessions where expires_at < $1 or revoked_at < $1")
            .bind(cutoff)
            .execute(self.conn())
            .await?
            .rows_affected();
        let otp_codes = sqlx::query("delete from otp_codes where expires_at < $1")
            .bind(cutoff)
            .execute(self.conn())
            .await?
            .rows_affected();
        Ok(crate::Purged { sessions, otp_codes, refresh_tokens })
    }
}
