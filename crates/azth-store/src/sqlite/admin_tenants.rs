//! STUB (to be ported from postgres/admin_tenants.rs).
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
impl AdminTenantRepo for SqliteTx {
    async fn set_audit_actor(&mut self, ctx: &AuditContext) -> Result<(), StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn list_tenants(&mut self, filter: &TenantFilter) -> Result<Vec<Tenant>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn update_tenant(&mut self, id: Uuid, patch: &TenantPatch) -> Result<Option<Tenant>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn soft_delete_tenant(&mut self, id: Uuid) -> Result<Option<Tenant>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }
}
