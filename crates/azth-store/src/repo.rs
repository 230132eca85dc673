//! The storage operations, grouped per aggregate. Every tenant-scoped
//! operation takes the tenant id explicitly — PostgreSQL also enforces it
//! with row-level security, a store without RLS relies on it alone.

use async_trait::async_trait;
use azth_core::model::{AuditEvent, Session, SessionMode, Tenant, TenantStatus, User, UserCredentials, UserStatus};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::StoreError;

/// A tenant to create.
#[derive(Debug, Clone)]
pub struct NewTenant {
    pub name: String,
    pub slug: String,
    pub domain: Option<String>,
    pub plan: String,
    pub settings: serde_json::Value,
}

/// A user to create. `email` is already trimmed and lowercased.
#[derive(Clone)]
pub struct NewUser {
    pub email: String,
    pub username: Option<String>,
    pub password_hash: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub status: UserStatus,
}

/// Changes to a user's own profile. `None` leaves a field alone;
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct ProfilePatch {
    pub username: Option<Option<String>>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub avatar: Option<Option<String>>,
}

/// A session to create.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    /// SHA-256 of the session token (the cookie value in cookie mode).
    pub token_hash: String,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub amr: Vec<String>,
    pub mode: SessionMode,
    pub expires_at: DateTime<Utc>,
}

/// What presenting a refresh token found.
#[derive(Debug, Clone)]
pub enum RefreshOutcome {
    /// The token was live and is now spent; its session follows.
    Fresh(Session),
    /// The token had been spent already: a replay.
    Spent { session_id: Uuid, tenant_id: Uuid },
    /// Unknown or expired.
    Invalid,
}

/// A signing key as stored (the private key sealed under the master key).
#[derive(Clone)]
pub struct StoredKey {
    pub kid: String,
    pub algorithm: String,
    pub public_key: Vec<u8>,
    pub private_key_sealed: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

/// An application audit row with its origin.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub tenant_id: Uuid,
    /// The acting user (for `auth.*` events, the user concerned when known).
    pub user_id: Option<Uuid>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub event: AuditEvent,
}

/// Tenants.
#[async_trait]
pub trait TenantRepo {
    async fn tenant_by_id(&mut self, id: Uuid) -> Result<Option<Tenant>, StoreError>;
    async fn tenant_by_slug(&mut self, slug: &str) -> Result<Option<Tenant>, StoreError>;
    /// By domain, compared case-insensitively.
    async fn tenant_by_domain(&mut self, domain: &str) -> Result<Option<Tenant>, StoreError>;
    /// Creates the tenant and its system roles.
    async fn insert_tenant(&mut self, new: &NewTenant) -> Result<Tenant, StoreError>;
    async fn count_tenants(&mut self) -> Result<i64, StoreError>;
    async fn set_tenant_status(&mut self, id: Uuid, status: TenantStatus) -> Result<Option<Tenant>, StoreError>;
}

/// Users.
#[async_trait]
pub trait UserRepo {
    async fn insert_user(&mut self, tenant_id: Uuid, new: &NewUser) -> Result<User, StoreError>;
    /// A user that is not deleted.
    async fn user_by_id(&mut self, tenant_id: Uuid, id: Uuid) -> Result<Option<User>, StoreError>;
    /// By email (lowercased) or username (case-insensitive); not deleted.
    async fn user_credentials(
        &mut self,
        tenant_id: Uuid,
        identifier: &str,
    ) -> Result<Option<UserCredentials>, StoreError>;
    async fn user_credentials_by_id(
        &mut self,
        tenant_id: Uuid,
        id: Uuid,
    ) -> Result<Option<UserCredentials>, StoreError>;
    /// Resets the failure counter, stamps `last_login_at`, and stores a new hash when given.
    async fn record_login_success(
        &mut self,
        tenant_id: Uuid,
        id: Uuid,
        new_hash: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Counts a failure; sets `locked_until` when given.
    async fn record_login_failure(
        &mut self,
        tenant_id: Uuid,
        id: Uuid,
        locked_until: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;
    async fn update_profile(&mut self, tenant_id: Uuid, id: Uuid, patch: &ProfilePatch) -> Result<User, StoreError>;
    async fn set_password_hash(&mut self, tenant_id: Uuid, id: Uuid, hash: &str) -> Result<(), StoreError>;
}

/// Roles and permissions as far as sign-in needs them.
#[async_trait]
pub trait AccessRepo {
    /// Assigns the tenant's role named `role`; false when no such role exists.
    async fn assign_role_by_name(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        role: &str,
        assigned_by: Option<Uuid>,
    ) -> Result<bool, StoreError>;
    /// The names of the user's unexpired roles and the permissions they grant, sorted.
    async fn user_access(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<(Vec<String>, Vec<String>), StoreError>;
}

/// Sessions and refresh tokens.
#[async_trait]
pub trait SessionRepo {
    async fn insert_session(&mut self, new: &NewSession) -> Result<Session, StoreError>;
    async fn insert_refresh_token(
        &mut self,
        tenant_id: Uuid,
        session_id: Uuid,
        token_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Spends a refresh token atomically (any tenant: the token names its own).
    async fn spend_refresh_token(&mut self, token_hash: &str) -> Result<RefreshOutcome, StoreError>;
    async fn session_by_id(&mut self, tenant_id: Uuid, id: Uuid) -> Result<Option<Session>, StoreError>;
    /// By the hash of its session token (any tenant: cookie sign-in).
    async fn session_by_token_hash(&mut self, token_hash: &str) -> Result<Option<Session>, StoreError>;
    /// Replaces the session token (cookie rotation) and marks activity.
    async fn rotate_session_token(
        &mut self,
        tenant_id: Uuid,
        id: Uuid,
        old_hash: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError>;
    /// Live (unrevoked, unexpired) sessions of a user, newest first.
    async fn sessions_of_user(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<Vec<Session>, StoreError>;
    /// Revokes one session; false when it was not live.
    async fn revoke_session(&mut self, tenant_id: Uuid, id: Uuid) -> Result<bool, StoreError>;
    /// Revokes a user's sessions but `except`; returns the revoked ids.
    async fn revoke_user_sessions(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        except: Option<Uuid>,
    ) -> Result<Vec<Uuid>, StoreError>;
    async fn touch_session(&mut self, tenant_id: Uuid, id: Uuid) -> Result<(), StoreError>;

    /// Sessions revoked at or after `since`, with when (to restore the
    /// revocation markers of a cache that lost them). System scope.
    async fn revoked_sessions_since(&mut self, since: DateTime<Utc>) -> Result<Vec<(Uuid, DateTime<Utc>)>, StoreError>;
}

/// Token signing keys (global).
#[async_trait]
pub trait KeyRepo {
    /// Keys still published: not expired.
    async fn signing_keys(&mut self) -> Result<Vec<StoredKey>, StoreError>;
    async fn insert_signing_key(&mut self, key: &StoredKey) -> Result<(), StoreError>;
    /// Retires every key but `kid`, publishing them until `expires_at`.
    async fn retire_signing_keys_except(&mut self, kid: &str, expires_at: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// Application audit events.
#[async_trait]
pub trait AuditRepo {
    async fn insert_audit(&mut self, record: &AuditRecord) -> Result<(), StoreError>;
}
