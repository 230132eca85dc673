//! STUB (to be ported from postgres/recovery.rs).
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
impl RecoveryRepo for SqliteTx {
    async fn mfa_state(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<Option<MfaState>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn set_mfa_secret(&mut self, tenant_id: Uuid, user_id: Uuid, sealed: &str) -> Result<(), StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn enable_mfa(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        backup: &[String],
        step: i64,
    ) -> Result<(), StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn disable_mfa(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<(), StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn claim_totp_step(&mut self, tenant_id: Uuid, user_id: Uuid, step: i64) -> Result<bool, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn set_backup_codes(&mut self, tenant_id: Uuid, user_id: Uuid, digests: &[String]) -> Result<(), StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn consume_backup_code(&mut self, tenant_id: Uuid, user_id: Uuid, digest: &str) -> Result<bool, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn set_email_verification(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        token_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn verify_email_token(&mut self, token_hash: &str) -> Result<Option<User>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn set_password_reset(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        token_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn password_reset_user(&mut self, token_hash: &str) -> Result<Option<User>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn reset_password(&mut self, token_hash: &str, new_hash: &str) -> Result<Option<User>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn user_by_email(&mut self, tenant_id: Uuid, email: &str) -> Result<Option<User>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn user_by_verified_phone(&mut self, tenant_id: Uuid, phone: &str) -> Result<Option<User>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn mark_email_verified(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<(), StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn set_verified_phone(&mut self, tenant_id: Uuid, user_id: Uuid, phone: &str) -> Result<(), StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }
}
