//! Tenants in SQLite.

use async_trait::async_trait;
use azth_core::model::{Tenant, TenantSettings, TenantStatus};
use uuid::Uuid;
use uuid::fmt::Hyphenated;

use super::{SqliteTx, at, at_opt, id, now};
use crate::{NewTenant, StoreError, TenantRepo};

pub(super) const COLUMNS: &str = "id, name, slug, domain, status, plan, settings, created_at, updated_at, deleted_at";

#[derive(sqlx::FromRow)]
pub(super) struct TenantRow {
    id: Hyphenated,
    name: String,
    slug: String,
    domain: Option<String>,
    status: String,
    plan: String,
    settings: String,
    created_at: i64,
    updated_at: i64,
    deleted_at: Option<i64>,
}

impl TryFrom<TenantRow> for Tenant {
    type Error = StoreError;
    fn try_from(r: TenantRow) -> Result<Self, StoreError> {
        let settings: serde_json::Value = serde_json::from_str(&r.settings)
            .map_err(|_| StoreError::Internal("tenant settings are not JSON".to_owned()))?;
        Ok(Tenant {
            id: r.id.into_uuid(),
            status: TenantStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Internal(format!("unknown tenant status {}", r.status)))?,
            settings: TenantSettings::from_json(&settings),
            name: r.name,
            slug: r.slug,
            domain: r.domain,
            plan: r.plan,
            created_at: at(r.created_at),
            updated_at: at(r.updated_at),
            deleted_at: at_opt(r.deleted_at),
        })
    }
}

pub(super) fn one(row: Option<TenantRow>) -> Result<Option<Tenant>, StoreError> {
    row.map(Tenant::try_from).transpose()
}

/// The system roles of a new tenant and their permissions (PostgreSQL's
/// `create_tenant_system_roles`): owner = every tenant permission, admin =
/// the same but `tenant:update`, member = none, and super_admin = every
/// permission in the `system` tenant only.
const SYSTEM_ROLES: &[(&str, &str)] = &[
    ("owner", "Every tenant permission"),
    ("admin", "Every tenant permission except changing the tenant itself"),
    ("member", "Signed-in user without administrative permissions"),
    ("super_admin", "System operator: every permission, tenant and system scope"),
];

async fn create_system_roles(tx: &mut SqliteTx, tenant_id: Uuid, slug: &str) -> Result<(), StoreError> {
    let is_system = slug == azth_core::model::SYSTEM_TENANT_SLUG;
    let stamp = now();
    for (name, description) in SYSTEM_ROLES {
        if *name == "super_admin" && !is_system {
            continue;
        }
        let role_id = Uuid::now_v7();
        sqlx::query(
            "insert into roles (id, tenant_id, name, description, is_system, created_at, updated_at)
             values ($1, $2, $3, $4, 1, $5, $5)",
        )
        .bind(id(role_id))
        .bind(id(tenant_id))
        .bind(name)
        .bind(description)
        .bind(stamp)
        .execute(tx.write().await?)
        .await?;
        let grants = match *name {
            "owner" => "p.scope = 'tenant'",
            "admin" => "p.scope = 'tenant' and p.name <> 'tenant:update'",
            "super_admin" => "1 = 1",
            _ => continue,
        };
        let sql = format!(
            "insert into role_permissions (id, tenant_id, role_id, permission_id, created_at)
             select lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2)
                    || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2)
                    || '-' || hex(randomblob(6))),
                    $1, $2, p.id, $3
             from permissions p where {grants}"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id(tenant_id))
            .bind(id(role_id))
            .bind(stamp)
            .execute(tx.write().await?)
            .await?;
    }
    Ok(())
}

#[async_trait]
impl TenantRepo for SqliteTx {
    async fn tenant_by_id(&mut self, tenant: Uuid) -> Result<Option<Tenant>, StoreError> {
        let sql = format!("select {COLUMNS} from tenants where id = $1 and ($2 is null or id = $2)");
        let scope = self.scope_text();
        one(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(tenant))
            .bind(scope)
            .fetch_optional(self.read().await?)
            .await?)
    }

    async fn tenant_by_slug(&mut self, slug: &str) -> Result<Option<Tenant>, StoreError> {
        let sql = format!("select {COLUMNS} from tenants where slug = $1 and ($2 is null or id = $2)");
        let scope = self.scope_text();
        one(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(slug).bind(scope).fetch_optional(self.read().await?).await?)
    }

    async fn tenant_by_domain(&mut self, domain: &str) -> Result<Option<Tenant>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from tenants
             where lower(domain) = lower($1) and deleted_at is null and ($2 is null or id = $2)"
        );
        let scope = self.scope_text();
        one(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(domain)
            .bind(scope)
            .fetch_optional(self.read().await?)
            .await?)
    }

    async fn insert_tenant(&mut self, new: &NewTenant) -> Result<Tenant, StoreError> {
        let tenant_id = Uuid::now_v7();
        self.check_scope(tenant_id)?;
        let settings = serde_json::to_string(&new.settings)
            .map_err(|_| StoreError::Internal("tenant settings are not JSON".to_owned()))?;
        let sql = format!(
            "insert into tenants (id, name, slug, domain, plan, settings, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $7) returning {COLUMNS}"
        );
        let row: TenantRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(tenant_id))
            .bind(&new.name)
            .bind(&new.slug)
            .bind(&new.domain)
            .bind(&new.plan)
            .bind(settings)
            .bind(now())
            .fetch_one(self.write().await?)
            .await?;
        create_system_roles(self, tenant_id, &new.slug).await?;
        row.try_into()
    }

    async fn count_tenants(&mut self) -> Result<i64, StoreError> {
        let scope = self.scope_text();
        Ok(sqlx::query_scalar("select count(*) from tenants where ($1 is null or id = $1)")
            .bind(scope)
            .fetch_one(self.read().await?)
            .await?)
    }

    async fn set_tenant_status(&mut self, tenant: Uuid, status: TenantStatus) -> Result<Option<Tenant>, StoreError> {
        self.check_scope(tenant)?;
        let sql = format!(
            "update tenants set status = $2, updated_at = $3 where id = $1 and deleted_at is null returning {COLUMNS}"
        );
        one(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(tenant))
            .bind(status.as_str())
            .bind(now())
            .fetch_optional(self.write().await?)
            .await?)
    }
}
