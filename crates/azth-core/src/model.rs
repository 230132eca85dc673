//! The resources of azth as the services and the API see them (API.md
//! "Details": the JSON shapes are these types serialized).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::FieldError;

/// Whether a tenant may be used.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantStatus {
    Active,
    Suspended,
}

impl TenantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "suspended" => Some(Self::Suspended),
            _ => None,
        }
    }
}

/// A tenant's policy (API.md "Tenant settings"): every key optional with the
/// documented default; unknown keys are rejected.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(default))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantSettings {
    pub allow_registration: bool,
    pub require_verified_email: bool,
    #[cfg_attr(feature = "openapi", schema(minimum = 8, maximum = 128))]
    pub password_min_length: u32,
    #[cfg_attr(feature = "openapi", schema(minimum = 3, maximum = 100))]
    pub max_login_attempts: u32,
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1440))]
    pub lockout_minutes: u32,
    #[cfg_attr(feature = "openapi", schema(minimum = 60, maximum = 86400))]
    pub access_token_ttl_seconds: u32,
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 365))]
    pub refresh_token_ttl_days: u32,
    #[cfg_attr(feature = "openapi", schema(minimum = 5, maximum = 525600))]
    pub session_idle_timeout_minutes: u32,
    pub mfa_required: bool,
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
    pub otp_send_per_hour: u32,
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1000000))]
    pub sms_daily_limit: u32,
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            allow_registration: true,
            require_verified_email: false,
            password_min_length: 12,
            max_login_attempts: 5,
            lockout_minutes: 15,
            access_token_ttl_seconds: 900,
            refresh_token_ttl_days: 30,
            session_idle_timeout_minutes: 1440,
            mfa_required: false,
            otp_send_per_hour: 5,
            sms_daily_limit: 1000,
        }
    }
}

impl TenantSettings {
    /// Checks the ranges of API.md "Authorization"; one error per field.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let checks: [(&str, u32, u32, u32); 8] = [
            ("password_min_length", self.password_min_length, 8, 128),
            ("max_login_attempts", self.max_login_attempts, 3, 100),
            ("lockout_minutes", self.lockout_minutes, 1, 1440),
            ("access_token_ttl_seconds", self.access_token_ttl_seconds, 60, 86_400),
            ("refresh_token_ttl_days", self.refresh_token_ttl_days, 1, 365),
            ("session_idle_timeout_minutes", self.session_idle_timeout_minutes, 5, 525_600),
            ("otp_send_per_hour", self.otp_send_per_hour, 1, 100),
            ("sms_daily_limit", self.sms_daily_limit, 0, 1_000_000),
        ];
        let errors: Vec<FieldError> = checks
            .iter()
            .filter(|(_, v, lo, hi)| v < lo || v > hi)
            .map(|(name, _, lo, hi)| {
                FieldError::new(format!("settings.{name}"), "out_of_range", format!("must be between {lo} and {hi}"))
            })
            .collect();
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }

    /// Reads stored settings, falling back to defaults for anything unreadable
    /// (stored settings were validated when written).
    pub fn from_json(value: &serde_json::Value) -> Self {
        serde_json::from_value(value.clone()).unwrap_or_default()
    }
}

/// A tenant.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub domain: Option<String>,
    pub status: TenantStatus,
    pub plan: String,
    pub settings: TenantSettings,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Not part of the API shape; deleted tenants are never shown.
    #[serde(skip_serializing, default)]
    pub deleted_at: Option<DateTime<Utc>>,
}

/// The slug of the operators' tenant.
pub const SYSTEM_TENANT_SLUG: &str = "system";

/// Whether a user may sign in.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    Active,
    Inactive,
    Suspended,
    /// Invited, no password yet.
    Pending,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
            Self::Suspended => "suspended",
            Self::Pending => "pending",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "inactive" => Some(Self::Inactive),
            "suspended" => Some(Self::Suspended),
            "pending" => Some(Self::Pending),
            _ => None,
        }
    }
}

/// A user, as the API shows it (no secrets).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub email: String,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub avatar: Option<String>,
    pub phone: Option<String>,
    pub email_verified: bool,
    pub phone_verified: bool,
    pub mfa_enabled: bool,
    pub status: UserStatus,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A user together with what sign-in needs to check. Never serialized.
#[derive(Clone)]
pub struct UserCredentials {
    pub user: User,
    /// Argon2id PHC string; `None` for invited users.
    pub password_hash: Option<String>,
    pub login_attempts: i32,
    pub locked_until: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for UserCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCredentials").field("user", &self.user.id).finish_non_exhaustive()
    }
}

/// How a session is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionMode {
    /// An API client holding an access JWT and a refresh token.
    Token,
    /// A browser holding the `azth_session` cookie.
    Cookie,
}

impl SessionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Cookie => "cookie",
        }
    }
}

/// A sign-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub amr: Vec<String>,
    pub mode: SessionMode,
    pub last_activity: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Session {
    /// Whether the session may still be used at `now` with the given idle timeout.
    pub fn is_live(&self, now: DateTime<Utc>, idle_timeout: chrono::Duration) -> bool {
        self.revoked_at.is_none() && self.expires_at > now && self.last_activity + idle_timeout > now
    }
}

/// An application audit event (API.md "Audit actions").
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub action: &'static str,
    pub resource_type: &'static str,
    pub resource_id: Option<Uuid>,
    /// Extra non-secret facts, stored as `new_values`.
    pub details: Option<serde_json::Value>,
}

impl AuditEvent {
    /// An `auth.*` event about `user` (None when the identifier matched nobody).
    pub fn auth(action: &'static str, user: Option<Uuid>) -> Self {
        Self { action, resource_type: "users", resource_id: user, details: None }
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_and_reject_unknown_keys() {
        let s: TenantSettings = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(s, TenantSettings::default());
        assert!(serde_json::from_value::<TenantSettings>(serde_json::json!({"nope": 1})).is_err());
        let s: TenantSettings = serde_json::from_value(serde_json::json!({"lockout_minutes": 5})).unwrap();
        assert_eq!(s.lockout_minutes, 5);
        assert_eq!(s.max_login_attempts, 5);
    }

    #[test]
    fn settings_ranges() {
        assert!(TenantSettings::default().validate().is_ok());
        let bad = TenantSettings { password_min_length: 7, access_token_ttl_seconds: 59, ..TenantSettings::default() };
        let errors = bad.validate().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["settings.password_min_length", "settings.access_token_ttl_seconds"]);
    }

    #[test]
    fn sessions_die_when_revoked_expired_or_idle() {
        let now = Utc::now();
        let live = Session {
            id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            user_id: Uuid::nil(),
            ip_address: None,
            user_agent: None,
            amr: vec!["pwd".into()],
            mode: SessionMode::Token,
            last_activity: now,
            expires_at: now + chrono::Duration::days(1),
            revoked_at: None,
            created_at: now,
        };
        let idle = chrono::Duration::minutes(10);
        assert!(live.is_live(now, idle));
        assert!(!Session { revoked_at: Some(now), ..live.clone() }.is_live(now, idle));
        assert!(!Session { expires_at: now, ..live.clone() }.is_live(now, idle));
        assert!(!Session { last_activity: now - chrono::Duration::minutes(11), ..live }.is_live(now, idle));
    }
}
