//! Role assignments and effective permissions as sign-in needs them, in SQLite.

use async_trait::async_trait;
use uuid::Uuid;
use uuid::fmt::Hyphenated;

use super::users::sees;
use super::{SqliteTx, id, id_opt, now};
use crate::{AccessRepo, StoreError};

#[async_trait]
impl AccessRepo for SqliteTx {
    async fn assign_role_by_name(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        role: &str,
        assigned_by: Option<Uuid>,
    ) -> Result<bool, StoreError> {
        self.check_scope(tenant_id)?;
        // Looked up on the writer: the role cannot be deleted between the
        // look-up and the insert.
        let found: Option<Hyphenated> =
            sqlx::query_scalar("select id from roles where tenant_id = $1 and name = $2 and deleted_at is null")
                .bind(id(tenant_id))
                .bind(role)
                .fetch_optional(self.write().await?)
                .await?;
        let Some(role_id) = found else { return Ok(false) };
        let stamp = now();
        sqlx::query(
            "insert into user_roles (id, tenant_id, user_id, role_id, assigned_by, assigned_at, created_at)
             values ($1, $2, $3, $4, $5, $6, $6)
             on conflict (user_id, role_id) do nothing",
        )
        .bind(id(Uuid::now_v7()))
        .bind(id(tenant_id))
        .bind(id(user_id))
        .bind(role_id)
        .bind(id_opt(assigned_by))
        .bind(stamp)
        .execute(self.write().await?)
        .await?;
        Ok(true)
    }

    async fn user_access(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<(Vec<String>, Vec<String>), StoreError> {
        if !sees(self, tenant_id) {
            return Ok((Vec::new(), Vec::new()));
        }
        let stamp = now();
        let roles: Vec<String> = sqlx::query_scalar(
            "select r.name from user_roles ur join roles r on r.id = ur.role_id and r.tenant_id = ur.tenant_id
             where ur.tenant_id = $1 and ur.user_id = $2 and r.deleted_at is null
               and (ur.expires_at is null or ur.expires_at > $3)
             order by r.name",
        )
        .bind(id(tenant_id))
        .bind(id(user_id))
        .bind(stamp)
        .fetch_all(self.read().await?)
        .await?;
        let permissions: Vec<String> = sqlx::query_scalar(
            "select distinct p.name from user_roles ur
             join roles r on r.id = ur.role_id and r.tenant_id = ur.tenant_id
             join role_permissions rp on rp.role_id = r.id and rp.tenant_id = ur.tenant_id
             join permissions p on p.id = rp.permission_id
             where ur.tenant_id = $1 and ur.user_id = $2 and r.deleted_at is null
               and (ur.expires_at is null or ur.expires_at > $3)
             order by p.name",
        )
        .bind(id(tenant_id))
        .bind(id(user_id))
        .bind(stamp)
        .fetch_all(self.read().await?)
        .await?;
        Ok((roles, permissions))
    }
}
