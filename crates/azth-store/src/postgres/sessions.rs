//! Sessions and refresh tokens in PostgreSQL.

use async_trait::async_trait;
use azth_core::model::{Session, SessionMode};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::PgTx;
use crate::{NewSession, RefreshOutcome, SessionRepo, StoreError};

const COLUMNS: &str = "id, tenant_id, user_id, host(ip_address) as ip_address, user_agent, amr, mode, \
                       last_activity, expires_at, revoked_at, created_at";

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: Uuid,
    tenant_id: Uuid,
    user_id: Uuid,
    ip_address: Option<String>,
    user_agent: Option<String>,
    amr: Vec<String>,
    mode: String,
    last_activity: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl From<SessionRow> for Session {
    fn from(r: SessionRow) -> Self {
        Session {
            id: r.id,
            tenant_id: r.tenant_id,
            user_id: r.user_id,
            ip_address: r.ip_address,
            user_agent: r.user_agent,
            amr: r.amr,
            mode: if r.mode == "cookie" { SessionMode::Cookie } else { SessionMode::Token },
            last_activity: r.last_activity,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
            created_at: r.created_at,
        }
    }
}

#[async_trait]
impl SessionRepo for PgTx {
    async fn insert_session(&mut self, new: &NewSession) -> Result<Session, StoreError> {
        let sql = format!(
            "insert into sessions (id, tenant_id, user_id, token_hash, ip_address, user_agent, amr, mode, expires_at)
             values ($1, $2, $3, $4, $5::inet, $6, $7, $8, $9) returning {COLUMNS}"
        );
        let row: SessionRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(new.id)
            .bind(new.tenant_id)
            .bind(new.user_id)
            .bind(&new.token_hash)
            .bind(&new.ip_address)
            .bind(&new.user_agent)
            .bind(&new.amr)
            .bind(new.mode.as_str())
            .bind(new.expires_at)
            .fetch_one(self.conn())
            .await?;
        Ok(row.into())
    }

    async fn insert_refresh_token(
        &mut self,
        tenant_id: Uuid,
        session_id: Uuid,
        token_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "insert into refresh_tokens (token_hash, tenant_id, session_id, expires_at) values ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(tenant_id)
        .bind(session_id)
        .bind(expires_at)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn spend_refresh_token(&mut self, token_hash: &str) -> Result<RefreshOutcome, StoreError> {
        // SECURITY: one UPDATE … WHERE spent_at IS NULL: of two concurrent
        // presentations of one token, exactly one sees it unspent.
        let spent: Option<(Uuid, Uuid)> = sqlx::query_as(
            "update refresh_tokens set spent_at = now()
             where token_hash = $1 and spent_at is null and expires_at > now()
             returning session_id, tenant_id",
        )
        .bind(token_hash)
        .fetch_optional(self.conn())
        .await?;
        if let Some((session_id, tenant_id)) = spent {
            return Ok(match self.session_by_id(tenant_id, session_id).await? {
                Some(session) => RefreshOutcome::Fresh(session),
                None => RefreshOutcome::Invalid,
            });
        }
        let replay: Option<(Uuid, Uuid)> = sqlx::query_as(
            "select session_id, tenant_id from refresh_tokens where token_hash = $1 and spent_at is not null",
        )
        .bind(token_hash)
        .fetch_optional(self.conn())
        .await?;
        Ok(match replay {
            Some((session_id, tenant_id)) => RefreshOutcome::Spent { session_id, tenant_id },
            None => RefreshOutcome::Invalid,
        })
    }

    async fn session_by_id(&mut self, tenant_id: Uuid, id: Uuid) -> Result<Option<Session>, StoreError> {
        let sql = format!("select {COLUMNS} from sessions where tenant_id = $1 and id = $2");
        let row: Option<SessionRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant_id).bind(id).fetch_optional(self.conn()).await?;
        Ok(row.map(Session::from))
    }

    async fn session_by_token_hash(&mut self, token_hash: &str) -> Result<Option<Session>, StoreError> {
        let sql = format!("select {COLUMNS} from sessions where token_hash = $1");
        let row: Option<SessionRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(token_hash).fetch_optional(self.conn()).await?;
        Ok(row.map(Session::from))
    }

    async fn rotate_session_token(
        &mut self,
        tenant_id: Uuid,
        id: Uuid,
        old_hash: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "update sessions set token_hash = $4, last_activity = now()
             where tenant_id = $1 and id = $2 and token_hash = $3 and revoked_at is null",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(old_hash)
        .bind(new_hash)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn sessions_of_user(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<Vec<Session>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from sessions
             where tenant_id = $1 and user_id = $2 and revoked_at is null and expires_at > now()
             order by created_at desc, id desc"
        );
        let rows: Vec<SessionRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant_id).bind(user_id).fetch_all(self.conn()).await?;
        Ok(rows.into_iter().map(Session::from).collect())
    }

    async fn revoke_session(&mut self, tenant_id: Uuid, id: Uuid) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "update sessions set revoked_at = now() where tenant_id = $1 and id = $2 and revoked_at is null",
        )
        .bind(tenant_id)
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn revoke_user_sessions(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        except: Option<Uuid>,
    ) -> Result<Vec<Uuid>, StoreError> {
        Ok(sqlx::query_scalar(
            "update sessions set revoked_at = now()
             where tenant_id = $1 and user_id = $2 and revoked_at is null
               and ($3::uuid is null or id <> $3)
             returning id",
        )
        .bind(tenant_id)
        .bind(user_id)
        .bind(except)
        .fetch_all(self.conn())
        .await?)
    }

    async fn revoked_sessions_since(&mut self, since: DateTime<Utc>) -> Result<Vec<(Uuid, DateTime<Utc>)>, StoreError> {
        // Served by the partial index idx_sessions_revoked_at.
        Ok(sqlx::query_as("select id, revoked_at from sessions where revoked_at >= $1 order by revoked_at")
            .bind(since)
            .fetch_all(self.conn())
            .await?)
    }

    async fn touch_session(&mut self, tenant_id: Uuid, id: Uuid) -> Result<(), StoreError> {
        sqlx::query("update sessions set last_activity = now() where tenant_id = $1 and id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}
