//! STUB (to be ported from postgres/otp.rs).
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
impl OtpRepo for SqliteTx {
    async fn insert_otp(&mut self, new: &NewOtp) -> Result<Uuid, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn live_otp(
        &mut self,
        tenant_id: Uuid,
        channel: &str,
        purpose: &str,
        target: &str,
    ) -> Result<Option<OtpCode>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn check_otp(&mut self, tenant_id: Uuid, id: Uuid, matches: bool) -> Result<OtpCheck, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn count_otp_since(
        &mut self,
        tenant_id: Uuid,
        channel: &str,
        since: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }
}
