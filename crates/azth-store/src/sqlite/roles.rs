//! STUB (to be ported from postgres/roles.rs).
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
impl RoleRepo for SqliteTx {
    async fn list_roles(
        &mut self,
        tenant_id: Uuid,
        after: Option<(String, Uuid)>,
        limit: i64,
    ) -> Result<Vec<Role>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn role_by_id(&mut self, tenant_id: Uuid, id: Uuid) -> Result<Option<Role>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn role_by_name(&mut self, tenant_id: Uuid, name: &str) -> Result<Option<Role>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn insert_role(
        &mut self,
        tenant_id: Uuid,
        name: &str,
        description: Option<&str>,
    ) -> Result<Role, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn update_role(
        &mut self,
        tenant_id: Uuid,
        id: Uuid,
        name: Option<&str>,
        description: Option<Option<&str>>,
    ) -> Result<Option<Role>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn delete_role(&mut self, tenant_id: Uuid, id: Uuid) -> Result<bool, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn set_role_permissions(
        &mut self,
        tenant_id: Uuid,
        role_id: Uuid,
        names: &[String],
    ) -> Result<Vec<String>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn permission_catalog(&mut self) -> Result<Vec<Permission>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn user_assignments(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<Vec<Assignment>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn assign_role(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        role_id: Uuid,
        assigned_by: Option<Uuid>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<Assignment, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn unassign_role(&mut self, tenant_id: Uuid, user_id: Uuid, role_id: Uuid) -> Result<bool, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn effective_access(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<EffectiveAccess, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn count_active_owners(&mut self, tenant_id: Uuid, excluding: Option<Uuid>) -> Result<i64, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }
}
