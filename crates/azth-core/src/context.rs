//! Who is acting and from where: carried explicitly into every store
//! transaction so the database triggers and application audit rows record
//! the actor, tenant, ip and user agent (no globals, no task-locals).

use std::net::IpAddr;
use uuid::Uuid;

/// The acting party of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// An authenticated user (possibly an operator of the system tenant).
    User(Uuid),
    /// An unauthenticated request (register, login, forgot password).
    Anonymous,
    /// The command-line interface run by an operator.
    Cli,
    /// A background worker of azth itself.
    System,
}

impl Actor {
    /// The user id recorded in `audit_logs.user_id`, when there is one.
    pub fn user_id(self) -> Option<Uuid> {
        match self {
            Self::User(id) => Some(id),
            Self::Anonymous | Self::Cli | Self::System => None,
        }
    }
}

/// Everything a tenant-scoped transaction needs to know about its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditContext {
    /// The tenant the transaction acts in; row-level security scopes to it.
    pub tenant_id: Uuid,
    pub actor: Actor,
    pub ip: Option<IpAddr>,
    /// Truncated by the HTTP layer; never trusted for anything but the log.
    pub user_agent: Option<String>,
}

impl AuditContext {
    /// A context for work done in `tenant_id` by `actor` with no network origin.
    pub fn new(tenant_id: Uuid, actor: Actor) -> Self {
        Self { tenant_id, actor, ip: None, user_agent: None }
    }
}
