//! Use cases. Each function takes the application state and the request's
//! context explicitly and returns domain values or an [`ApiError`]; the HTTP
//! handlers only parse, call one of these and map the result.

pub mod access;
pub mod admin_users;
pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod cli;
pub mod lockout;
pub mod me;
pub mod messages;
pub mod mfa;
pub mod notifications;
pub mod otp;
pub mod page;
pub mod ratelimit;
pub mod recovery;
pub mod roles;
pub mod sessions;
pub mod tenancy;
pub mod tenants;

use std::net::IpAddr;

use azth_core::model::AuditEvent;
use azth_core::model::Tenant;
use azth_core::{Actor, AuditContext};
use azth_store::AuditRecord;
use uuid::Uuid;

/// Where a request comes from.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub request_id: String,
    pub ip: Option<IpAddr>,
    /// At most 512 characters.
    pub user_agent: Option<String>,
}

impl RequestMeta {
    /// The transaction context for work in `tenant_id` by `actor`.
    pub fn audit_ctx(&self, tenant_id: Uuid, actor: Actor) -> AuditContext {
        AuditContext { tenant_id, actor, ip: self.ip, user_agent: self.user_agent.clone() }
    }

    /// An application audit row for `event` in `tenant_id`.
    pub fn record(&self, tenant_id: Uuid, user_id: Option<Uuid>, event: AuditEvent) -> AuditRecord {
        AuditRecord {
            tenant_id,
            user_id,
            ip_address: self.ip.map(|ip| ip.to_string()),
            user_agent: self.user_agent.clone(),
            event,
        }
    }
}

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer <access JWT>`.
    Bearer,
    /// The `azth_session` cookie.
    Cookie,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The tenant of the credential (the user's own).
    pub tenant: Tenant,
    /// The tenant the request acts in: `tenant`, or for a system principal
    /// the one named by `X-Tenant-ID` (see [`access::acting_tenant`]).
    pub acting: Tenant,
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub amr: Vec<String>,
    pub credential: Credential,
}

/// How long handed-off work waits before it starts: longer than writing
/// an answer takes, far shorter than anyone waits for an email.
const HANDOFF_DELAY: std::time::Duration = std::time::Duration::from_millis(20);

/// Runs `work` after the answer is sent: for the half of a request whose
/// duration would reveal whether an account exists (the look-up and the
/// writes of forgot, resend and otp/send). Failures are logged, never
/// answered; shutdown waits for the work (`AppState::background`).
pub fn detach<F>(state: &crate::state::AppState, what: &'static str, work: F)
where
    F: std::future::Future<Output = Result<(), crate::http::ApiError>> + Send + 'static,
{
    state.background.spawn(async move {
        // Start once the answer is on its way, so the work does not compete
        // with it for the CPU (which would make an existing account's
        // answer measurably slower on a busy machine).
        tokio::time::sleep(HANDOFF_DELAY).await;
        if let Err(e) = work.await {
            tracing::warn!(what, code = %e.code, "handed-off work failed");
        }
    });
}
