//! Second factors, one-time codes, account recovery and the notification
//! outbox: the storage operations of the recovery capability.

use async_trait::async_trait;
use azth_core::model::User;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::StoreError;

/// A user's TOTP and backup-code state (secrets sealed / digested).
#[derive(Clone)]
pub struct MfaState {
    pub enabled: bool,
    /// The TOTP secret sealed under the master key (base64), if enrolled.
    pub secret_sealed: Option<String>,
    pub last_step: Option<i64>,
    /// HMAC digests of the unused backup codes.
    pub backup_codes: Vec<String>,
}

impl std::fmt::Debug for MfaState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaState").field("enabled", &self.enabled).finish_non_exhaustive()
    }
}

/// A one-time code to store (its digest only).
#[derive(Debug, Clone)]
pub struct NewOtp {
    pub tenant_id: Uuid,
    pub user_id: Option<Uuid>,
    pub code_hash: String,
    /// `email` or `sms`.
    pub channel: String,
    pub purpose: String,
    pub target: String,
    pub max_attempts: i32,
    pub expires_at: DateTime<Utc>,
}

/// A live one-time code.
#[derive(Debug, Clone)]
pub struct OtpCode {
    pub id: Uuid,
    pub user_id: Option<Uuid>,
    pub code_hash: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub expires_at: DateTime<Utc>,
}

/// What a verification attempt did to a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpCheck {
    /// The code matched and is now used.
    Accepted,
    /// It did not match; the attempt was counted.
    Rejected,
    /// No live code (none sent, expired, used, or out of attempts).
    Dead,
}

/// A message to send through the outbox.
#[derive(Clone)]
pub struct NewNotification {
    pub tenant_id: Uuid,
    pub user_id: Option<Uuid>,
    /// `email`, `sms` or `push`.
    pub kind: String,
    pub template: String,
    pub recipient: String,
    pub subject: Option<String>,
    pub content: String,
    /// The HTML alternative of an email.
    pub html_content: Option<String>,
}

impl std::fmt::Debug for NewNotification {
    // SECURITY: the content holds live links and codes: never in a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewNotification")
            .field("tenant_id", &self.tenant_id)
            .field("kind", &self.kind)
            .field("template", &self.template)
            .finish_non_exhaustive()
    }
}

/// A notification claimed for delivery.
#[derive(Clone)]
pub struct OutboxMessage {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub kind: String,
    pub template: String,
    pub recipient: String,
    pub subject: Option<String>,
    pub content: String,
    pub html_content: Option<String>,
    pub retry_count: i32,
    pub max_retries: i32,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for OutboxMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxMessage").field("id", &self.id).field("template", &self.template).finish_non_exhaustive()
    }
}

/// Second factors and recovery tokens of users.
#[async_trait]
pub trait RecoveryRepo {
    async fn mfa_state(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<Option<MfaState>, StoreError>;
    /// Stores a (new, unconfirmed) TOTP secret; MFA stays as it is.
    async fn set_mfa_secret(&mut self, tenant_id: Uuid, user_id: Uuid, sealed: &str) -> Result<(), StoreError>;
    /// Turns MFA on with these backup-code digests, recording the step used.
    async fn enable_mfa(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        backup: &[String],
        step: i64,
    ) -> Result<(), StoreError>;
    /// Turns MFA off and forgets the secret and backup codes.
    async fn disable_mfa(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<(), StoreError>;
    /// Records `step` as used if it is newer than the last one; false = replay.
    async fn claim_totp_step(&mut self, tenant_id: Uuid, user_id: Uuid, step: i64) -> Result<bool, StoreError>;
    async fn set_backup_codes(&mut self, tenant_id: Uuid, user_id: Uuid, digests: &[String]) -> Result<(), StoreError>;
    /// Removes one backup code if present; false when it was not (single use).
    async fn consume_backup_code(&mut self, tenant_id: Uuid, user_id: Uuid, digest: &str) -> Result<bool, StoreError>;
    async fn set_email_verification(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        token_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Consumes a live verification token (any tenant: the token names it).
    async fn verify_email_token(&mut self, token_hash: &str) -> Result<Option<User>, StoreError>;
    async fn set_password_reset(
        &mut self,
        tenant_id: Uuid,
        user_id: Uuid,
        token_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The user a live reset token belongs to (any tenant), without consuming it.
    async fn password_reset_user(&mut self, token_hash: &str) -> Result<Option<User>, StoreError>;
    /// Consumes the reset token and sets the new hash; also activates a
    /// pending (invited) user and clears the lockout. None = token dead.
    async fn reset_password(&mut self, token_hash: &str, new_hash: &str) -> Result<Option<User>, StoreError>;
    async fn user_by_email(&mut self, tenant_id: Uuid, email: &str) -> Result<Option<User>, StoreError>;
    async fn user_by_verified_phone(&mut self, tenant_id: Uuid, phone: &str) -> Result<Option<User>, StoreError>;
    async fn mark_email_verified(&mut self, tenant_id: Uuid, user_id: Uuid) -> Result<(), StoreError>;
    async fn set_verified_phone(&mut self, tenant_id: Uuid, user_id: Uuid, phone: &str) -> Result<(), StoreError>;
}

/// One-time codes.
#[async_trait]
pub trait OtpRepo {
    /// Stores a code and kills the previous live ones for the same
    /// tenant, channel, purpose and target.
    async fn insert_otp(&mut self, new: &NewOtp) -> Result<Uuid, StoreError>;
    /// The newest live code for the target.
    async fn live_otp(
        &mut self,
        tenant_id: Uuid,
        channel: &str,
        purpose: &str,
        target: &str,
    ) -> Result<Option<OtpCode>, StoreError>;
    /// Atomically uses the code when `matches`, or counts a failed attempt.
    async fn check_otp(&mut self, tenant_id: Uuid, id: Uuid, matches: bool) -> Result<OtpCheck, StoreError>;
    /// Codes sent to `channel` in `tenant` since `since` (the SMS budget).
    async fn count_otp_since(
        &mut self,
        tenant_id: Uuid,
        channel: &str,
        since: DateTime<Utc>,
    ) -> Result<i64, StoreError>;
}

/// What a delivered message's `content` (and `html_content`, when it had
/// one) becomes: the body held live links and codes, and once the message is
/// out nobody needs it (the API never shows it).
pub const DELIVERED_CONTENT: &str = "[delivered; content removed]";

/// The notification outbox.
#[async_trait]
pub trait NotificationRepo {
    async fn insert_notification(&mut self, new: &NewNotification) -> Result<Uuid, StoreError>;
    /// Claims up to `limit` due messages for `lease` (any tenant).
    async fn claim_notifications(
        &mut self,
        limit: i64,
        lease: chrono::Duration,
    ) -> Result<Vec<OutboxMessage>, StoreError>;
    /// Marks a message sent and replaces its content with [`DELIVERED_CONTENT`].
    async fn mark_notification_sent(&mut self, id: Uuid) -> Result<(), StoreError>;
    /// Schedules a retry at `retry_at`, or fails the message for good when `retry_at` is None.
    async fn mark_notification_failed(
        &mut self,
        id: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;
}

/// A tenant's override of a message template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTemplate {
    pub name: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// Per-tenant message templates.
#[async_trait]
pub trait TemplateRepo {
    async fn notification_template(
        &mut self,
        tenant_id: Uuid,
        name: &str,
    ) -> Result<Option<StoredTemplate>, StoreError>;
    async fn upsert_notification_template(
        &mut self,
        tenant_id: Uuid,
        name: &str,
        subject: &str,
        text_body: &str,
        html_body: Option<&str>,
    ) -> Result<StoredTemplate, StoreError>;
}

/// What a maintenance pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub sessions: u64,
    pub otp_codes: u64,
    pub refresh_tokens: u64,
}

/// Housekeeping run by the worker loop.
#[async_trait]
pub trait MaintenanceRepo {
    /// Creates the audit partitions of this month and the next `months`.
    async fn create_audit_partitions(&mut self, months: i32) -> Result<i32, StoreError>;
    /// Drops whole monthly audit partitions older than `cutoff`.
    async fn drop_audit_partitions_before(&mut self, cutoff: DateTime<Utc>) -> Result<i32, StoreError>;
    /// Deletes sessions, codes and refresh tokens that expired before `cutoff`.
    async fn purge_expired(&mut self, cutoff: DateTime<Utc>) -> Result<Purged, StoreError>;
}
