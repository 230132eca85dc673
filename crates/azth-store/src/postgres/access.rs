//! Role assignments and effective permissions in PostgreSQL.

use async_trait::async_trait;
use uuid::Uuid;

use super::PgTx;
use crate::{AccessRepo, StoreError};

#[async_trait]
impl AccessRepo for PgTx {
    async fn assign_role_by_name(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        role: &str,
        assigned_by: Option<Uuid>,
    ) -> Result<bool, StoreError> {
        let found: Option<Uuid> =
            sqlx::query_scalar("select id from roles where tenant_id = $1 and name = $2 and deleted_at is null")
                .bind(tenant_id)
                .bind(role)
                .fetch_optional(self.conn())
                .await?;
        let Some(role_id) = found else { return Ok(false) };
        sqlx::query(
            "insert into user_roles (tenant_id, user_id, role_id, assigned_by) values ($1, $2, $3, $4)
             on conflict (user_id, role_id) do nothing",
        )
        .bind(tenant_id)
        .bind(user_id)
        .bind(role_id)
        .bind(assigned_by)
        .execute(self.conn())
        .await?;
        Ok(true)
    }

    async fn user_access(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let roles: Vec<String> = sqlx::query_scalar(
            "select r.name from user_roles ur join roles r on r.id = ur.role_id and r.tenant_id = ur.tenant_id
             where ur.tenant_id = $1 and ur.user_id = $2 and r.deleted_at is null
               and (ur.expires_at is null or ur.expires_at > now())
             order by r.name",
        )
        .bind(tenant_id)
        .bind(user_id)
        .fetch_all(self.conn())
        .await?;
        let permissions: Vec<String> = sqlx::query_scalar(
            "select distinct p.name from user_roles ur
             join roles r on r.id = ur.role_id and r.tenant_id = ur.tenant_id
             join role_permissions rp on rp.role_id = r.id and rp.tenant_id = ur.tenant_id
             join permissions p on p.id = rp.permission_id
             where ur.tenant_id = $1 and ur.user_id = $2 and r.deleted_at is null
               and (ur.expires_at is null or ur.expires_at > now())
             order by p.name",
        )
        .bind(tenant_id)
        .bind(user_id)
        .fetch_all(self.conn())
        .await?;
        Ok((roles, permissions))
    }
}
