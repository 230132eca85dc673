//! STUB (to be ported from postgres/admin_users.rs).
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
impl AdminUserRepo for SqliteTx {
    async fn list_users(&mut self, tenant_id: Uuid, filter: &UserFilter) -> Result<Vec<User>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn find_user(
        &mut self,
        tenant_id: Uuid,
        id: Uuid,
        include_deleted: bool,
    ) -> Result<Option<User>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn admin_update_user(
        &mut self,
        tenant_id: Uuid,
        id: Uuid,
        patch: &AdminUserPatch,
    ) -> Result<Option<User>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn soft_delete_user(&mut self, tenant_id: Uuid, id: Uuid) -> Result<Option<User>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn restore_user(&mut self, tenant_id: Uuid, id: Uuid) -> Result<Option<User>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn unlock_user(&mut self, tenant_id: Uuid, id: Uuid) -> Result<Option<User>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn lock_tenant(&mut self, tenant_id: Uuid) -> Result<(), StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }
}
