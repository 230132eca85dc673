//! The messages azth sends, queued in the outbox inside the caller's
//! transaction. Texts are plain for now; per-tenant templates come with
//! the delivery capability.

use azth_core::model::Tenant;
use azth_store::{NewNotification, StoreError, Tx};
use uuid::Uuid;

use crate::state::AppState;

/// A message to queue.
pub struct Message {
    pub template: &'static str,
    pub channel: &'static str,
    pub recipient: String,
    pub subject: Option<String>,
    pub body: String,
}

/// `template` `verification`: a link to verify an email address.
pub fn verification(state: &AppState, tenant: &Tenant, email: &str, token: &str) -> Message {
    let link = format!("{}/verify-email?token={token}", state.config.public_url());
    Message {
        template: "verification",
        channel: "email",
        recipient: email.to_owned(),
        subject: Some(format!("Verify your email for {}", tenant.name)),
        body: format!(
            "Confirm this address for your {} account:\n\n{link}\n\nThe link works once, for 24 hours.",
            tenant.name
        ),
    }
}

/// `template` `password_reset`: a link to choose a new password.
pub fn password_reset(state: &AppState, tenant: &Tenant, email: &str, token: &str) -> Message {
    let link = format!("{}/reset-password?token={token}", state.config.public_url());
    Message {
        template: "password_reset",
        channel: "email",
        recipient: email.to_owned(),
        subject: Some(format!("Reset your {} password", tenant.name)),
        body: format!(
            "Someone asked to reset the password of your {} account. If it was you:\n\n{link}\n\n\
             The link works once, for one hour. If it was not you, ignore this message.",
            tenant.name
        ),
    }
}

/// `template` `otp`: a six-digit one-time code by email or SMS.
pub fn one_time_code(tenant: &Tenant, channel: &'static str, target: &str, code: &str) -> Message {
    let body = format!("Your {} code is {code}. It expires in 10 minutes.", tenant.name);
    Message {
        template: "otp",
        channel,
        recipient: target.to_owned(),
        subject: (channel == "email").then(|| format!("Your {} code", tenant.name)),
        body,
    }
}

/// Queues `message` in `tx`; it leaves when the transaction commits.
pub async fn queue(tx: &mut dyn Tx, tenant: Uuid, user: Option<Uuid>, message: Message) -> Result<Uuid, StoreError> {
    tx.insert_notification(&NewNotification {
        tenant_id: tenant,
        user_id: user,
        kind: message.channel.to_owned(),
        template: message.template.to_owned(),
        recipient: message.recipient,
        subject: message.subject,
        content: message.body,
    })
    .await
}
