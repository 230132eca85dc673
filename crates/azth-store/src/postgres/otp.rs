//! One-time codes in PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::PgTx;
use crate::{NewOtp, OtpCheck, OtpCode, OtpRepo, StoreError};

#[derive(sqlx::FromRow)]
struct OtpRow {
    id: Uuid,
    user_id: Option<Uuid>,
    code_hash: String,
    attempts: i32,
    max_attempts: i32,
    expires_at: DateTime<Utc>,
}

#[async_trait]
impl OtpRepo for PgTx {
    async fn insert_otp(&mut self, new: &NewOtp) -> Result<Uuid, StoreError> {
        // A new send kills the previous live codes for the same target.
        sqlx::query(
            "update otp_codes set used_at = now()
             where tenant_id = $1 and type = $2 and purpose = $3 and target = $4 and used_at is null",
        )
        .bind(new.tenant_id)
        .bind(&new.channel)
        .bind(&new.purpose)
        .bind(&new.target)
        .execute(self.conn())
        .await?;
        let id = Uuid::now_v7();
        sqlx::query(
            "insert into otp_codes (id, tenant_id, user_id, code_hash, type, purpose, target, max_attempts, expires_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(new.tenant_id)
        .bind(new.user_id)
        .bind(&new.code_hash)
        .bind(&new.channel)
        .bind(&new.purpose)
        .bind(&new.target)
        .bind(new.max_attempts)
        .bind(new.expires_at)
        .execute(self.conn())
        .await?;
        Ok(id)
    }

    async fn live_otp(
        &mut self,
        tenant_id: Uuid,
        channel: &str,
        purpose: &str,
        target: &str,
    ) -> Result<Option<OtpCode>, StoreError> {
        let row: Option<OtpRow> = sqlx::query_as(
            "select id, user_id, code_hash, attempts, max_attempts, expires_at from otp_codes
             where tenant_id = $1 and target = $4 and type = $2 and purpose = $3 and used_at is null
             order by created_at desc limit 1",
        )
        .bind(tenant_id)
        .bind(channel)
        .bind(purpose)
        .bind(target)
        .fetch_optional(self.conn())
        .await?;
        Ok(row.map(|r| OtpCode {
            id: r.id,
            user_id: r.user_id,
            code_hash: r.code_hash,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            expires_at: r.expires_at,
        }))
    }

    async fn check_otp(&mut self, tenant_id: Uuid, id: Uuid, matches: bool) -> Result<OtpCheck, StoreError> {
        // SECURITY: each branch is one conditional UPDATE, so attempts are
        // counted atomically and of two concurrent right answers one wins.
        let live = "tenant_id = $1 and id = $2 and used_at is null and expires_at > now() and attempts < max_attempts";
        let sql = if matches {
            format!("update otp_codes set used_at = now() where {live}")
        } else {
            format!("update otp_codes set attempts = attempts + 1 where {live}")
        };
        let done = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant_id).bind(id).execute(self.conn()).await?;
        Ok(match (done.rows_affected(), matches) {
            (0, _) => OtpCheck::Dead,
            (_, true) => OtpCheck::Accepted,
            (_, false) => OtpCheck::Rejected,
        })
    }

    async fn count_otp_since(
        &mut self,
        tenant_id: Uuid,
        channel: &str,
        since: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("select count(*) from otp_codes where tenant_id = $1 and type = $2 and created_at >= $3")
            .bind(tenant_id)
            .bind(channel)
            .bind(since)
            .fetch_one(self.conn())
            .await?)
    }
}
