//! Lockout per identifier (API.md "Lockout and limits"): five failures are
//! allowed, the sixth attempt and later answer 423 until the lock expires or
//! an admin unlocks. An account's email and username share one counter
//! (keyed by the user id); an identifier matching no account has its own
//! (keyed by a hash of it), so the answer is the same either way.
//!
//! A known account's counter also takes failed second factors at
//! `POST /auth/login/mfa` and failed current-password (or code) checks of a
//! signed-in user (`POST /me/password`, `DELETE /me/mfa/totp`), and those
//! endpoints refuse a locked account too: a password alone, or a stolen
//! session, must not buy unlimited guesses.

use std::time::Duration;

use azth_core::ErrorCode;
use azth_core::crypto::token::sha256_hex;
use azth_core::model::TenantSettings;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::cache::CacheError;
use crate::http::ApiError;
use crate::state::AppState;

/// What a counter is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    User(Uuid),
    /// The hash of an identifier that matched no account.
    Unknown(String),
}

impl Subject {
    /// The subject for an identifier that matched nobody.
    pub fn unknown(identifier: &str) -> Self {
        Self::Unknown(sha256_hex(identifier.trim().to_lowercase().as_bytes()))
    }

    fn key(&self, tenant: Uuid) -> String {
        match self {
            Self::User(id) => format!("{tenant}:u:{id}"),
            Self::Unknown(hash) => format!("{tenant}:i:{hash}"),
        }
    }
}

/// Seconds until the subject's lock expires, if it is locked.
pub async fn locked_for(state: &AppState, tenant: Uuid, subject: &Subject) -> Result<Option<u64>, CacheError> {
    let Some(until) = state.limits.get(&format!("lock:{}", subject.key(tenant))).await? else {
        return Ok(None);
    };
    let until: i64 = until.parse().unwrap_or(0);
    let left = until - Utc::now().timestamp();
    Ok((left > 0).then(|| u64::try_from(left).unwrap_or(1)))
}

/// Refuses a locked subject with 423 `ACCOUNT_LOCKED` and `Retry-After`:
/// locked in the cache, or by the user row's `locked_until` (the database's
/// record of the same lock).
pub async fn refuse_if_locked(
    state: &AppState,
    tenant: Uuid,
    subject: &Subject,
    locked_until: Option<DateTime<Utc>>,
) -> Result<(), ApiError> {
    let cache_lock = locked_for(state, tenant, subject).await.map_err(ApiError::unavailable)?;
    let db_lock = locked_until
        .map(|until| (until - Utc::now()).num_seconds())
        .filter(|left| *left > 0)
        .map(|left| u64::try_from(left).unwrap_or(1));
    match cache_lock.or(db_lock) {
        Some(left) => Err(ApiError::new(ErrorCode::AccountLocked).with_retry_after(left.max(1))),
        None => Ok(()),
    }
}

/// Counts a failure; returns the lock's end when this failure locks.
pub async fn record_failure(
    state: &AppState,
    tenant: Uuid,
    subject: &Subject,
    settings: &TenantSettings,
) -> Result<Option<DateTime<Utc>>, CacheError> {
    let window = Duration::from_secs(u64::from(settings.lockout_minutes) * 60);
    let key = subject.key(tenant);
    let failures = state.limits.incr_window(&format!("fails:{key}"), window).await?;
    if failures < i64::from(settings.max_login_attempts) {
        return Ok(None);
    }
    let until = Utc::now() + chrono::Duration::minutes(i64::from(settings.lockout_minutes));
    state.limits.set_ex(&format!("lock:{key}"), &until.timestamp().to_string(), window).await?;
    state.limits.del(&format!("fails:{key}")).await?;
    Ok(Some(until))
}

/// Clears the subject's counter and lock (successful sign-in, admin unlock, reset).
pub async fn clear(state: &AppState, tenant: Uuid, subject: &Subject) -> Result<(), CacheError> {
    let key = subject.key(tenant);
    state.limits.del(&format!("fails:{key}")).await?;
    state.limits.del(&format!("lock:{key}")).await
}
