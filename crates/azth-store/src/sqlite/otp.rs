//! One-time codes in SQLite.
//!
//! Every check is one conditional UPDATE on the single writer, so attempts
//! are counted atomically and of two right answers to one code one wins.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use uuid::fmt::Hyphenated;

use super::{SqliteTx, at, id, id_opt, now, ts};
use crate::{NewOtp, OtpCheck, OtpCode, OtpRepo, StoreError};

#[derive(sqlx::FromRow)]
struct OtpRow {
    id: Hyphenated,
    user_id: Option<Hyphenated>,
    code_hash: String,
    attempts: i32,
    max_attempts: i32,
    expires_at: i64,
}

#[async_trait]
impl OtpRepo for SqliteTx {
    async fn insert_otp(&mut self, new: &NewOtp) -> Result<Uuid, StoreError> {
        self.check_scope(new.tenant_id)?;
        let stamp = now();
        // A new send kills the previous live codes for the same target.
        sqlx::query(
            "update otp_codes set used_at = $5
             where tenant_id = $1 and type = $2 and purpose = $3 and target = $4 and used_at is null",
        )
        .bind(id(new.tenant_id))
        .bind(&new.channel)
        .bind(&new.purpose)
        .bind(&new.target)
        .bind(stamp)
        .execute(self.write().await?)
        .await?;
        let code = Uuid::now_v7();
        sqlx::query(
            "insert into otp_codes (id, tenant_id, user_id, code_hash, type, purpose, target, max_attempts,
                                    expires_at, created_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id(code))
        .bind(id(new.tenant_id))
        .bind(id_opt(new.user_id))
        .bind(&new.code_hash)
        .bind(&new.channel)
        .bind(&new.purpose)
        .bind(&new.target)
        .bind(new.max_attempts)
        .bind(ts(new.expires_at))
        .bind(stamp)
        .execute(self.write().await?)
        .await?;
        Ok(code)
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
             order by created_at desc, id desc limit 1",
        )
        .bind(id(tenant_id))
        .bind(channel)
        .bind(purpose)
        .bind(target)
        .fetch_optional(self.read().await?)
        .await?;
        Ok(row.map(|r| OtpCode {
            id: r.id.into_uuid(),
            user_id: r.user_id.map(Hyphenated::into_uuid),
            code_hash: r.code_hash,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            expires_at: at(r.expires_at),
        }))
    }

    async fn check_otp(&mut self, tenant_id: Uuid, code: Uuid, matches: bool) -> Result<OtpCheck, StoreError> {
        self.check_scope(tenant_id)?;
        // SECURITY: each branch is one conditional UPDATE, so attempts are
        // counted atomically and of two concurrent right answers one wins.
        let live = "tenant_id = $1 and id = $2 and used_at is null and expires_at > $3 and attempts < max_attempts";
        let sql = if matches {
            format!("update otp_codes set used_at = $3 where {live}")
        } else {
            format!("update otp_codes set attempts = attempts + 1 where {live}")
        };
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id(tenant_id))
            .bind(id(code))
            .bind(now())
            .execute(self.write().await?)
            .await?;
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
            .bind(id(tenant_id))
            .bind(channel)
            .bind(ts(since))
            .fetch_one(self.read().await?)
            .await?)
    }
}
