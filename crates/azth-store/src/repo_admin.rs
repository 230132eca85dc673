//! Storage operations of administration (API.md "Administration"): roles and
//! assignments, users as admins see them, tenants as operators see them,
//! and the notification outbox. Every tenant-scoped method takes the tenant
//! id explicitly, like those of [`crate::repo`].

use async_trait::async_trait;
use azth_core::AuditContext;
use azth_core::model::{Tenant, User, UserStatus};
use azth_core::rbac::{Assignment, EffectiveAccess, Permission, Role};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::StoreError;

/// A keyset position in a list ordered by `(created_at, id)`.
pub type TimeKey = (DateTime<Utc>, Uuid);

/// How `GET /users` picks its rows.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Case-insensitive prefix of email, username, first or last name.
    pub q: Option<String>,
    pub status: Option<UserStatus>,
    /// Users holding (unexpired) this role, by id or by name.
    pub role_id: Option<Uuid>,
    pub role_name: Option<String>,
    pub include_deleted: bool,
    /// Rows strictly after this position, in `(created_at, id)` order.
    pub after: Option<TimeKey>,
    /// At most this many rows.
    pub limit: i64,
}

/// Changes an admin makes to a user. `None` leaves a field alone;
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct AdminUserPatch {
    /// A new (normalized) email; resets `email_verified` when it differs.
    pub email: Option<String>,
    pub username: Option<Option<String>>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub avatar: Option<Option<String>>,
    /// A new phone; resets `phone_verified` when it differs.
    pub phone: Option<Option<String>>,
    pub status: Option<UserStatus>,
}

/// How `GET /tenants` picks its rows (deleted tenants are never listed).
#[derive(Debug, Clone, Default)]
pub struct TenantFilter {
    /// Case-insensitive prefix of the slug or the name.
    pub q: Option<String>,
    pub status: Option<azth_core::model::TenantStatus>,
    pub after: Option<TimeKey>,
    pub limit: i64,
}

/// Changes to a tenant. `settings`, when given, replaces the stored object
/// (the service merges first).
#[derive(Debug, Clone, Default)]
pub struct TenantPatch {
    pub name: Option<String>,
    pub domain: Option<Option<String>>,
    pub plan: Option<String>,
    pub settings: Option<serde_json::Value>,
}

/// Roles, grants, assignments and effective permissions.
#[async_trait]
pub trait RoleRepo {
    /// Live roles ordered by `(name, id)`, strictly after `after`.
    async fn list_roles(
        &mut self,
        tenant_id: Uuid,
        after: Option<(String, Uuid)>,
        limit: i64,
    ) -> Result<Vec<Role>, StoreError>;
    /// A live role.
    async fn role_by_id(&mut self, tenant_id: Uuid, id: Uuid) -> Result<Option<Role>, StoreError>;
    /// A live role by exact name.
    async fn role_by_name(&mut self, tenant_id: Uuid, name: &str) -> Result<Option<Role>, StoreError>;
    /// Creates a (non-system) role; a taken name is `Conflict { field: "name" }`.
    async fn insert_role(&mut self, tenant_id: Uuid, name: &str, description: Option<&str>)
    -> Result<Role, StoreError>;
    /// Renames and/or redescribes a live role.
    async fn update_role(
        &mut self,
        tenant_id: Uuid,
        id: Uuid,
        name: Option<&str>,
        description: Option<Option<&str>>,
    ) -> Result<Option<Role>, StoreError>;
    /// Soft-deletes a live role and ends its assignments; false when not found.
    async fn delete_role(&mut self, tenant_id: Uuid, id: Uuid) -> Result<bool, StoreError>;
    /// Replaces the role's grants with the named permissions (all must exist).
    async fn set_role_permissions(
        &mut self,
        tenant_id: Uuid,
        role_id: Uuid,
        names: &[String],
    ) -> Result<Vec<String>, StoreError>;
    /// The whole catalog, ordered by name.
    async fn permission_catalog(&mut self) -> Result<Vec<Permission>, StoreError>;
    /// Every assignment of a user (expired ones too), ordered by role name.
    async fn user_assignments(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<Vec<Assignment>, StoreError>;
    /// Assigns (or re-assigns, replacing expiry and assigner) a role.
    async fn assign_role(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        role_id: Uuid,
        assigned_by: Option<Uuid>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<Assignment, StoreError>;
    /// Removes an assignment; false when there was none.
    async fn unassign_role(&mut self, tenant_id: Uuid, user_id: Uuid, role_id: Uuid) -> Result<bool, StoreError>;
    /// What the user may do now (nothing unless active and not deleted).
    async fn effective_access(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<EffectiveAccess, StoreError>;
    /// Active, undeleted users holding an unexpired `owner` assignment, but `excluding`.
    async fn count_active_owners(&mut self, tenant_id: Uuid, excluding: Option<Uuid>) -> Result<i64, StoreError>;
}

/// Users as administrators manage them.
#[async_trait]
pub trait AdminUserRepo {
    /// One page of users ordered by `(created_at, id)`.
    async fn list_users(&mut self, tenant_id: Uuid, filter: &UserFilter) -> Result<Vec<User>, StoreError>;
    /// A user, deleted ones included when asked.
    async fn find_user(&mut self, tenant_id: Uuid, id: Uuid, include_deleted: bool)
    -> Result<Option<User>, StoreError>;
    /// Applies an admin patch to a live user.
    async fn admin_update_user(
        &mut self,
        tenant_id: Uuid,
        id: Uuid,
        patch: &AdminUserPatch,
    ) -> Result<Option<User>, StoreError>;
    /// Soft-deletes a live user (frees email and username).
    async fn soft_delete_user(&mut self, tenant_id: Uuid, id: Uuid) -> Result<Option<User>, StoreError>;
    /// Undeletes a deleted user; a re-used email/username is `Conflict`.
    async fn restore_user(&mut self, tenant_id: Uuid, id: Uuid) -> Result<Option<User>, StoreError>;
    /// Clears the failure counter and the lock of a live user.
    async fn unlock_user(&mut self, tenant_id: Uuid, id: Uuid) -> Result<Option<User>, StoreError>;
    /// Locks the tenant's row until the transaction ends, serializing
    /// changes that must keep a tenant invariant (the last active owner).
    async fn lock_tenant(&mut self, tenant_id: Uuid) -> Result<(), StoreError>;
}

/// Tenants as operators manage them (system transactions).
#[async_trait]
pub trait AdminTenantRepo {
    /// Sets the acting user, ip and user agent for the audit trigger in a
    /// system transaction (tenant transactions get them at start).
    async fn set_audit_actor(&mut self, ctx: &AuditContext) -> Result<(), StoreError>;
    /// One page of live tenants ordered by `(created_at, id)`.
    async fn list_tenants(&mut self, filter: &TenantFilter) -> Result<Vec<Tenant>, StoreError>;
    /// Changes a live tenant.
    async fn update_tenant(&mut self, id: Uuid, patch: &TenantPatch) -> Result<Option<Tenant>, StoreError>;
    /// Soft-deletes a live tenant.
    async fn soft_delete_tenant(&mut self, id: Uuid) -> Result<Option<Tenant>, StoreError>;
}
