//! Tenants as operators manage them, in SQLite.
//!
//! These methods take no tenant argument: in a tenant transaction they only
//! see (and change) that tenant, as PostgreSQL's row-level security would.
//! The audit rows of the changes are written by the tenants triggers.

use async_trait::async_trait;
use azth_core::AuditContext;
use azth_core::model::Tenant;
use uuid::Uuid;

use super::audit_read::page_limit;
use super::tenants::{COLUMNS, TenantRow, one};
use super::{SqliteTx, id, id_opt, now, ts};
use crate::{AdminTenantRepo, StoreError, TenantFilter, TenantPatch};

/// A case-insensitive prefix pattern for `LIKE … ESCAPE '\'`.
fn prefix_pattern(q: &str) -> String {
    let escaped: String = q
        .to_lowercase()
        .chars()
        .flat_map(|c| if matches!(c, '\\' | '%' | '_') { vec!['\\', c] } else { vec![c] })
        .collect();
    format!("{escaped}%")
}

#[async_trait]
impl AdminTenantRepo for SqliteTx {
    async fn set_audit_actor(&mut self, ctx: &AuditContext) -> Result<(), StoreError> {
        self.set_actor(ctx).await
    }

    async fn list_tenants(&mut self, filter: &TenantFilter) -> Result<Vec<Tenant>, StoreError> {
        let (after_at, after_id) = filter.after.unzip();
        // SQLite's LIKE and lower() fold ASCII letters only; PostgreSQL's
        // lower() folds every letter (slugs are ASCII, names may not be).
        let sql = format!(
            "select {COLUMNS} from tenants
             where deleted_at is null
               and ($1 is null or status = $1)
               and ($2 is null or slug like $2 escape '\\' or lower(name) like $2 escape '\\')
               and ($3 is null or (created_at, id) > ($3, $4))
               and ($6 is null or id = $6)
             order by created_at, id
             limit $5"
        );
        let scope = self.scope_text();
        let rows: Vec<TenantRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(filter.status.map(|s| s.as_str()))
            .bind(filter.q.as_deref().map(prefix_pattern))
            .bind(after_at.map(ts))
            .bind(id_opt(after_id))
            .bind(page_limit(filter.limit)?)
            .bind(scope)
            .fetch_all(self.read().await?)
            .await?;
        rows.into_iter().map(Tenant::try_from).collect()
    }

    async fn update_tenant(&mut self, tenant: Uuid, patch: &TenantPatch) -> Result<Option<Tenant>, StoreError> {
        let settings = patch
            .settings
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|_| StoreError::Internal("tenant settings are not JSON".to_owned()))?;
        let sql = format!(
            "update tenants set
                name       = coalesce($2, name),
                domain     = case when $3 then $4 else domain end,
                plan       = coalesce($5, plan),
                settings   = coalesce($6, settings),
                updated_at = $7
             where id = $1 and deleted_at is null and ($8 is null or id = $8)
             returning {COLUMNS}"
        );
        let scope = self.scope_text();
        one(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(tenant))
            .bind(patch.name.as_deref())
            .bind(patch.domain.is_some())
            .bind(patch.domain.clone().flatten())
            .bind(patch.plan.as_deref())
            .bind(settings)
            .bind(now())
            .bind(scope)
            .fetch_optional(self.write().await?)
            .await?)
    }

    async fn soft_delete_tenant(&mut self, tenant: Uuid) -> Result<Option<Tenant>, StoreError> {
        let sql = format!(
            "update tenants set deleted_at = $2, updated_at = $2
             where id = $1 and deleted_at is null and ($3 is null or id = $3)
             returning {COLUMNS}"
        );
        let scope = self.scope_text();
        one(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(tenant))
            .bind(now())
            .bind(scope)
            .fetch_optional(self.write().await?)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_pattern;

    #[test]
    fn search_patterns_escape_wildcards() {
        assert_eq!(prefix_pattern("AcMe"), "acme%");
        assert_eq!(prefix_pattern("50%_a\\b"), "50\\%\\_a\\\\b%");
    }
}
