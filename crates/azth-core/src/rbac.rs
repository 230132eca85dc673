//! Roles, permissions and assignments as the API shows them (API.md
//! "Administration" and "Details"), with the naming rules that need no I/O.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::FieldError;

/// The roles every tenant has (plus `super_admin` in the system tenant);
/// they cannot be deleted or renamed, and no new role may take their names.
pub const SYSTEM_ROLES: [&str; 4] = ["owner", "admin", "member", "super_admin"];

/// The role whose active holders a tenant must never run out of.
pub const OWNER_ROLE: &str = "owner";

/// Whether `name` is (case-insensitively) the name of a system role.
pub fn is_system_role_name(name: &str) -> bool {
    SYSTEM_ROLES.iter().any(|r| r.eq_ignore_ascii_case(name.trim()))
}

/// Checks a role name: 1–100 characters, no control characters, not blank.
pub fn check_role_name(name: &str) -> Result<(), FieldError> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new("name", "blank", "must not be blank"));
    }
    if trimmed.chars().count() > 100 {
        return Err(FieldError::new("name", "too_long", "at most 100 characters"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(FieldError::new("name", "invalid", "must not contain control characters"));
    }
    Ok(())
}

/// Where a permission applies.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PermissionScope {
    /// Within one tenant.
    Tenant,
    /// Across tenants: held only by operators of the `system` tenant.
    System,
}

impl PermissionScope {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "tenant" => Some(Self::Tenant),
            "system" => Some(Self::System),
            _ => None,
        }
    }
}

/// An entry of the permission catalog.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    pub name: String,
    pub resource: String,
    pub action: String,
    pub scope: PermissionScope,
    pub description: Option<String>,
}

/// A role with the names of its permissions.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub is_system: bool,
    pub permissions: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A role held by a user.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub role_id: Uuid,
    pub role_name: String,
    pub assigned_by: Option<Uuid>,
    pub assigned_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// What a user may do in a tenant right now: unexpired assignments of live
/// roles, for an active, undeleted user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveAccess {
    /// Role names, sorted.
    pub roles: Vec<String>,
    /// Permission names, sorted and distinct.
    pub permissions: Vec<String>,
    /// Whether any held permission has system scope.
    pub system_scope: bool,
    /// The earliest expiry among the assignments counted: the set changes then.
    pub next_expiry: Option<DateTime<Utc>>,
}

impl EffectiveAccess {
    pub fn has(&self, permission: &str) -> bool {
        self.permissions.binary_search_by(|p| p.as_str().cmp(permission)).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_role_names() {
        assert!(is_system_role_name("Owner"));
        assert!(is_system_role_name(" super_admin "));
        assert!(!is_system_role_name("editor"));
    }

    #[test]
    fn role_names() {
        assert!(check_role_name("editor").is_ok());
        assert!(check_role_name("  ").is_err());
        assert!(check_role_name(&"x".repeat(101)).is_err());
        assert!(check_role_name("a\nb").is_err());
    }

    #[test]
    fn has_uses_the_sorted_set() {
        let a = EffectiveAccess { permissions: vec!["roles:read".into(), "users:read".into()], ..Default::default() };
        assert!(a.has("users:read"));
        assert!(!a.has("users:create"));
    }
}
