//! STUB (to be ported from postgres/notifications.rs).
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
impl NotificationRepo for SqliteTx {
    async fn insert_notification(&mut self, new: &NewNotification) -> Result<Uuid, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn claim_notifications(
        &mut self,
        limit: i64,
        lease: chrono::Duration,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn mark_notification_sent(&mut self, id: Uuid) -> Result<(), StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn mark_notification_failed(
        &mut self,
        id: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }
}

#[async_trait]
impl TemplateRepo for SqliteTx {
    async fn notification_template(
        &mut self,
        tenant_id: Uuid,
        name: &str,
    ) -> Result<Option<StoredTemplate>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn upsert_notification_template(
        &mut self,
        tenant_id: Uuid,
        name: &str,
        subject: &str,
        text_body: &str,
        html_body: Option<&str>,
    ) -> Result<StoredTemplate, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }
}

#[async_trait]
impl MaintenanceRepo for SqliteTx {
    async fn create_audit_partitions(&mut self, months: i32) -> Result<i32, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn drop_audit_partitions_before(&mut self, cutoff: DateTime<Utc>) -> Result<i32, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn purge_expired(&mut self, cutoff: DateTime<Utc>) -> Result<Purged, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }
}
