//! Users in PostgreSQL.

use async_trait::async_trait;
use azth_core::model::{User, UserCredentials, UserStatus};
use chrono::{DateTime, Utc};
use sqlx::{FromRow as _, PgPool};
use uuid::Uuid;

use super::PgTx;
use crate::{NewUser, ProfilePatch, StoreError, UserRepo};

pub(crate) const COLUMNS: &str = "id, tenant_id, email, username, first_name, last_name, avatar, phone, email_verified, \
                       phone_verified, mfa_enabled, status, last_login_at, created_at, updated_at, deleted_at";

/// [`crate::Store::read_own_user`] in one round trip: the context and the
/// read travel as one simple query, which PostgreSQL runs as one implicit
/// transaction, so the transaction-local role and tenant end with it.
///
/// SECURITY: the statement is built by formatting; it holds only two UUIDs
/// (hex digits and dashes) and constants. RLS applies as in any tenant
/// transaction (`app_user`, the tenant set).
pub(crate) async fn read_own_user(pool: &PgPool, tenant_id: Uuid, user_id: Uuid) -> Result<Option<User>, StoreError> {
    let sql = format!(
        "select set_config('role', 'app_user', true), set_config('app.current_tenant_id', '{tenant_id}', true), \
                set_config('app.current_user_id', '{user_id}', true), set_config('app.actor', 'user', true); \
         select {COLUMNS} from users where tenant_id = '{tenant_id}' and id = '{user_id}' and deleted_at is null"
    );
    let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?;
    // The first row is the context statement's; a second is the user.
    match rows.as_slice() {
        [_context] => Ok(None),
        [_context, user] => User::try_from(UserRow::from_row(user)?).map(Some),
        _ => Err(StoreError::Internal(format!("own-user read returned {} rows", rows.len()))),
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: Uuid,
    tenant_id: Uuid,
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
    last_login_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct CredentialsRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: Option<String>,
    login_attempts: i32,
    locked_until: Option<DateTime<Utc>>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        Ok(User {
            status: UserStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Internal(format!("unknown user status {}", r.status)))?,
            id: r.id,
            tenant_id: r.tenant_id,
            email: r.email,
            username: r.username,
            first_name: r.first_name,
            last_name: r.last_name,
            avatar: r.avatar,
            phone: r.phone,
            email_verified: r.email_verified,
            phone_verified: r.phone_verified,
            mfa_enabled: r.mfa_enabled,
            last_login_at: r.last_login_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            deleted_at: r.deleted_at,
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
            locked_until: r.locked_until,
        })
    }
}

#[async_trait]
impl UserRepo for PgTx {
    async fn insert_user(&mut self, tenant_id: Uuid, new: &NewUser) -> Result<User, StoreError> {
        let sql = format!(
            "insert into users (id, tenant_id, email, username, password_hash, first_name, last_name, status)
             values ($1, $2, $3, $4, $5, $6, $7, $8) returning {COLUMNS}"
        );
        let row: UserRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(Uuid::now_v7())
            .bind(tenant_id)
            .bind(&new.email)
            .bind(&new.username)
            .bind(&new.password_hash)
            .bind(&new.first_name)
            .bind(&new.last_name)
            .bind(new.status.as_str())
            .fetch_one(self.conn())
            .await?;
        row.try_into()
    }

    async fn user_by_id(&mut self, tenant_id: Uuid, id: Uuid) -> Result<Option<User>, StoreError> {
        let sql = format!("select {COLUMNS} from users where tenant_id = $1 and id = $2 and deleted_at is null");
        let row: Option<UserRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant_id).bind(id).fetch_optional(self.conn()).await?;
        row.map(User::try_from).transpose()
    }

    async fn user_credentials(
        &mut self,
        tenant_id: Uuid,
        identifier: &str,
    ) -> Result<Option<UserCredentials>, StoreError> {
        // Emails are stored lowercased; usernames match case-insensitively
        // (both served by the partial unique indexes).
        let sql = format!(
            "select {COLUMNS}, password_hash, login_attempts, locked_until from users
             where tenant_id = $1 and deleted_at is null
               and (email = lower($2) or username_lower = lower($2))
             order by (email = lower($2)) desc limit 1"
        );
        let row: Option<CredentialsRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(identifier)
            .fetch_optional(self.conn())
            .await?;
        row.map(UserCredentials::try_from).transpose()
    }

    async fn user_credentials_by_id(
        &mut self,
        tenant_id: Uuid,
        id: Uuid,
    ) -> Result<Option<UserCredentials>, StoreError> {
        let sql = format!(
            "select {COLUMNS}, password_hash, login_attempts, locked_until from users
             where tenant_id = $1 and id = $2 and deleted_at is null"
        );
        let row: Option<CredentialsRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant_id).bind(id).fetch_optional(self.conn()).await?;
        row.map(UserCredentials::try_from).transpose()
    }

    async fn record_login_success(
        &mut self,
        tenant_id: Uuid,
        id: Uuid,
        new_hash: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "update users set last_login_at = now(), login_attempts = 0, locked_until = null,
                              password_hash = coalesce($3, password_hash)
             where tenant_id = $1 and id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(new_hash)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn record_login_failure(
        &mut self,
        tenant_id: Uuid,
        id: Uuid,
        locked_until: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "update users set login_attempts = login_attempts + 1, locked_until = coalesce($3, locked_until)
             where tenant_id = $1 and id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(locked_until)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn update_profile(&mut self, tenant_id: Uuid, id: Uuid, patch: &ProfilePatch) -> Result<User, StoreError> {
        // `case when $n then $m else col end` keeps absent fields and lets
        // present ones (including null) through, in one statement.
        let sql = format!(
            "update users set
                username   = case when $3 then $4 else username end,
                first_name = case when $5 then $6 else first_name end,
                last_name  = case when $7 then $8 else last_name end,
                avatar     = case when $9 then $10 else avatar end
             where tenant_id = $1 and id = $2 and deleted_at is null
             returning {COLUMNS}"
        );
        let flat = |f: &Option<Option<String>>| (f.is_some(), f.clone().flatten());
        let (u, uv) = flat(&patch.username);
        let (f, fv) = flat(&patch.first_name);
        let (l, lv) = flat(&patch.last_name);
        let (a, av) = flat(&patch.avatar);
        let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(id)
            .bind(u)
            .bind(uv)
            .bind(f)
            .bind(fv)
            .bind(l)
            .bind(lv)
            .bind(a)
            .bind(av)
            .fetch_optional(self.conn())
            .await?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    async fn set_password_hash(&mut self, tenant_id: Uuid, id: Uuid, hash: &str) -> Result<(), StoreError> {
        sqlx::query("update users set password_hash = $3 where tenant_id = $1 and id = $2")
            .bind(tenant_id)
            .bind(id)
            .bind(hash)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}
