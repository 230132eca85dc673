//! The notification outbox in PostgreSQL: rows written in the request's
//! transaction, claimed by workers with `FOR UPDATE SKIP LOCKED`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::PgTx;
use crate::{NewNotification, NotificationRepo, OutboxMessage, StoreError};

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
    retry_count: i32,
    max_retries: i32,
    created_at: DateTime<Utc>,
}

#[async_trait]
impl NotificationRepo for PgTx {
    async fn insert_notification(&mut self, new: &NewNotification) -> Result<Uuid, StoreError> {
        let id = Uuid::now_v7();
        sqlx::query(
            "insert into notifications (id, tenant_id, user_id, type, template, recipient, subject, content)
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(new.tenant_id)
        .bind(new.user_id)
        .bind(&new.kind)
        .bind(&new.template)
        .bind(&new.recipient)
        .bind(&new.subject)
        .bind(&new.content)
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
             returning n.id, n.tenant_id, n.type, n.template, n.recipient, n.subject, n.content,
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
                retry_count: r.retry_count,
                max_retries: r.max_retries,
                created_at: r.created_at,
            })
            .collect())
    }

    async fn mark_notification_sent(&mut self, id: Uuid) -> Result<(), StoreError> {
        sqlx::query("update notifications set status = 'sent', sent_at = now(), error_message = null where id = $1")
            .bind(id)
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
