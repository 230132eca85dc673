//! The notification outbox in PostgreSQL (rows are delivered by the workers).

use async_trait::async_trait;
use uuid::Uuid;

use super::PgTx;
use crate::{NewNotification, NotificationRepo, StoreError};

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
        Ok(id)
    }
}
