//! STUB (to be ported from postgres/sessions.rs).
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
impl SessionRepo for SqliteTx {
    async fn insert_session(&mut self, new: &NewSession) -> Result<Session, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn insert_refresh_token(
        &mut self,
        tenant_id: Uuid,
        session_id: Uuid,
        token_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn spend_refresh_token(&mut self, token_hash: &str) -> Result<RefreshOutcome, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn session_by_id(&mut self, tenant_id: Uuid, id: Uuid) -> Result<Option<Session>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn session_by_token_hash(&mut self, token_hash: &str) -> Result<Option<Session>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn rotate_session_token(
        &mut self,
        tenant_id: Uuid,
        id: Uuid,
        old_hash: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn sessions_of_user(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<Vec<Session>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn revoke_session(&mut self, tenant_id: Uuid, id: Uuid) -> Result<bool, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn revoke_user_sessions(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        except: Option<Uuid>,
    ) -> Result<Vec<Uuid>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn touch_session(&mut self, tenant_id: Uuid, id: Uuid) -> Result<(), StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }
}
