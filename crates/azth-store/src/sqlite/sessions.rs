//! Sessions and refresh tokens in SQLite.
//!
//! `spend_refresh_token` and `session_by_token_hash` take no tenant: in a
//! tenant transaction they only see that tenant's rows, as PostgreSQL's
//! row-level security would.

use std::net::IpAddr;

use async_trait::async_trait;
use azth_core::model::{Session, SessionMode};
use chrono::{DateTime, Utc};
use uuid::Uuid;
use uuid::fmt::Hyphenated;

use super::{SqliteTx, at, at_opt, id, id_opt, now, string_array, to_array, ts};
use crate::{NewSession, RefreshOutcome, SessionRepo, StoreError};

const COLUMNS: &str = "id, tenant_id, user_id, ip_address, user_agent, amr, mode, \
                       last_activity, expires_at, revoked_at, created_at";

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: Hyphenated,
    tenant_id: Hyphenated,
    user_id: Hyphenated,
    ip_address: Option<String>,
    user_agent: Option<String>,
    amr: String,
    mode: String,
    last_activity: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
    created_at: i64,
}

impl From<SessionRow> for Session {
    fn from(r: SessionRow) -> Self {
        Session {
            id: r.id.into_uuid(),
            tenant_id: r.tenant_id.into_uuid(),
            user_id: r.user_id.into_uuid(),
            ip_address: r.ip_address,
            user_agent: r.user_agent,
            amr: string_array(Some(&r.amr)),
            mode: if r.mode == "cookie" { SessionMode::Cookie } else { SessionMode::Token },
            last_activity: at(r.last_activity),
            expires_at: at(r.expires_at),
            revoked_at: at_opt(r.revoked_at),
            created_at: at(r.created_at),
        }
    }
}

/// The client address as PostgreSQL stores an `inet` and `host()` shows it:
/// an address with an optional prefix length (anything else is refused, as
/// the `::inet` cast does), kept as the address alone in canonical form.
fn host(ip: Option<&str>) -> Result<Option<String>, StoreError> {
    let Some(text) = ip else { return Ok(None) };
    let invalid = || StoreError::Internal(format!("invalid input syntax for type inet: \"{text}\""));
    let (addr, prefix) = match text.split_once('/') {
        Some((addr, prefix)) => (addr, Some(prefix)),
        None => (text, None),
    };
    let addr: IpAddr = addr.trim().parse().map_err(|_| invalid())?;
    if let Some(prefix) = prefix {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        match prefix.trim().parse::<u8>() {
            Ok(bits) if bits <= max => {}
            _ => return Err(invalid()),
        }
    }
    Ok(Some(addr.to_string()))
}

#[async_trait]
impl SessionRepo for SqliteTx {
    async fn insert_session(&mut self, new: &NewSession) -> Result<Session, StoreError> {
        self.check_scope(new.tenant_id)?;
        let ip = host(new.ip_address.as_deref())?;
        let sql = format!(
            "insert into sessions (id, tenant_id, user_id, token_hash, ip_address, user_agent, amr, mode,
                                   last_activity, expires_at, created_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9) returning {COLUMNS}"
        );
        let row: SessionRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(new.id))
            .bind(id(new.tenant_id))
            .bind(id(new.user_id))
            .bind(&new.token_hash)
            .bind(ip)
            .bind(&new.user_agent)
            .bind(to_array(&new.amr))
            .bind(new.mode.as_str())
            .bind(now())
            .bind(ts(new.expires_at))
            .fetch_one(self.write().await?)
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
        self.check_scope(tenant_id)?;
        sqlx::query(
            "insert into refresh_tokens (token_hash, tenant_id, session_id, created_at, expires_at)
             values ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(id(tenant_id))
        .bind(id(session_id))
        .bind(now())
        .bind(ts(expires_at))
        .execute(self.write().await?)
        .await?;
        Ok(())
    }

    async fn spend_refresh_token(&mut self, token_hash: &str) -> Result<RefreshOutcome, StoreError> {
        // SECURITY: one UPDATE … WHERE spent_at IS NULL on the single writer:
        // of two presentations of one token, exactly one sees it unspent.
        let scope = self.scope_text();
        let spent: Option<(Hyphenated, Hyphenated)> = sqlx::query_as(
            "update refresh_tokens set spent_at = $2
             where token_hash = $1 and spent_at is null and expires_at > $2
               and ($3 is null or tenant_id = $3)
             returning session_id, tenant_id",
        )
        .bind(token_hash)
        .bind(now())
        .bind(scope)
        .fetch_optional(self.write().await?)
        .await?;
        if let Some((session_id, tenant_id)) = spent {
            return Ok(match self.session_by_id(tenant_id.into_uuid(), session_id.into_uuid()).await? {
                Some(session) => RefreshOutcome::Fresh(session),
                None => RefreshOutcome::Invalid,
            });
        }
        let replay: Option<(Hyphenated, Hyphenated)> = sqlx::query_as(
            "select session_id, tenant_id from refresh_tokens
             where token_hash = $1 and spent_at is not null and ($2 is null or tenant_id = $2)",
        )
        .bind(token_hash)
        .bind(scope)
        .fetch_optional(self.write().await?)
        .await?;
        Ok(match replay {
            Some((session_id, tenant_id)) => {
                RefreshOutcome::Spent { session_id: session_id.into_uuid(), tenant_id: tenant_id.into_uuid() }
            }
            None => RefreshOutcome::Invalid,
        })
    }

    async fn session_by_id(&mut self, tenant_id: Uuid, session: Uuid) -> Result<Option<Session>, StoreError> {
        let sql = format!("select {COLUMNS} from sessions where tenant_id = $1 and id = $2");
        let row: Option<SessionRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(tenant_id))
            .bind(id(session))
            .fetch_optional(self.read().await?)
            .await?;
        Ok(row.map(Session::from))
    }

    async fn session_by_token_hash(&mut self, token_hash: &str) -> Result<Option<Session>, StoreError> {
        let sql = format!("select {COLUMNS} from sessions where token_hash = $1 and ($2 is null or tenant_id = $2)");
        let scope = self.scope_text();
        let row: Option<SessionRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .bind(scope)
            .fetch_optional(self.read().await?)
            .await?;
        Ok(row.map(Session::from))
    }

    async fn rotate_session_token(
        &mut self,
        tenant_id: Uuid,
        session: Uuid,
        old_hash: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        self.check_scope(tenant_id)?;
        let done = sqlx::query(
            "update sessions set token_hash = $4, last_activity = $5
             where tenant_id = $1 and id = $2 and token_hash = $3 and revoked_at is null",
        )
        .bind(id(tenant_id))
        .bind(id(session))
        .bind(old_hash)
        .bind(new_hash)
        .bind(now())
        .execute(self.write().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn sessions_of_user(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<Vec<Session>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from sessions
             where tenant_id = $1 and user_id = $2 and revoked_at is null and expires_at > $3
             order by created_at desc, id desc"
        );
        let rows: Vec<SessionRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(tenant_id))
            .bind(id(user_id))
            .bind(now())
            .fetch_all(self.read().await?)
            .await?;
        Ok(rows.into_iter().map(Session::from).collect())
    }

    async fn revoke_session(&mut self, tenant_id: Uuid, session: Uuid) -> Result<bool, StoreError> {
        self.check_scope(tenant_id)?;
        let done =
            sqlx::query("update sessions set revoked_at = $3 where tenant_id = $1 and id = $2 and revoked_at is null")
                .bind(id(tenant_id))
                .bind(id(session))
                .bind(now())
                .execute(self.write().await?)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn revoke_user_sessions(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        except: Option<Uuid>,
    ) -> Result<Vec<Uuid>, StoreError> {
        self.check_scope(tenant_id)?;
        let ids: Vec<Hyphenated> = sqlx::query_scalar(
            "update sessions set revoked_at = $4
             where tenant_id = $1 and user_id = $2 and revoked_at is null
               and ($3 is null or id <> $3)
             returning id",
        )
        .bind(id(tenant_id))
        .bind(id(user_id))
        .bind(id_opt(except))
        .bind(now())
        .fetch_all(self.write().await?)
        .await?;
        Ok(ids.into_iter().map(Hyphenated::into_uuid).collect())
    }

    async fn revoked_sessions_since(&mut self, since: DateTime<Utc>) -> Result<Vec<(Uuid, DateTime<Utc>)>, StoreError> {
        let scope = self.scope_text();
        let rows: Vec<(Hyphenated, i64)> = sqlx::query_as(
            "select id, revoked_at from sessions
             where revoked_at >= $1 and ($2 is null or tenant_id = $2) order by revoked_at",
        )
        .bind(ts(since))
        .bind(scope)
        .fetch_all(self.read().await?)
        .await?;
        Ok(rows.into_iter().map(|(id, at_us)| (id.into_uuid(), at(at_us))).collect())
    }

    async fn touch_session(&mut self, tenant_id: Uuid, session: Uuid) -> Result<(), StoreError> {
        self.check_scope(tenant_id)?;
        sqlx::query("update sessions set last_activity = $3 where tenant_id = $1 and id = $2")
            .bind(id(tenant_id))
            .bind(id(session))
            .bind(now())
            .execute(self.write().await?)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::host;

    #[test]
    fn addresses_are_stored_as_postgres_shows_them() {
        assert_eq!(host(None).ok(), Some(None));
        assert_eq!(host(Some("203.0.113.9")).ok(), Some(Some("203.0.113.9".to_owned())));
        assert_eq!(host(Some("2001:DB8:0:0::1")).ok(), Some(Some("2001:db8::1".to_owned())));
        assert_eq!(host(Some("10.0.0.1/32")).ok(), Some(Some("10.0.0.1".to_owned())));
        assert!(host(Some("not an address")).is_err());
        assert!(host(Some("10.0.0.1/33")).is_err());
    }
}
