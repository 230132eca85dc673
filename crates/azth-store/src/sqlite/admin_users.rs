//! Users as administrators manage them, in SQLite.

use async_trait::async_trait;
use azth_core::model::User;
use uuid::Uuid;

use super::users::{COLUMNS, UserRow, flat, sees};
use super::{SqliteTx, id, now, ts};
use crate::{AdminUserPatch, AdminUserRepo, StoreError, UserFilter};

/// Escapes LIKE wildcards so a search prefix matches literally (the
/// statements name `\` as the escape character; SQLite has no default).
fn like_prefix(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 1);
    for c in q.to_lowercase().chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

fn one(row: Option<UserRow>) -> Result<Option<User>, StoreError> {
    row.map(User::try_from).transpose()
}

#[async_trait]
impl AdminUserRepo for SqliteTx {
    async fn list_users(&mut self, tenant_id: Uuid, filter: &UserFilter) -> Result<Vec<User>, StoreError> {
        if filter.limit < 0 {
            // PostgreSQL refuses a negative LIMIT; SQLite would read it as "no limit".
            return Err(StoreError::Internal("LIMIT must not be negative".to_owned()));
        }
        if !sees(self, tenant_id) {
            return Ok(Vec::new());
        }
        let (after_at, after_id) = filter.after.unzip();
        // SQLite's lower() and LIKE fold ASCII letters only (PostgreSQL's
        // lower() folds every letter); emails are stored lowercased and
        // usernames are ASCII, so only non-ASCII capitals in names differ.
        let sql = format!(
            r"select {COLUMNS} from users u
             where tenant_id = $1
               and ($2 or deleted_at is null)
               and ($3 is null or status = $3)
               and ($4 is null or lower(email) like $4 escape '\' or lower(username) like $4 escape '\'
                    or lower(first_name) like $4 escape '\' or lower(last_name) like $4 escape '\')
               and (($5 is null and $6 is null) or exists (
                    select 1 from user_roles ur join roles r on r.id = ur.role_id and r.tenant_id = ur.tenant_id
                    where ur.tenant_id = u.tenant_id and ur.user_id = u.id and r.deleted_at is null
                      and (ur.expires_at is null or ur.expires_at > $10)
                      and (r.id = $5 or r.name = $6)))
               and ($7 is null or created_at > $7 or (created_at = $7 and id > $8))
             order by created_at, id
             limit $9"
        );
        let rows: Vec<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(tenant_id))
            .bind(filter.include_deleted)
            .bind(filter.status.map(|s| s.as_str()))
            .bind(filter.q.as_deref().map(like_prefix))
            .bind(filter.role_id.map(id))
            .bind(filter.role_name.as_deref())
            .bind(after_at.map(ts))
            .bind(after_id.map(id))
            .bind(filter.limit)
            .bind(now())
            .fetch_all(self.read().await?)
            .await?;
        rows.into_iter().map(User::try_from).collect()
    }

    async fn find_user(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        include_deleted: bool,
    ) -> Result<Option<User>, StoreError> {
        if !sees(self, tenant_id) {
            return Ok(None);
        }
        let sql =
            format!("select {COLUMNS} from users where tenant_id = $1 and id = $2 and ($3 or deleted_at is null)");
        one(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(tenant_id))
            .bind(id(user_id))
            .bind(include_deleted)
            .fetch_optional(self.read().await?)
            .await?)
    }

    async fn admin_update_user(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        patch: &AdminUserPatch,
    ) -> Result<Option<User>, StoreError> {
        self.check_scope(tenant_id)?;
        // `case when $n then $m else col end` keeps absent fields and lets
        // present ones (including null) through, in one statement. Every
        // expression reads the row as it was before the update, as in
        // PostgreSQL.
        let sql = format!(
            "update users set
                email          = coalesce($3, email),
                email_verified = case when $3 is not null and $3 <> email then 0 else email_verified end,
                username       = case when $4 then $5 else username end,
                first_name     = case when $6 then $7 else first_name end,
                last_name      = case when $8 then $9 else last_name end,
                avatar         = case when $10 then $11 else avatar end,
                phone_verified = case when $12 and $13 is not phone then 0 else phone_verified end,
                phone          = case when $12 then $13 else phone end,
                status         = coalesce($14, status),
                updated_at     = $15
             where tenant_id = $1 and id = $2 and deleted_at is null
             returning {COLUMNS}"
        );
        let (u, uv) = flat(&patch.username);
        let (f, fv) = flat(&patch.first_name);
        let (l, lv) = flat(&patch.last_name);
        let (a, av) = flat(&patch.avatar);
        let (p, pv) = flat(&patch.phone);
        one(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(tenant_id))
            .bind(id(user_id))
            .bind(patch.email.as_deref())
            .bind(u)
            .bind(uv)
            .bind(f)
            .bind(fv)
            .bind(l)
            .bind(lv)
            .bind(a)
            .bind(av)
            .bind(p)
            .bind(pv)
            .bind(patch.status.map(|s| s.as_str()))
            .bind(now())
            .fetch_optional(self.write().await?)
            .await?)
    }

    async fn soft_delete_user(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<Option<User>, StoreError> {
        self.check_scope(tenant_id)?;
        let sql = format!(
            "update users set deleted_at = $3, password_reset_token = null, password_reset_expires_at = null,
                              email_verification_token = null, email_verification_expires_at = null,
                              updated_at = $3
             where tenant_id = $1 and id = $2 and deleted_at is null returning {COLUMNS}"
        );
        one(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(tenant_id))
            .bind(id(user_id))
            .bind(now())
            .fetch_optional(self.write().await?)
            .await?)
    }

    async fn restore_user(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<Option<User>, StoreError> {
        self.check_scope(tenant_id)?;
        let sql = format!(
            "update users set deleted_at = null, updated_at = $3
             where tenant_id = $1 and id = $2 and deleted_at is not null returning {COLUMNS}"
        );
        one(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(tenant_id))
            .bind(id(user_id))
            .bind(now())
            .fetch_optional(self.write().await?)
            .await?)
    }

    async fn unlock_user(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<Option<User>, StoreError> {
        self.check_scope(tenant_id)?;
        let sql = format!(
            "update users set login_attempts = 0, locked_until = null, updated_at = $3
             where tenant_id = $1 and id = $2 and deleted_at is null returning {COLUMNS}"
        );
        one(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(tenant_id))
            .bind(id(user_id))
            .bind(now())
            .fetch_optional(self.write().await?)
            .await?)
    }

    async fn lock_tenant(&mut self, _tenant_id: Uuid) -> Result<(), StoreError> {
        // There is one writer: holding it (BEGIN IMMEDIATE) until the end of
        // the transaction serialises every change, this tenant's included.
        self.write().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_prefixes_are_literal() {
        assert_eq!(super::like_prefix("Al%_\\"), "al\\%\\_\\\\%");
    }
}
