//! Second factors and recovery tokens in PostgreSQL.

use async_trait::async_trait;
use azth_core::model::User;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::PgTx;
use super::users::{COLUMNS, UserRow};
use crate::{MfaState, RecoveryRepo, StoreError};

#[derive(sqlx::FromRow)]
struct MfaRow {
    mfa_enabled: bool,
    mfa_secret: Option<String>,
    mfa_last_step: Option<i64>,
    backup_codes: Option<Vec<String>>,
}

fn user(row: Option<UserRow>) -> Result<Option<User>, StoreError> {
    row.map(User::try_from).transpose()
}

#[async_trait]
impl RecoveryRepo for PgTx {
    async fn mfa_state(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<Option<MfaState>, StoreError> {
        let row: Option<MfaRow> = sqlx::query_as(
            "select mfa_enabled, mfa_secret, mfa_last_step, backup_codes from users
             where tenant_id = $1 and id = $2 and deleted_at is null",
        )
        .bind(tenant_id)
        .bind(user_id)
        .fetch_optional(self.conn())
        .await?;
        Ok(row.map(|r| MfaState {
            enabled: r.mfa_enabled,
            secret_sealed: r.mfa_secret,
            last_step: r.mfa_last_step,
            backup_codes: r.backup_codes.unwrap_or_default(),
        }))
    }

    async fn set_mfa_secret(&mut self, tenant_id: Uuid, user_id: Uuid, sealed: &str) -> Result<(), StoreError> {
        sqlx::query("update users set mfa_secret = $3, mfa_last_step = null where tenant_id = $1 and id = $2")
            .bind(tenant_id)
            .bind(user_id)
            .bind(sealed)
            .execute(self.conn())
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
        sqlx::query(
            "update users set mfa_enabled = true, backup_codes = $3, mfa_last_step = $4
             where tenant_id = $1 and id = $2",
        )
        .bind(tenant_id)
        .bind(user_id)
        .bind(backup)
        .bind(step)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn disable_mfa(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<(), StoreError> {
        sqlx::query(
            "update users set mfa_enabled = false, mfa_secret = null, backup_codes = null, mfa_last_step = null
             where tenant_id = $1 and id = $2",
        )
        .bind(tenant_id)
        .bind(user_id)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn claim_totp_step(&mut self, tenant_id: Uuid, user_id: Uuid, step: i64) -> Result<bool, StoreError> {
        // SECURITY: one conditional UPDATE: of two concurrent uses of one
        // code, exactly one moves the step forward.
        let done = sqlx::query(
            "update users set mfa_last_step = $3
             where tenant_id = $1 and id = $2 and (mfa_last_step is null or mfa_last_step < $3)",
        )
        .bind(tenant_id)
        .bind(user_id)
        .bind(step)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_backup_codes(&mut self, tenant_id: Uuid, user_id: Uuid, digests: &[String]) -> Result<(), StoreError> {
        sqlx::query("update users set backup_codes = $3 where tenant_id = $1 and id = $2")
            .bind(tenant_id)
            .bind(user_id)
            .bind(digests)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    async fn consume_backup_code(&mut self, tenant_id: Uuid, user_id: Uuid, digest: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "update users set backup_codes = array_remove(backup_codes, $3)
             where tenant_id = $1 and id = $2 and $3 = any(backup_codes)",
        )
        .bind(tenant_id)
        .bind(user_id)
        .bind(digest)
        .execute(self.conn())
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
        sqlx::query(
            "update users set email_verification_token = $3, email_verification_expires_at = $4
             where tenant_id = $1 and id = $2",
        )
        .bind(tenant_id)
        .bind(user_id)
        .bind(token_hash)
        .bind(expires_at)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn verify_email_token(&mut self, token_hash: &str) -> Result<Option<User>, StoreError> {
        let sql = format!(
            "update users set email_verified = true, email_verification_token = null,
                              email_verification_expires_at = null
             where email_verification_token = $1 and email_verification_expires_at > now() and deleted_at is null
             returning {COLUMNS}"
        );
        user(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(token_hash).fetch_optional(self.conn()).await?)
    }

    async fn set_password_reset(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        token_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "update users set password_reset_token = $3, password_reset_expires_at = $4
             where tenant_id = $1 and id = $2",
        )
        .bind(tenant_id)
        .bind(user_id)
        .bind(token_hash)
        .bind(expires_at)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn password_reset_user(&mut self, token_hash: &str) -> Result<Option<User>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from users
             where password_reset_token = $1 and password_reset_expires_at > now() and deleted_at is null"
        );
        user(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(token_hash).fetch_optional(self.conn()).await?)
    }

    async fn reset_password(&mut self, token_hash: &str, new_hash: &str) -> Result<Option<User>, StoreError> {
        let sql = format!(
            "update users set password_hash = $2, password_reset_token = null, password_reset_expires_at = null,
                              login_attempts = 0, locked_until = null,
                              status = case when status = 'pending' then 'active' else status end
             where password_reset_token = $1 and password_reset_expires_at > now() and deleted_at is null
             returning {COLUMNS}"
        );
        user(
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(token_hash)
                .bind(new_hash)
                .fetch_optional(self.conn())
                .await?,
        )
    }

    async fn user_by_email(&mut self, tenant_id: Uuid, email: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("select {COLUMNS} from users where tenant_id = $1 and email = $2 and deleted_at is null");
        user(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant_id).bind(email).fetch_optional(self.conn()).await?)
    }

    async fn user_by_verified_phone(&mut self, tenant_id: Uuid, phone: &str) -> Result<Option<User>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from users
             where tenant_id = $1 and phone = $2 and phone_verified and deleted_at is null
             order by created_at limit 1"
        );
        user(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant_id).bind(phone).fetch_optional(self.conn()).await?)
    }

    async fn mark_email_verified(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<(), StoreError> {
        sqlx::query(
            "update users set email_verified = true, email_verification_token = null, email_verification_expires_at = null
             where tenant_id = $1 and id = $2",
        )
        .bind(tenant_id)
        .bind(user_id)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn set_verified_phone(&mut self, tenant_id: Uuid, user_id: Uuid, phone: &str) -> Result<(), StoreError> {
        sqlx::query("update users set phone = $3, phone_verified = true where tenant_id = $1 and id = $2")
            .bind(tenant_id)
            .bind(user_id)
            .bind(phone)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}
