//! Tenants as operators manage them, in PostgreSQL.

use async_trait::async_trait;
use azth_core::AuditContext;
use azth_core::model::Tenant;
use uuid::Uuid;

use super::PgTx;
use super::tenants::{COLUMNS, TenantRow, one};
use crate::{AdminTenantRepo, StoreError, TenantFilter, TenantPatch};

#[async_trait]
impl AdminTenantRepo for PgTx {
    async fn set_audit_actor(&mut self, ctx: &AuditContext) -> Result<(), StoreError> {
        let actor = ctx.actor.user_id().map(|id| id.to_string()).unwrap_or_default();
        let ip = ctx.ip.map(|ip| ip.to_string()).unwrap_or_default();
        sqlx::query(
            "select set_config('app.current_user_id', $1, true),
                    set_config('app.ip_address', $2, true),
                    set_config('app.user_agent', $3, true),
                    set_config('app.actor', $4, true)",
        )
        .bind(actor)
        .bind(ip)
        .bind(ctx.user_agent.as_deref().unwrap_or_default())
        .bind(super::actor_label(ctx.actor))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn list_tenants(&mut self, filter: &TenantFilter) -> Result<Vec<Tenant>, StoreError> {
        let (after_at, after_id) = filter.after.unzip();
        let q = filter.q.as_deref().map(|q| {
            let escaped: String = q
                .to_lowercase()
                .chars()
                .flat_map(|c| if matches!(c, '\\' | '%' | '_') { vec!['\\', c] } else { vec![c] })
                .collect();
            format!("{escaped}%")
        });
        let sql = format!(
            "select {COLUMNS} from tenants
             where deleted_at is null
               and ($1::text is null or status = $1)
               and ($2::text is null or slug like $2 or lower(name) like $2)
               and ($3::timestamptz is null or (created_at, id) > ($3::timestamptz, $4::uuid))
             order by created_at, id
             limit $5"
        );
        let rows: Vec<TenantRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(filter.status.map(|s| s.as_str()))
            .bind(q)
            .bind(after_at)
            .bind(after_id)
            .bind(filter.limit)
            .fetch_all(self.conn())
            .await?;
        rows.into_iter().map(Tenant::try_from).collect()
    }

    async fn update_tenant(&mut self, id: Uuid, patch: &TenantPatch) -> Result<Option<Tenant>, StoreError> {
        let sql = format!(
            "update tenants set
                name     = coalesce($2, name),
                domain   = case when $3 then $4 else domain end,
                plan     = coalesce($5, plan),
                settings = coalesce($6, settings)
             where id = $1 and deleted_at is null
             returning {COLUMNS}"
        );
        one(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(patch.name.as_deref())
            .bind(patch.domain.is_some())
            .bind(patch.domain.clone().flatten())
            .bind(patch.plan.as_deref())
            .bind(patch.settings.as_ref())
            .fetch_optional(self.conn())
            .await?)
    }

    async fn soft_delete_tenant(&mut self, id: Uuid) -> Result<Option<Tenant>, StoreError> {
        let sql =
            format!("update tenants set deleted_at = now() where id = $1 and deleted_at is null returning {COLUMNS}");
        one(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(self.conn()).await?)
    }
}
