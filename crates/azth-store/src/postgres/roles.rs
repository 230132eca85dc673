//! Roles, grants, assignments and effective permissions in PostgreSQL.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use azth_core::rbac::{Assignment, EffectiveAccess, Permission, PermissionScope, Role};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::PgTx;
use crate::{RoleRepo, StoreError};

const COLUMNS: &str = "id, name, description, is_system, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct RoleRow {
    id: Uuid,
    name: String,
    description: Option<String>,
    is_system: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct PermissionRow {
    name: String,
    resource: String,
    action: String,
    scope: String,
    description: Option<String>,
}

#[derive(sqlx::FromRow)]
struct AssignmentRow {
    role_id: Uuid,
    role_name: String,
    assigned_by: Option<Uuid>,
    assigned_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
}

impl From<AssignmentRow> for Assignment {
    fn from(r: AssignmentRow) -> Self {
        Self {
            role_id: r.role_id,
            role_name: r.role_name,
            assigned_by: r.assigned_by,
            assigned_at: r.assigned_at,
            expires_at: r.expires_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct AccessRow {
    role_name: String,
    permission: Option<String>,
    scope: Option<String>,
    expires_at: Option<DateTime<Utc>>,
}

impl PgTx {
    /// Attaches the permission names of each role (one query for all).
    async fn with_permissions(&mut self, tenant_id: Uuid, rows: Vec<RoleRow>) -> Result<Vec<Role>, StoreError> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let grants: Vec<(Uuid, String)> = sqlx::query_as(
            "select rp.role_id, p.name from role_permissions rp join permissions p on p.id = rp.permission_id
             where rp.tenant_id = $1 and rp.role_id = any($2) order by p.name",
        )
        .bind(tenant_id)
        .bind(&ids)
        .fetch_all(self.conn())
        .await?;
        let mut by_role: BTreeMap<Uuid, Vec<String>> = BTreeMap::new();
        for (role, name) in grants {
            by_role.entry(role).or_default().push(name);
        }
        Ok(rows
            .into_iter()
            .map(|r| Role {
                permissions: by_role.remove(&r.id).unwrap_or_default(),
                id: r.id,
                name: r.name,
                description: r.description,
                is_system: r.is_system,
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
            .collect())
    }

    async fn one_role(&mut self, tenant_id: Uuid, row: Option<RoleRow>) -> Result<Option<Role>, StoreError> {
        match row {
            None => Ok(None),
            Some(row) => Ok(self.with_permissions(tenant_id, vec![row]).await?.pop()),
        }
    }
}

#[async_trait]
impl RoleRepo for PgTx {
    async fn list_roles(
        &mut self,
        tenant_id: Uuid,
        after: Option<(String, Uuid)>,
        limit: i64,
    ) -> Result<Vec<Role>, StoreError> {
        let (after_name, after_id) = after.unzip();
        let sql = format!(
            "select {COLUMNS} from roles
             where tenant_id = $1 and deleted_at is null and ($2::text is null or (name, id) > ($2::text, $3::uuid))
             order by name, id limit $4"
        );
        let rows: Vec<RoleRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(after_name)
            .bind(after_id)
            .bind(limit)
            .fetch_all(self.conn())
            .await?;
        self.with_permissions(tenant_id, rows).await
    }

    async fn role_by_id(&mut self, tenant_id: Uuid, id: Uuid) -> Result<Option<Role>, StoreError> {
        let sql = format!("select {COLUMNS} from roles where tenant_id = $1 and id = $2 and deleted_at is null");
        let row = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant_id).bind(id).fetch_optional(self.conn()).await?;
        self.one_role(tenant_id, row).await
    }

    async fn role_by_name(&mut self, tenant_id: Uuid, name: &str) -> Result<Option<Role>, StoreError> {
        let sql = format!("select {COLUMNS} from roles where tenant_id = $1 and name = $2 and deleted_at is null");
        let row =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant_id).bind(name).fetch_optional(self.conn()).await?;
        self.one_role(tenant_id, row).await
    }

    async fn insert_role(
        &mut self,
        tenant_id: Uuid,
        name: &str,
        description: Option<&str>,
    ) -> Result<Role, StoreError> {
        let sql = format!(
            "insert into roles (id, tenant_id, name, description, is_system) values ($1, $2, $3, $4, false)
             returning {COLUMNS}"
        );
        let row: RoleRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(Uuid::now_v7())
            .bind(tenant_id)
            .bind(name)
            .bind(description)
            .fetch_one(self.conn())
            .await?;
        self.one_role(tenant_id, Some(row)).await?.ok_or(StoreError::NotFound)
    }

    async fn update_role(
        &mut self,
        tenant_id: Uuid,
        id: Uuid,
        name: Option<&str>,
        description: Option<Option<&str>>,
    ) -> Result<Option<Role>, StoreError> {
        let sql = format!(
            "update roles set name = coalesce($3, name),
                              description = case when $4 then $5 else description end
             where tenant_id = $1 and id = $2 and deleted_at is null
             returning {COLUMNS}"
        );
        let row = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(id)
            .bind(name)
            .bind(description.is_some())
            .bind(description.flatten())
            .fetch_optional(self.conn())
            .await?;
        self.one_role(tenant_id, row).await
    }

    async fn delete_role(&mut self, tenant_id: Uuid, id: Uuid) -> Result<bool, StoreError> {
        let done =
            sqlx::query("update roles set deleted_at = now() where tenant_id = $1 and id = $2 and deleted_at is null")
                .bind(tenant_id)
                .bind(id)
                .execute(self.conn())
                .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("delete from user_roles where tenant_id = $1 and role_id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(true)
    }

    async fn set_role_permissions(
        &mut self,
        tenant_id: Uuid,
        role_id: Uuid,
        names: &[String],
    ) -> Result<Vec<String>, StoreError> {
        // Only the difference is written, so the audit trigger records
        // exactly the grants added and removed.
        sqlx::query(
            "delete from role_permissions rp using permissions p
             where rp.tenant_id = $1 and rp.role_id = $2 and p.id = rp.permission_id and not (p.name = any($3))",
        )
        .bind(tenant_id)
        .bind(role_id)
        .bind(names)
        .execute(self.conn())
        .await?;
        sqlx::query(
            "insert into role_permissions (id, tenant_id, role_id, permission_id)
             select gen_random_uuid(), $1, $2, p.id from permissions p where p.name = any($3)
             on conflict (role_id, permission_id) do nothing",
        )
        .bind(tenant_id)
        .bind(role_id)
        .bind(names)
        .execute(self.conn())
        .await?;
        Ok(sqlx::query_scalar(
            "select p.name from role_permissions rp join permissions p on p.id = rp.permission_id
             where rp.tenant_id = $1 and rp.role_id = $2 order by p.name",
        )
        .bind(tenant_id)
        .bind(role_id)
        .fetch_all(self.conn())
        .await?)
    }

    async fn permission_catalog(&mut self) -> Result<Vec<Permission>, StoreError> {
        let rows: Vec<PermissionRow> =
            sqlx::query_as("select name, resource, action, scope, description from permissions order by name")
                .fetch_all(self.conn())
                .await?;
        rows.into_iter()
            .map(|r| {
                Ok(Permission {
                    scope: PermissionScope::parse(&r.scope)
                        .ok_or_else(|| StoreError::Internal(format!("unknown permission scope {}", r.scope)))?,
                    name: r.name,
                    resource: r.resource,
                    action: r.action,
                    description: r.description,
                })
            })
            .collect()
    }

    async fn user_assignments(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<Vec<Assignment>, StoreError> {
        let rows: Vec<AssignmentRow> = sqlx::query_as(
            "select ur.role_id, r.name as role_name, ur.assigned_by, ur.assigned_at, ur.expires_at
             from user_roles ur join roles r on r.id = ur.role_id and r.tenant_id = ur.tenant_id
             where ur.tenant_id = $1 and ur.user_id = $2 and r.deleted_at is null
             order by r.name, r.id",
        )
        .bind(tenant_id)
        .bind(user_id)
        .fetch_all(self.conn())
        .await?;
        Ok(rows.into_iter().map(Assignment::from).collect())
    }

    async fn assign_role(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        role_id: Uuid,
        assigned_by: Option<Uuid>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<Assignment, StoreError> {
        let row: AssignmentRow = sqlx::query_as(
            "with a as (
                 insert into user_roles (id, tenant_id, user_id, role_id, assigned_by, expires_at)
                 values ($1, $2, $3, $4, $5, $6)
                 on conflict (user_id, role_id) do update
                     set assigned_by = excluded.assigned_by, assigned_at = now(), expires_at = excluded.expires_at
                 returning role_id, assigned_by, assigned_at, expires_at
             )
             select a.role_id, r.name as role_name, a.assigned_by, a.assigned_at, a.expires_at
             from a join roles r on r.id = a.role_id",
        )
        .bind(Uuid::now_v7())
        .bind(tenant_id)
        .bind(user_id)
        .bind(role_id)
        .bind(assigned_by)
        .bind(expires_at)
        .fetch_one(self.conn())
        .await?;
        Ok(row.into())
    }

    async fn unassign_role(&mut self, tenant_id: Uuid, user_id: Uuid, role_id: Uuid) -> Result<bool, StoreError> {
        let done = sqlx::query("delete from user_roles where tenant_id = $1 and user_id = $2 and role_id = $3")
            .bind(tenant_id)
            .bind(user_id)
            .bind(role_id)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn effective_access(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<EffectiveAccess, StoreError> {
        let rows: Vec<AccessRow> = sqlx::query_as(
            "select r.name as role_name, p.name as permission, p.scope, ur.expires_at
             from users u
             join user_roles ur on ur.tenant_id = u.tenant_id and ur.user_id = u.id
             join roles r on r.id = ur.role_id and r.tenant_id = ur.tenant_id and r.deleted_at is null
             left join role_permissions rp on rp.role_id = r.id and rp.tenant_id = r.tenant_id
             left join permissions p on p.id = rp.permission_id
             where u.tenant_id = $1 and u.id = $2 and u.deleted_at is null and u.status = 'active'
               and (ur.expires_at is null or ur.expires_at > clock_timestamp())",
        )
        .bind(tenant_id)
        .bind(user_id)
        .fetch_all(self.conn())
        .await?;
        let mut roles = BTreeSet::new();
        let mut permissions = BTreeSet::new();
        let mut access = EffectiveAccess::default();
        for row in rows {
            roles.insert(row.role_name);
            if let Some(p) = row.permission {
                permissions.insert(p);
            }
            access.system_scope |= row.scope.as_deref() == Some("system");
            if let Some(at) = row.expires_at {
                access.next_expiry = Some(access.next_expiry.map_or(at, |n: DateTime<Utc>| n.min(at)));
            }
        }
        access.roles = roles.into_iter().collect();
        access.permissions = permissions.into_iter().collect();
        Ok(access)
    }

    async fn count_active_owners(&mut self, tenant_id: Uuid, excluding: Option<Uuid>) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "select count(distinct u.id) from users u
             join user_roles ur on ur.tenant_id = u.tenant_id and ur.user_id = u.id
             join roles r on r.id = ur.role_id and r.tenant_id = ur.tenant_id
             where u.tenant_id = $1 and u.deleted_at is null and u.status = 'active'
               and r.name = 'owner' and r.is_system and r.deleted_at is null
               and (ur.expires_at is null or ur.expires_at > clock_timestamp())
               and ($2::uuid is null or u.id <> $2)",
        )
        .bind(tenant_id)
        .bind(excluding)
        .fetch_one(self.conn())
        .await?)
    }
}
