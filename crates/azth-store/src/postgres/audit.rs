//! Application audit events in PostgreSQL (the data-change rows are written
//! by the audit trigger).

use async_trait::async_trait;

use super::PgTx;
use crate::{AuditRecord, AuditRepo, StoreError};

#[async_trait]
impl AuditRepo for PgTx {
    async fn insert_audit(&mut self, record: &AuditRecord) -> Result<(), StoreError> {
        // A malformed ip never reaches here (the HTTP layer parses it), but
        // the cast is guarded anyway: an audit row must not fail a request.
        sqlx::query(
            "insert into audit_logs (tenant_id, user_id, action, resource_type, resource_id, new_values,
                                     ip_address, user_agent, created_at, actor)
             values ($1, $2, $3, $4, $5, audit_redact($6),
                     case when $7 ~ '^[0-9a-fA-F:.]+$' then $7::inet end, $8, clock_timestamp(),
                     nullif(current_setting('app.actor', true), ''))",
        )
        .bind(record.tenant_id)
        .bind(record.user_id)
        .bind(record.event.action)
        .bind(record.event.resource_type)
        .bind(record.event.resource_id)
        .bind(&record.event.details)
        .bind(&record.ip_address)
        .bind(&record.user_agent)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}
