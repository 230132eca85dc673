//! Email and SMS one-time codes (API.md "Second factors and codes"): six
//! digits, ten minutes, three attempts, stored as an HMAC under a server key;
//! a new send kills the previous code for the same target.

use std::time::Duration;

use azth_core::crypto::token::{constant_time_eq, hmac_sha256_hex, random_bytes, sha256_hex};
use azth_core::model::{AuditEvent, SessionMode, Tenant, UserStatus};
use azth_core::{Actor, ErrorCode, FieldError};
use azth_store::{NewOtp, OtpCheck, StoreError};
use chrono::Utc;
use uuid::Uuid;

use super::auth::{self, SignedIn, normalize_email};
use super::recovery::{self, per_target};
use super::{Principal, RequestMeta, messages, mfa, ratelimit};
use crate::http::ApiError;
use crate::state::AppState;

/// Seconds a code lives.
pub const CODE_TTL_SECS: i64 = 600;
const MAX_ATTEMPTS: i32 = 3;

/// Where a code goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }
}

/// What a code is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Login,
    Verification,
    PasswordReset,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Verification => "verification",
            Self::PasswordReset => "password_reset",
        }
    }
}

/// Parses channel, purpose and target into their checked forms.
pub fn parse(channel: &str, purpose: &str, target: &str) -> Result<(Channel, Purpose, String), ApiError> {
    let mut errors = Vec::new();
    let channel = match channel {
        "email" => Some(Channel::Email),
        "sms" => Some(Channel::Sms),
        _ => {
            errors.push(FieldError::new("channel", "invalid_value", "expected email or sms"));
            None
        }
    };
    let purpose = match purpose {
        "login" => Some(Purpose::Login),
        "verification" => Some(Purpose::Verification),
        "password_reset" => Some(Purpose::PasswordReset),
        _ => {
            errors.push(FieldError::new("purpose", "invalid_value", "expected login, verification or password_reset"));
            None
        }
    };
    let target = match channel {
        Some(Channel::Email) => normalize_email(target, "target").map_err(|e| errors.push(e)).ok(),
        Some(Channel::Sms) => {
            let phone: String = target.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
            let valid = phone.len() >= 8
                && phone.len() <= 16
                && phone.starts_with('+')
                && phone[1..].bytes().all(|b| b.is_ascii_digit())
                && !phone[1..].starts_with('0');
            if valid {
                Some(phone)
            } else {
                errors.push(FieldError::new("target", "invalid_phone", "an E.164 number such as +15551234567"));
                None
            }
        }
        None => None,
    };
    match (channel, purpose, target) {
        (Some(c), Some(p), Some(t)) if errors.is_empty() => Ok((c, p, t)),
        _ => Err(ApiError::validation(errors)),
    }
}

fn digest(state: &AppState, tenant: Uuid, channel: Channel, purpose: Purpose, target: &str, code: &str) -> String {
    let material = format!("{tenant}:{}:{}:{target}:{code}", channel.as_str(), purpose.as_str());
    hmac_sha256_hex(state.code_key().as_slice(), material.as_bytes())
}

/// A uniformly random six-digit code.
fn six_digits() -> Result<String, ApiError> {
    loop {
        let bytes = random_bytes::<4>().map_err(ApiError::internal)?;
        let n = u32::from_le_bytes(bytes);
        // Rejection sampling keeps every code equally likely.
        if n < u32::MAX - (u32::MAX % 1_000_000) {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

/// `POST /otp/send`: 202 `{expires_in}` for every well-formed request;
/// a code is sent only when the target belongs to an account (or, for
/// `verification` by a signed-in caller, to the caller).
pub async fn send(
    state: &AppState,
    meta: &RequestMeta,
    tenant: &Tenant,
    caller: Option<&Principal>,
    (channel, purpose, target): (Channel, Purpose, String),
) -> Result<i64, ApiError> {
    per_target(state, tenant, "otp_send", &target).await?;
    if channel == Channel::Sms {
        // Per tenant: a defence against SMS pumping.
        if tenant.settings.sms_daily_limit == 0 {
            return Err(ApiError::new(ErrorCode::RateLimited)
                .with_detail("SMS is disabled for this tenant")
                .with_retry_after(3600));
        }
        let subject = tenant.id.to_string();
        ratelimit::hit(state, "sms_daily", &subject, tenant.settings.sms_daily_limit, Duration::from_secs(86_400))
            .await?;
    }
    // SECURITY: the answer is sent before the look-up, so its time says
    // nothing about whether the target has an account.
    let (state2, meta, tenant, caller) = (state.clone(), meta.clone(), tenant.clone(), caller.cloned());
    super::detach(state, "one-time code", async move {
        send_work(&state2, &meta, &tenant, caller.as_ref(), (channel, purpose, target)).await
    });
    Ok(CODE_TTL_SECS)
}

async fn send_work(
    state: &AppState,
    meta: &RequestMeta,
    tenant: &Tenant,
    caller: Option<&Principal>,
    (channel, purpose, target): (Channel, Purpose, String),
) -> Result<(), ApiError> {
    let mut tx = state
        .store
        .tenant(&meta.audit_ctx(tenant.id, caller.map_or(Actor::Anonymous, |p| Actor::User(p.user_id))))
        .await?;
    let user = match (purpose, caller) {
        (Purpose::Verification, Some(p)) => tx.user_by_id(tenant.id, p.user_id).await?,
        _ => match channel {
            Channel::Email => tx.user_by_email(tenant.id, &target).await?,
            Channel::Sms => tx.user_by_verified_phone(tenant.id, &target).await?,
        },
    };
    // A signed-in caller verifying an email verifies their own address only.
    let user = user.filter(|u| {
        !(purpose == Purpose::Verification && channel == Channel::Email && caller.is_some() && u.email != target)
    });
    if let Some(user) = user.filter(|u| matches!(u.status, UserStatus::Active | UserStatus::Pending)) {
        let code = six_digits()?;
        tx.insert_otp(&NewOtp {
            tenant_id: tenant.id,
            user_id: Some(user.id),
            code_hash: digest(state, tenant.id, channel, purpose, &target, &code),
            channel: channel.as_str().into(),
            purpose: purpose.as_str().into(),
            target: target.clone(),
            max_attempts: MAX_ATTEMPTS,
            expires_at: Utc::now() + chrono::Duration::seconds(CODE_TTL_SECS),
        })
        .await?;
        messages::queue(tx.as_mut(), tenant, Some(user.id), messages::one_time_code(channel.as_str(), &target, &code))
            .await?;
        tx.insert_audit(
            &meta.record(
                tenant.id,
                Some(user.id),
                AuditEvent::auth("otp.sent", Some(user.id))
                    .with_details(serde_json::json!({"channel": channel.as_str(), "purpose": purpose.as_str()})),
            ),
        )
        .await?;
    }
    tx.commit().await?;
    state.outbox_wake.notify_one();
    Ok(())
}

/// What a verified code yields.
pub enum Verified {
    SignedIn(Box<SignedIn>),
    MfaRequired(String),
    Verified,
    ResetToken(String),
}

/// `POST /otp/verify`.
pub async fn verify(
    state: &AppState,
    meta: &RequestMeta,
    tenant: &Tenant,
    (channel, purpose, target): (Channel, Purpose, String),
    code: &str,
) -> Result<Verified, ApiError> {
    let code = code.trim();
    let wrong = || ApiError::new(ErrorCode::InvalidMfaCode);
    // Per target: a few codes' worth of attempts an hour, however many IPs ask.
    let attempts = tenant.settings.otp_send_per_hour.saturating_mul(u32::try_from(MAX_ATTEMPTS).unwrap_or(3));
    ratelimit::hit(state, "otp_verify", &verify_subject(tenant, &target), attempts, Duration::from_secs(3600)).await?;
    let mut tx = state.store.tenant(&meta.audit_ctx(tenant.id, Actor::Anonymous)).await?;
    let Some(live) = tx.live_otp(tenant.id, channel.as_str(), purpose.as_str(), &target).await? else {
        return Err(wrong());
    };
    let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
    // SECURITY: constant-time comparison of the digests.
    let matches = well_formed
        && constant_time_eq(
            digest(state, tenant.id, channel, purpose, &target, code).as_bytes(),
            live.code_hash.as_bytes(),
        );
    match tx.check_otp(tenant.id, live.id, matches).await? {
        OtpCheck::Accepted => {}
        outcome => {
            tx.insert_audit(&meta.record(
                tenant.id,
                live.user_id,
                AuditEvent::auth("otp.failed", live.user_id).with_details(serde_json::json!({
                    "channel": channel.as_str(), "purpose": purpose.as_str(), "dead": outcome == OtpCheck::Dead,
                })),
            ))
            .await?;
            tx.commit().await?;
            return Err(wrong());
        }
    }
    let user_id = live.user_id.ok_or_else(wrong)?;
    let user = tx.user_by_id(tenant.id, user_id).await?.ok_or(StoreError::NotFound)?;
    match purpose {
        Purpose::Verification => {
            match channel {
                Channel::Email => tx.mark_email_verified(tenant.id, user.id).await?,
                Channel::Sms => tx.set_verified_phone(tenant.id, user.id, &target).await?,
            }
            tx.commit().await?;
            Ok(Verified::Verified)
        }
        Purpose::PasswordReset => {
            let token = recovery::reset_token_for(tx.as_mut(), tenant.id, user.id).await?;
            tx.commit().await?;
            Ok(Verified::ResetToken(token))
        }
        Purpose::Login => {
            if user.status != UserStatus::Active {
                return Err(ApiError::new(ErrorCode::Forbidden).with_detail("the account is not active"));
            }
            let amr = vec!["otp".to_owned(), if channel == Channel::Sms { "sms" } else { "email" }.to_owned()];
            if user.mfa_enabled {
                tx.commit().await?;
                let token = mfa::issue_mfa_token(state, tenant.id, user.id, amr, SessionMode::Token, false).await?;
                return Ok(Verified::MfaRequired(token));
            }
            tx.record_login_success(tenant.id, user.id, None).await?;
            let issued = auth::open_session(tx.as_mut(), meta, tenant, user.id, amr, SessionMode::Token, false).await?;
            tx.insert_audit(&meta.record(
                tenant.id,
                Some(user.id),
                AuditEvent::auth("auth.login.succeeded", Some(user.id)).with_details(serde_json::json!({"via": "otp"})),
            ))
            .await?;
            let user = tx.user_by_id(tenant.id, user.id).await?.ok_or(StoreError::NotFound)?;
            tx.commit().await?;
            Ok(Verified::SignedIn(Box::new(auth::finish(state, tenant, user, issued)?)))
        }
    }
}

/// The subject of per-target limits for verification attempts.
pub fn verify_subject(tenant: &Tenant, target: &str) -> String {
    format!("{}:{}", tenant.id, sha256_hex(target.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets() {
        let (c, p, t) = parse("sms", "login", "+1 555-123-4567").unwrap();
        assert_eq!((c, p, t.as_str()), (Channel::Sms, Purpose::Login, "+15551234567"));
        let (_, _, t) = parse("email", "verification", " Bob@Example.com ").unwrap();
        assert_eq!(t, "bob@example.com");
        let err = parse("fax", "party", "x").unwrap_err();
        assert_eq!(err.errors.len(), 2);
        assert!(parse("sms", "login", "5551234567").is_err());
        assert!(parse("sms", "login", "+0123456789").is_err());
    }

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            let c = six_digits().unwrap();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
