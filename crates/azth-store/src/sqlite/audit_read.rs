//! STUB (to be ported from postgres/audit_read.rs).
#![allow(unused_variables)]

use async_trait::async_trait;

use super::SqliteTx;
use crate::*;
#[allow(unused_imports)]
use azth_core::{AuditContext, model::*, rbac::*};
#[allow(unused_imports)]
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[async_trait]
impl AuditLogRepo for SqliteTx {
    async fn list_audit(&mut self, tenant_id: Uuid, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }
}

#[async_trait]
impl NotificationAdminRepo for SqliteTx {
    async fn list_notifications(
        &mut self,
        tenant_id: Uuid,
        filter: &NotificationFilter,
    ) -> Result<Vec<NotificationView>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn notification_by_id(&mut self, tenant_id: Uuid, id: Uuid) -> Result<Option<NotificationView>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn retry_notification(&mut self, tenant_id: Uuid, id: Uuid) -> Result<RetryOutcome, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn delete_notification_template(&mut self, tenant_id: Uuid, name: &str) -> Result<bool, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }
}
