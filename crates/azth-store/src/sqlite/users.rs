//! Users in SQLite. STUB below the row mapping (to be ported from postgres/users.rs).
#![allow(unused_variables)]

use async_trait::async_trait;
use azth_core::model::{User, UserCredentials, UserStatus};
use uuid::fmt::Hyphenated;

use super::{SqliteTx, at, at_opt};
use crate::*;
#[allow(unused_imports)]
use chrono::{DateTime, Utc};
use uuid::Uuid;

pub(crate) const COLUMNS: &str = "id, tenant_id, email, username, first_name, last_name, avatar, phone, email_verified, \
                       phone_verified, mfa_enabled, status, last_login_at, created_at, updated_at, deleted_at";

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: Hyphenated,
    tenant_id: Hyphenated,
    email: String,
    username: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    avatar: Option<String>,
    phone: Option<String>,
    email_verified: bool,
    phone_verified: bool,
    mfa_enabled: bool,
    status: String,
    last_login_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    deleted_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
#[allow(dead_code)] // until the stubs below are ported
pub(crate) struct CredentialsRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: Option<String>,
    login_attempts: i32,
    locked_until: Option<i64>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        Ok(User {
            status: UserStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Internal(format!("unknown user status {}", r.status)))?,
            id: r.id.into_uuid(),
            tenant_id: r.tenant_id.into_uuid(),
            email: r.email,
            username: r.username,
            first_name: r.first_name,
            last_name: r.last_name,
            avatar: r.avatar,
            phone: r.phone,
            email_verified: r.email_verified,
            phone_verified: r.phone_verified,
            mfa_enabled: r.mfa_enabled,
            last_login_at: at_opt(r.last_login_at),
            created_at: at(r.created_at),
            updated_at: at(r.updated_at),
            deleted_at: at_opt(r.deleted_at),
        })
    }
}

impl TryFrom<CredentialsRow> for UserCredentials {
    type Error = StoreError;
    fn try_from(r: CredentialsRow) -> Result<Self, StoreError> {
        Ok(UserCredentials {
            user: r.user.try_into()?,
            password_hash: r.password_hash,
            login_attempts: r.login_attempts,
            locked_until: at_opt(r.locked_until),
        })
    }
}

#[async_trait]
impl UserRepo for SqliteTx {
    async fn insert_user(&mut self, tenant_id: Uuid, new: &NewUser) -> Result<User, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn user_by_id(&mut self, tenant_id: Uuid, id: Uuid) -> Result<Option<User>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn user_credentials(
        &mut self,
        tenant_id: Uuid,
        identifier: &str,
    ) -> Result<Option<UserCredentials>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn user_credentials_by_id(
        &mut self,
        tenant_id: Uuid,
        id: Uuid,
    ) -> Result<Option<UserCredentials>, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn record_login_success(
        &mut self,
        tenant_id: Uuid,
        id: Uuid,
        new_hash: Option<&str>,
    ) -> Result<(), StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn record_login_failure(
        &mut self,
        tenant_id: Uuid,
        id: Uuid,
        locked_until: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn update_profile(&mut self, tenant_id: Uuid, id: Uuid, patch: &ProfilePatch) -> Result<User, StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }

    async fn set_password_hash(&mut self, tenant_id: Uuid, id: Uuid, hash: &str) -> Result<(), StoreError> {
        Err(StoreError::Internal("not ported".into()))
    }
}
