//! Tenants in PostgreSQL.

use async_trait::async_trait;
use azth_core::model::{Tenant, TenantSettings, TenantStatus};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::PgTx;
use crate::{NewTenant, StoreError, TenantRepo};

pub(super) const COLUMNS: &str = "id, name, slug, domain, status, plan, settings, created_at, updated_at, deleted_at";

#[derive(sqlx::FromRow)]
pub(super) struct TenantRow {
    id: Uuid,
    name: String,
    slug: String,
    domain: Option<String>,
    status: String,
    plan: String,
    settings: serde_json::Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
}

impl TryFrom<TenantRow> for Tenant {
    type Error = StoreError;
    fn try_from(r: TenantRow) -> Result<Self, StoreError> {
        Ok(Tenant {
            id: r.id,
            status: TenantStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Internal(format!("unknown tenant status {}", r.status)))?,
            settings: TenantSettings::from_json(&r.settings),
            name: r.name,
            slug: r.slug,
            domain: r.domain,
            plan: r.plan,
            created_at: r.created_at,
            updated_at: r.updated_at,
            deleted_at: r.deleted_at,
        })
    }
}

pub(super) fn one(row: Option<TenantRow>) -> Result<Option<Tenant>, StoreError> {
    row.map(Tenant::try_from).transpose()
}

#[async_trait]
impl TenantRepo for PgTx {
    async fn tenant_by_id(&mut self, id: Uuid) -> Result<Option<Tenant>, StoreError> {
        let sql = format!("select {COLUMNS} from tenants where id = $1");
        one(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(self.conn()).await?)
    }

    async fn tenant_by_slug(&mut self, slug: &str) -> Result<Option<Tenant>, StoreError> {
        let sql = format!("select {COLUMNS} from tenants where slug = $1");
        one(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(slug).fetch_optional(self.conn()).await?)
    }

    async fn tenant_by_domain(&mut self, domain: &str) -> Result<Option<Tenant>, StoreError> {
        let sql = format!("select {COLUMNS} from tenants where domain_lower = lower($1) and deleted_at is null");
        one(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(domain).fetch_optional(self.conn()).await?)
    }

    async fn insert_tenant(&mut self, new: &NewTenant) -> Result<Tenant, StoreError> {
        let sql = format!(
            "insert into tenants (id, name, slug, domain, plan, settings) values ($1, $2, $3, $4, $5, $6)
             returning {COLUMNS}"
        );
        let row: TenantRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(Uuid::now_v7())
            .bind(&new.name)
            .bind(&new.slug)
            .bind(&new.domain)
            .bind(&new.plan)
            .bind(&new.settings)
            .fetch_one(self.conn())
            .await?;
        sqlx::query("select create_tenant_system_roles($1)").bind(row.id).execute(self.conn()).await?;
        row.try_into()
    }

    async fn count_tenants(&mut self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("select count(*) from tenants").fetch_one(self.conn()).await?)
    }

    async fn set_tenant_status(&mut self, id: Uuid, status: TenantStatus) -> Result<Option<Tenant>, StoreError> {
        let sql = format!("update tenants set status = $2 where id = $1 and deleted_at is null returning {COLUMNS}");
        one(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).bind(status.as_str()).fetch_optional(self.conn()).await?)
    }
}
