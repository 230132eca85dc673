//! Users in SQLite: the row mapping shared with the admin and recovery
//! repositories, and sign-in's look-ups and counters.

use async_trait::async_trait;
use azth_core::model::{User, UserCredentials, UserStatus};
use chrono::{DateTime, Utc};
use uuid::Uuid;
use uuid::fmt::Hyphenated;

use super::{SqliteTx, at, at_opt, id, now, ts};
use crate::{NewUser, ProfilePatch, StoreError, UserRepo};

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

/// Whether this transaction may see `tenant_id`'s rows. A tenant
/// transaction sees its own tenant only: where PostgreSQL's row-level
/// security returns no rows for another tenant, so do these look-ups
/// (writes refuse instead, through [`SqliteTx::check_scope`]).
pub(super) fn sees(tx: &SqliteTx, tenant_id: Uuid) -> bool {
    tx.scope().is_none_or(|scope| scope == tenant_id)
}

/// A patch field as two bind values: whether it is present, and its value.
pub(super) fn flat(field: &Option<Option<String>>) -> (bool, Option<String>) {
    (field.is_some(), field.clone().flatten())
}

#[async_trait]
impl UserRepo for SqliteTx {
    async fn insert_user(&mut self, tenant_id: Uuid, new: &NewUser) -> Result<User, StoreError> {
        self.check_scope(tenant_id)?;
        let sql = format!(
            "insert into users (id, tenant_id, email, username, password_hash, first_name, last_name, status,
                                created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) returning {COLUMNS}"
        );
        let row: UserRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(Uuid::now_v7()))
            .bind(id(tenant_id))
            .bind(&new.email)
            .bind(&new.username)
            .bind(&new.password_hash)
            .bind(&new.first_name)
            .bind(&new.last_name)
            .bind(new.status.as_str())
            .bind(now())
            .fetch_one(self.write().await?)
            .await?;
        row.try_into()
    }

    async fn user_by_id(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<Option<User>, StoreError> {
        if !sees(self, tenant_id) {
            return Ok(None);
        }
        let sql = format!("select {COLUMNS} from users where tenant_id = $1 and id = $2 and deleted_at is null");
        let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(tenant_id))
            .bind(id(user_id))
            .fetch_optional(self.read().await?)
            .await?;
        row.map(User::try_from).transpose()
    }

    async fn user_credentials(
        &mut self,
        tenant_id: Uuid,
        identifier: &str,
    ) -> Result<Option<UserCredentials>, StoreError> {
        if !sees(self, tenant_id) {
            return Ok(None);
        }
        // Emails are stored lowercased; usernames match case-insensitively
        // (both served by the partial unique indexes). The identifier is
        // lowercased here, not by SQLite's lower(), which folds ASCII only:
        // a non-ASCII email matches as in PostgreSQL (usernames are ASCII).
        let sql = format!(
            "select {COLUMNS}, password_hash, login_attempts, locked_until from users
             where tenant_id = $1 and deleted_at is null
               and (email = $2 or lower(username) = $2)
             order by (email = $2) desc limit 1"
        );
        let row: Option<CredentialsRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(tenant_id))
            .bind(identifier.to_lowercase())
            .fetch_optional(self.read().await?)
            .await?;
        row.map(UserCredentials::try_from).transpose()
    }

    async fn user_credentials_by_id(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
    ) -> Result<Option<UserCredentials>, StoreError> {
        if !sees(self, tenant_id) {
            return Ok(None);
        }
        let sql = format!(
            "select {COLUMNS}, password_hash, login_attempts, locked_until from users
             where tenant_id = $1 and id = $2 and deleted_at is null"
        );
        let row: Option<CredentialsRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(tenant_id))
            .bind(id(user_id))
            .fetch_optional(self.read().await?)
            .await?;
        row.map(UserCredentials::try_from).transpose()
    }

    async fn record_login_success(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        new_hash: Option<&str>,
    ) -> Result<(), StoreError> {
        self.check_scope(tenant_id)?;
        sqlx::query(
            "update users set last_login_at = $4, login_attempts = 0, locked_until = null,
                              password_hash = coalesce($3, password_hash), updated_at = $4
             where tenant_id = $1 and id = $2",
        )
        .bind(id(tenant_id))
        .bind(id(user_id))
        .bind(new_hash)
        .bind(now())
        .execute(self.write().await?)
        .await?;
        Ok(())
    }

    async fn record_login_failure(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        locked_until: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.check_scope(tenant_id)?;
        sqlx::query(
            "update users set login_attempts = login_attempts + 1, locked_until = coalesce($3, locked_until),
                              updated_at = $4
             where tenant_id = $1 and id = $2",
        )
        .bind(id(tenant_id))
        .bind(id(user_id))
        .bind(locked_until.map(ts))
        .bind(now())
        .execute(self.write().await?)
        .await?;
        Ok(())
    }

    async fn update_profile(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        patch: &ProfilePatch,
    ) -> Result<User, StoreError> {
        self.check_scope(tenant_id)?;
        // `case when $n then $m else col end` keeps absent fields and lets
        // present ones (including null) through, in one statement.
        let sql = format!(
            "update users set
                username   = case when $3 then $4 else username end,
                first_name = case when $5 then $6 else first_name end,
                last_name  = case when $7 then $8 else last_name end,
                avatar     = case when $9 then $10 else avatar end,
                updated_at = $11
             where tenant_id = $1 and id = $2 and deleted_at is null
             returning {COLUMNS}"
        );
        let (u, uv) = flat(&patch.username);
        let (f, fv) = flat(&patch.first_name);
        let (l, lv) = flat(&patch.last_name);
        let (a, av) = flat(&patch.avatar);
        let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(tenant_id))
            .bind(id(user_id))
            .bind(u)
            .bind(uv)
            .bind(f)
            .bind(fv)
            .bind(l)
            .bind(lv)
            .bind(a)
            .bind(av)
            .bind(now())
            .fetch_optional(self.write().await?)
            .await?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    async fn set_password_hash(&mut self, tenant_id: Uuid, user_id: Uuid, hash: &str) -> Result<(), StoreError> {
        self.check_scope(tenant_id)?;
        sqlx::query("update users set password_hash = $3, updated_at = $4 where tenant_id = $1 and id = $2")
            .bind(id(tenant_id))
            .bind(id(user_id))
            .bind(hash)
            .bind(now())
            .execute(self.write().await?)
            .await?;
        Ok(())
    }
}
