//! Second factors and recovery tokens in SQLite.
//!
//! Backup-code digests are a JSON array in `users.backup_codes`. The token
//! look-ups (`verify_email_token`, `password_reset_user`, `reset_password`)
//! take no tenant: in a tenant transaction they only see that tenant's
//! users, as PostgreSQL's row-level security would. Every UPDATE stamps
//! `updated_at` (PostgreSQL's trigger does); the audit rows come from the
//! users triggers.

use async_trait::async_trait;
use azth_core::model::User;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::users::{COLUMNS, UserRow};
use super::{SqliteTx, id, now, string_array, to_array, ts};
use crate::{MfaState, RecoveryRepo, StoreError};

#[derive(sqlx::FromRow)]
struct MfaRow {
    mfa_enabled: bool,
    mfa_secret: Option<String>,
    mfa_last_step: Option<i64>,
    backup_codes: Option<String>,
}

fn user(row: Option<UserRow>) -> Result<Option<User>, StoreError> {
    row.map(User::try_from).transpose()
}

#[async_trait]
impl RecoveryRepo for SqliteTx {
    async fn mfa_state(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<Option<MfaState>, StoreError> {
        let row: Option<MfaRow> = sqlx::query_as(
            "select mfa_enabled, mfa_secret, mfa_last_step, backup_codes from users
             where tenant_id = $1 and id = $2 and deleted_at is null",
        )
        .bind(id(tenant_id))
        .bind(id(user_id))
        .fetch_optional(self.read().await?)
        .await?;
        Ok(row.map(|r| MfaState {
            enabled: r.mfa_enabled,
            secret_sealed: r.mfa_secret,
            last_step: r.mfa_last_step,
            backup_codes: string_array(r.backup_codes.as_deref()),
        }))
    }

    async fn set_mfa_secret(&mut self, tenant_id: Uuid, user_id: Uuid, sealed: &str) -> Result<(), StoreError> {
        self.check_scope(tenant_id)?;
        sqlx::query(
            "update users set mfa_secret = $3, mfa_last_step = null, updated_at = $4
             where tenant_id = $1 and id = $2",
        )
        .bind(id(tenant_id))
        .bind(id(user_id))
        .bind(sealed)
        .bind(now())
        .execute(self.write().await?)
        .await?;
        Ok(())
    }

    async fn enable_mfa(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        backup: &[String],
        step: i64,
    ) -> Result<(), StoreError> {
        self.check_scope(tenant_id)?;
        sqlx::query(
            "update users set mfa_enabled = 1, backup_codes = $3, mfa_last_step = $4, updated_at = $5
             where tenant_id = $1 and id = $2",
        )
        .bind(id(tenant_id))
        .bind(id(user_id))
        .bind(to_array(backup))
        .bind(step)
        .bind(now())
        .execute(self.write().await?)
        .await?;
        Ok(())
    }

    async fn disable_mfa(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<(), StoreError> {
        self.check_scope(tenant_id)?;
        sqlx::query(
            "update users set mfa_enabled = 0, mfa_secret = null, backup_codes = null, mfa_last_step = null,
                              updated_at = $3
             where tenant_id = $1 and id = $2",
        )
        .bind(id(tenant_id))
        .bind(id(user_id))
        .bind(now())
        .execute(self.write().await?)
        .await?;
        Ok(())
    }

    async fn claim_totp_step(&mut self, tenant_id: Uuid, user_id: Uuid, step: i64) -> Result<bool, StoreError> {
        self.check_scope(tenant_id)?;
        // SECURITY: one conditional UPDATE on the single writer: of two uses
        // of one code, exactly one moves the step forward.
        let done = sqlx::query(
            "update users set mfa_last_step = $3, updated_at = $4
             where tenant_id = $1 and id = $2 and (mfa_last_step is null or mfa_last_step < $3)",
        )
        .bind(id(tenant_id))
        .bind(id(user_id))
        .bind(step)
        .bind(now())
        .execute(self.write().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_backup_codes(&mut self, tenant_id: Uuid, user_id: Uuid, digests: &[String]) -> Result<(), StoreError> {
        self.check_scope(tenant_id)?;
        sqlx::query("update users set backup_codes = $3, updated_at = $4 where tenant_id = $1 and id = $2")
            .bind(id(tenant_id))
            .bind(id(user_id))
            .bind(to_array(digests))
            .bind(now())
            .execute(self.write().await?)
            .await?;
        Ok(())
    }

    async fn consume_backup_code(&mut self, tenant_id: Uuid, user_id: Uuid, digest: &str) -> Result<bool, StoreError> {
        self.check_scope(tenant_id)?;
        // SECURITY: read and rewrite inside this transaction's BEGIN
        // IMMEDIATE: no other writer runs in between, so a code is spent once.
        // Like array_remove(), every occurrence of the digest goes.
        let stored: Option<Option<String>> =
            sqlx::query_scalar("select backup_codes from users where tenant_id = $1 and id = $2")
                .bind(id(tenant_id))
                .bind(id(user_id))
                .fetch_optional(self.write().await?)
                .await?;
        let codes = string_array(stored.flatten().as_deref());
        if !codes.iter().any(|c| c == digest) {
            return Ok(false);
        }
        let left: Vec<String> = codes.into_iter().filter(|c| c != digest).collect();
        let done = sqlx::query("update users set backup_codes = $3, updated_at = $4 where tenant_id = $1 and id = $2")
            .bind(id(tenant_id))
            .bind(id(user_id))
            .bind(to_array(&left))
            .bind(now())
            .execute(self.write().await?)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_email_verification(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        token_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.check_scope(tenant_id)?;
        sqlx::query(
            "update users set email_verification_token = $3, email_verification_expires_at = $4, updated_at = $5
             where tenant_id = $1 and id = $2",
        )
        .bind(id(tenant_id))
        .bind(id(user_id))
        .bind(token_hash)
        .bind(ts(expires_at))
        .bind(now())
        .execute(self.write().await?)
        .await?;
        Ok(())
    }

    async fn verify_email_token(&mut self, token_hash: &str) -> Result<Option<User>, StoreError> {
        let sql = format!(
            "update users set email_verified = 1, email_verification_token = null,
                              email_verification_expires_at = null, updated_at = $2
             where email_verification_token = $1 and email_verification_expires_at > $2 and deleted_at is null
               and ($3 is null or tenant_id = $3)
             returning {COLUMNS}"
        );
        let scope = self.scope_text();
        user(
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(token_hash)
                .bind(now())
                .bind(scope)
                .fetch_optional(self.write().await?)
                .await?,
        )
    }

    async fn set_password_reset(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        token_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.check_scope(tenant_id)?;
        sqlx::query(
            "update users set password_reset_token = $3, password_reset_expires_at = $4, updated_at = $5
             where tenant_id = $1 and id = $2",
        )
        .bind(id(tenant_id))
        .bind(id(user_id))
        .bind(token_hash)
        .bind(ts(expires_at))
        .bind(now())
        .execute(self.write().await?)
        .await?;
        Ok(())
    }

    async fn password_reset_user(&mut self, token_hash: &str) -> Result<Option<User>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from users
             where password_reset_token = $1 and password_reset_expires_at > $2 and deleted_at is null
               and ($3 is null or tenant_id = $3)"
        );
        let scope = self.scope_text();
        user(
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(token_hash)
                .bind(now())
                .bind(scope)
                .fetch_optional(self.read().await?)
                .await?,
        )
    }

    async fn reset_password(&mut self, token_hash: &str, new_hash: &str) -> Result<Option<User>, StoreError> {
        let sql = format!(
            "update users set password_hash = $2, password_reset_token = null, password_reset_expires_at = null,
                              login_attempts = 0, locked_until = null,
                              status = case when status = 'pending' then 'active' else status end,
                              updated_at = $3
             where password_reset_token = $1 and password_reset_expires_at > $3 and deleted_at is null
               and ($4 is null or tenant_id = $4)
             returning {COLUMNS}"
        );
        let scope = self.scope_text();
        user(
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(token_hash)
                .bind(new_hash)
                .bind(now())
                .bind(scope)
                .fetch_optional(self.write().await?)
                .await?,
        )
    }

    async fn user_by_email(&mut self, tenant_id: Uuid, email: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("select {COLUMNS} from users where tenant_id = $1 and email = $2 and deleted_at is null");
        user(
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id(tenant_id))
                .bind(email)
                .fetch_optional(self.read().await?)
                .await?,
        )
    }

    async fn user_by_verified_phone(&mut self, tenant_id: Uuid, phone: &str) -> Result<Option<User>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from users
             where tenant_id = $1 and phone = $2 and phone_verified = 1 and deleted_at is null
             order by created_at, id limit 1"
        );
        user(
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id(tenant_id))
                .bind(phone)
                .fetch_optional(self.read().await?)
                .await?,
        )
    }

    async fn mark_email_verified(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<(), StoreError> {
        self.check_scope(tenant_id)?;
        sqlx::query(
            "update users set email_verified = 1, email_verification_token = null,
                              email_verification_expires_at = null, updated_at = $3
             where tenant_id = $1 and id = $2",
        )
        .bind(id(tenant_id))
        .bind(id(user_id))
        .bind(now())
        .execute(self.write().await?)
        .await?;
        Ok(())
    }

    async fn set_verified_phone(&mut self, tenant_id: Uuid, user_id: Uuid, phone: &str) -> Result<(), StoreError> {
        self.check_scope(tenant_id)?;
        sqlx::query(
            "update users set phone = $3, phone_verified = 1, updated_at = $4 where tenant_id = $1 and id = $2",
        )
        .bind(id(tenant_id))
        .bind(id(user_id))
        .bind(phone)
        .bind(now())
        .execute(self.write().await?)
        .await?;
        Ok(())
    }
}
