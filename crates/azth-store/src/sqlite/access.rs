//! STUB (to be ported from postgres/access.rs).
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
impl AccessRepo for SqliteTx {
    async fn assign_role_by_name(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        role: &str,
        assigned_by: Option<Uuid>,
    ) -> Result<bool, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn user_access(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<(Vec<String>, Vec<String>), StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }
}
