//! STUB (to be ported from postgres/users.rs).
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
impl UserRepo for SqliteTx {
    async fn insert_user(&mut self, tenant_id: Uuid, new: &NewUser) -> Result<User, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn user_by_id(&mut self, tenant_id: Uuid, id: Uuid) -> Result<Option<User>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn user_credentials( &mut self, tenant_id: Uuid, identifier: &str) -> Result<Option<UserCredentials>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn user_credentials_by_id( &mut self, tenant_id: Uuid, id: Uuid) -> Result<Option<UserCredentials>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn record_login_success( &mut self, tenant_id: Uuid, id: Uuid, new_hash: Option<&str>) -> Result<(), StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn record_login_failure( &mut self, tenant_id: Uuid, id: Uuid, locked_until: Option<DateTime<Utc>>) -> Result<(), StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn update_profile(&mut self, tenant_id: Uuid, id: Uuid, patch: &ProfilePatch) -> Result<User, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn set_password_hash(&mut self, tenant_id: Uuid, id: Uuid, hash: &str) -> Result<(), StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

}
