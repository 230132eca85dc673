//! Roles, grants, assignments and effective permissions in SQLite.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use azth_core::rbac::{Assignment, EffectiveAccess, Permission, PermissionScope, Role};
use chrono::{DateTime, Utc};
use uuid::Uuid;
use uuid::fmt::Hyphenated;

use super::users::sees;
use super::{SqliteTx, at, at_opt, id, id_opt, now, to_array, ts};
use crate::{RoleRepo, StoreError};

const COLUMNS: &str = "id, name, description, is_system, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct RoleRow {
    id: Hyphenated,
    name: String,
    description: Option<String>,
    is_system: bool,
    created_at: i64,
    updated_at: i64,
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
    role_id: Hyphenated,
    role_name: String,
    assigned_by: Option<Hyphenated>,
    assigned_at: i64,
    expires_at: Option<i64>,
}

impl From<AssignmentRow> for Assignment {
    fn from(r: AssignmentRow) -> Self {
        Self {
            role_id: r.role_id.into_uuid(),
            role_name: r.role_name,
            assigned_by: r.assigned_by.map(Hyphenated::into_uuid),
            assigned_at: at(r.assigned_at),
            expires_at: at_opt(r.expires_at),
        }
    }
}

#[derive(sqlx::FromRow)]
struct AccessRow {
    role_name: String,
    permission: Option<String>,
    scope: Option<String>,
    expires_at: Option<i64>,
}

/// PostgreSQL refuses a negative LIMIT; SQLite would read it as "no limit".
fn check_limit(limit: i64) -> Result<(), StoreError> {
    if limit < 0 {
        return Err(StoreError::Internal("LIMIT must not be negative".to_owned()));
    }
    Ok(())
}

impl SqliteTx {
    /// Attaches the permission names of each role (one query for all).
    async fn with_role_permissions(&mut self, tenant_id: Uuid, rows: Vec<RoleRow>) -> Result<Vec<Role>, StoreError> {
        let ids: Vec<String> = rows.iter().map(|r| r.id.to_string()).collect();
        let grants: Vec<(Hyphenated, String)> = sqlx::query_as(
            "select rp.role_id, p.name from role_permissions rp join permissions p on p.id = rp.permission_id
             where rp.tenant_id = $1 and rp.role_id in (select value from json_each($2)) order by p.name",
        )
        .bind(id(tenant_id))
        .bind(to_array(&ids))
        .fetch_all(self.read().await?)
        .await?;
        let mut by_role: BTreeMap<Uuid, Vec<String>> = BTreeMap::new();
        for (role, name) in grants {
            by_role.entry(role.into_uuid()).or_default().push(name);
        }
        Ok(rows
            .into_iter()
            .map(|r| {
                let role_id = r.id.into_uuid();
                Role {
                    permissions: by_role.remove(&role_id).unwrap_or_default(),
                    id: role_id,
                    name: r.name,
                    description: r.description,
                    is_system: r.is_system,
                    created_at: at(r.created_at),
                    updated_at: at(r.updated_at),
                }
            })
            .collect())
    }

    async fn one_role(&mut self, tenant_id: Uuid, row: Option<RoleRow>) -> Result<Option<Role>, StoreError> {
        match row {
            None => Ok(None),
            Some(row) => Ok(self.with_role_permissions(tenant_id, vec![row]).await?.pop()),
        }
    }
}

#[async_trait]
impl RoleRepo for SqliteTx {
    async fn list_roles(
        &mut self,
        tenant_id: Uuid,
        after: Option<(String, Uuid)>,
        limit: i64,
    ) -> Result<Vec<Role>, StoreError> {
        check_limit(limit)?;
        if !sees(self, tenant_id) {
            return Ok(Vec::new());
        }
        let (after_name, after_id) = after.unzip();
        let sql = format!(
            "select {COLUMNS} from roles
             where tenant_id = $1 and deleted_at is null
               and ($2 is null or name > $2 or (name = $2 and id > $3))
             order by name, id limit $4"
        );
        let rows: Vec<RoleRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(tenant_id))
            .bind(after_name)
            .bind(after_id.map(id))
            .bind(limit)
            .fetch_all(self.read().await?)
            .await?;
        self.with_role_permissions(tenant_id, rows).await
    }

    async fn role_by_id(&mut self, tenant_id: Uuid, role_id: Uuid) -> Result<Option<Role>, StoreError> {
        if !sees(self, tenant_id) {
            return Ok(None);
        }
        let sql = format!("select {COLUMNS} from roles where tenant_id = $1 and id = $2 and deleted_at is null");
        let row = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(tenant_id))
            .bind(id(role_id))
            .fetch_optional(self.read().await?)
            .await?;
        self.one_role(tenant_id, row).await
    }

    async fn role_by_name(&mut self, tenant_id: Uuid, name: &str) -> Result<Option<Role>, StoreError> {
        if !sees(self, tenant_id) {
            return Ok(None);
        }
        let sql = format!("select {COLUMNS} from roles where tenant_id = $1 and name = $2 and deleted_at is null");
        let row = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(tenant_id))
            .bind(name)
            .fetch_optional(self.read().await?)
            .await?;
        self.one_role(tenant_id, row).await
    }

    async fn insert_role(
        &mut self,
        tenant_id: Uuid,
        name: &str,
        description: Option<&str>,
    ) -> Result<Role, StoreError> {
        self.check_scope(tenant_id)?;
        let sql = format!(
            "insert into roles (id, tenant_id, name, description, is_system, created_at, updated_at)
             values ($1, $2, $3, $4, 0, $5, $5)
             returning {COLUMNS}"
        );
        let row: RoleRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(Uuid::now_v7()))
            .bind(id(tenant_id))
            .bind(name)
            .bind(description)
            .bind(now())
            .fetch_one(self.write().await?)
            .await?;
        self.one_role(tenant_id, Some(row)).await?.ok_or(StoreError::NotFound)
    }

    async fn update_role(
        &mut self,
        tenant_id: Uuid,
        role_id: Uuid,
        name: Option<&str>,
        description: Option<Option<&str>>,
    ) -> Result<Option<Role>, StoreError> {
        self.check_scope(tenant_id)?;
        let sql = format!(
            "update roles set name = coalesce($3, name),
                              description = case when $4 then $5 else description end,
                              updated_at = $6
             where tenant_id = $1 and id = $2 and deleted_at is null
             returning {COLUMNS}"
        );
        let row = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id(tenant_id))
            .bind(id(role_id))
            .bind(name)
            .bind(description.is_some())
            .bind(description.flatten())
            .bind(now())
            .fetch_optional(self.write().await?)
            .await?;
        self.one_role(tenant_id, row).await
    }

    async fn delete_role(&mut self, tenant_id: Uuid, role_id: Uuid) -> Result<bool, StoreError> {
        self.check_scope(tenant_id)?;
        let done = sqlx::query(
            "update roles set deleted_at = $3, updated_at = $3
             where tenant_id = $1 and id = $2 and deleted_at is null",
        )
        .bind(id(tenant_id))
        .bind(id(role_id))
        .bind(now())
        .execute(self.write().await?)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("delete from user_roles where tenant_id = $1 and role_id = $2")
            .bind(id(tenant_id))
            .bind(id(role_id))
            .execute(self.write().await?)
            .await?;
        Ok(true)
    }

    async fn set_role_permissions(
        &mut self,
        tenant_id: Uuid,
        role_id: Uuid,
        names: &[String],
    ) -> Result<Vec<String>, StoreError> {
        self.check_scope(tenant_id)?;
        let wanted = to_array(names);
        // Only the difference is written, so the audit trigger records
        // exactly the grants added and removed.
        sqlx::query(
            "delete from role_permissions
             where tenant_id = $1 and role_id = $2
               and permission_id in (select id from permissions
                                     where name not in (select value from json_each($3)))",
        )
        .bind(id(tenant_id))
        .bind(id(role_id))
        .bind(&wanted)
        .execute(self.write().await?)
        .await?;
        // One row at a time, each with its own id.
        let permission_ids: Vec<Hyphenated> = sqlx::query_scalar(
            "select id from permissions where name in (select value from json_each($1)) order by id",
        )
        .bind(&wanted)
        .fetch_all(self.write().await?)
        .await?;
        let stamp = now();
        for permission_id in permission_ids {
            sqlx::query(
                "insert into role_permissions (id, tenant_id, role_id, permission_id, created_at)
                 values ($1, $2, $3, $4, $5)
                 on conflict (role_id, permission_id) do nothing",
            )
            .bind(id(Uuid::now_v7()))
            .bind(id(tenant_id))
            .bind(id(role_id))
            .bind(permission_id)
            .bind(stamp)
            .execute(self.write().await?)
            .await?;
        }
        Ok(sqlx::query_scalar(
            "select p.name from role_permissions rp join permissions p on p.id = rp.permission_id
             where rp.tenant_id = $1 and rp.role_id = $2 order by p.name",
        )
        .bind(id(tenant_id))
        .bind(id(role_id))
        .fetch_all(self.write().await?)
        .await?)
    }

    async fn permission_catalog(&mut self) -> Result<Vec<Permission>, StoreError> {
        let rows: Vec<PermissionRow> =
            sqlx::query_as("select name, resource, action, scope, description from permissions order by name")
                .fetch_all(self.read().await?)
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
        if !sees(self, tenant_id) {
            return Ok(Vec::new());
        }
        let rows: Vec<AssignmentRow> = sqlx::query_as(
            "select ur.role_id, r.name as role_name, ur.assigned_by, ur.assigned_at, ur.expires_at
             from user_roles ur join roles r on r.id = ur.role_id and r.tenant_id = ur.tenant_id
             where ur.tenant_id = $1 and ur.user_id = $2 and r.deleted_at is null
             order by r.name, r.id",
        )
        .bind(id(tenant_id))
        .bind(id(user_id))
        .fetch_all(self.read().await?)
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
        self.check_scope(tenant_id)?;
        // SQLite has no INSERT inside WITH: the upsert returns the stored
        // assignment, then the role's name is read on the same writer. An
        // assignment of another tenant (same user and role ids) is never
        // updated: no row comes back, which is `NotFound`.
        let stamp = now();
        let (stored_role, stored_by, stored_at, stored_expiry): (Hyphenated, Option<Hyphenated>, i64, Option<i64>) =
            sqlx::query_as(
                "insert into user_roles (id, tenant_id, user_id, role_id, assigned_by, assigned_at, expires_at,
                                         created_at)
                 values ($1, $2, $3, $4, $5, $6, $7, $6)
                 on conflict (user_id, role_id) do update
                     set assigned_by = excluded.assigned_by, assigned_at = $6, expires_at = excluded.expires_at
                     where user_roles.tenant_id = excluded.tenant_id
                 returning role_id, assigned_by, assigned_at, expires_at",
            )
            .bind(id(Uuid::now_v7()))
            .bind(id(tenant_id))
            .bind(id(user_id))
            .bind(id(role_id))
            .bind(id_opt(assigned_by))
            .bind(stamp)
            .bind(expires_at.map(ts))
            .fetch_one(self.write().await?)
            .await?;
        let role_name: String = sqlx::query_scalar("select name from roles where tenant_id = $1 and id = $2")
            .bind(id(tenant_id))
            .bind(stored_role)
            .fetch_one(self.write().await?)
            .await?;
        Ok(AssignmentRow {
            role_id: stored_role,
            role_name,
            assigned_by: stored_by,
            assigned_at: stored_at,
            expires_at: stored_expiry,
        }
        .into())
    }

    async fn unassign_role(&mut self, tenant_id: Uuid, user_id: Uuid, role_id: Uuid) -> Result<bool, StoreError> {
        self.check_scope(tenant_id)?;
        let done = sqlx::query("delete from user_roles where tenant_id = $1 and user_id = $2 and role_id = $3")
            .bind(id(tenant_id))
            .bind(id(user_id))
            .bind(id(role_id))
            .execute(self.write().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn effective_access(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<EffectiveAccess, StoreError> {
        if !sees(self, tenant_id) {
            return Ok(EffectiveAccess::default());
        }
        let rows: Vec<AccessRow> = sqlx::query_as(
            "select r.name as role_name, p.name as permission, p.scope, ur.expires_at
             from users u
             join user_roles ur on ur.tenant_id = u.tenant_id and ur.user_id = u.id
             join roles r on r.id = ur.role_id and r.tenant_id = ur.tenant_id and r.deleted_at is null
             left join role_permissions rp on rp.role_id = r.id and rp.tenant_id = r.tenant_id
             left join permissions p on p.id = rp.permission_id
             where u.tenant_id = $1 and u.id = $2 and u.deleted_at is null and u.status = 'active'
               and (ur.expires_at is null or ur.expires_at > $3)",
        )
        .bind(id(tenant_id))
        .bind(id(user_id))
        .bind(now())
        .fetch_all(self.read().await?)
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
            if let Some(at) = at_opt(row.expires_at) {
                access.next_expiry = Some(access.next_expiry.map_or(at, |n: DateTime<Utc>| n.min(at)));
            }
        }
        access.roles = roles.into_iter().collect();
        access.permissions = permissions.into_iter().collect();
        Ok(access)
    }

    async fn count_active_owners(&mut self, tenant_id: Uuid, excluding: Option<Uuid>) -> Result<i64, StoreError> {
        if !sees(self, tenant_id) {
            return Ok(0);
        }
        Ok(sqlx::query_scalar(
            "select count(distinct u.id) from users u
             join user_roles ur on ur.tenant_id = u.tenant_id and ur.user_id = u.id
             join roles r on r.id = ur.role_id and r.tenant_id = ur.tenant_id
             where u.tenant_id = $1 and u.deleted_at is null and u.status = 'active'
               and r.name = 'owner' and r.is_system = 1 and r.deleted_at is null
               and (ur.expires_at is null or ur.expires_at > $3)
               and ($2 is null or u.id <> $2)",
        )
        .bind(id(tenant_id))
        .bind(id_opt(excluding))
        .bind(now())
        .fetch_one(self.read().await?)
        .await?)
    }
}
