//! The messages azth sends, rendered from the tenant's templates (or the
//! built-in ones) and queued in the outbox inside the caller's transaction.

use std::collections::BTreeMap;

use azth_core::model::Tenant;
use azth_store::{NewNotification, Tx};
use uuid::Uuid;

use crate::http::ApiError;
use crate::notify::templates::{self, Template};
use crate::state::AppState;

/// A message to queue.
pub struct Message {
    pub template: &'static str,
    pub channel: &'static str,
    pub recipient: String,
    /// Variables of the template besides `tenant_name`.
    pub vars: Vec<(&'static str, String)>,
}

/// `verification`: a link to verify an email address.
pub fn verification(state: &AppState, email: &str, token: &str) -> Message {
    let link = format!("{}/verify-email?token={token}", state.config.public_url());
    Message { template: "verification", channel: "email", recipient: email.to_owned(), vars: vec![("link", link)] }
}

/// `password_reset`: a link to choose a new password.
pub fn password_reset(state: &AppState, email: &str, token: &str) -> Message {
    let link = format!("{}/reset-password?token={token}", state.config.public_url());
    Message { template: "password_reset", channel: "email", recipient: email.to_owned(), vars: vec![("link", link)] }
}

/// `invitation`: a set-password link for an invited user (the reset flow).
pub fn invitation(state: &AppState, email: &str, token: &str) -> Message {
    let link = format!("{}/reset-password?token={token}", state.config.public_url());
    Message { template: "invitation", channel: "email", recipient: email.to_owned(), vars: vec![("link", link)] }
}

/// `otp`: a six-digit one-time code by email or SMS.
pub fn one_time_code(channel: &'static str, target: &str, code: &str) -> Message {
    Message {
        template: "otp",
        channel,
        recipient: target.to_owned(),
        vars: vec![("code", code.to_owned()), ("expires_minutes", "10".to_owned())],
    }
}

/// `account_locked`: the account was locked after failed sign-ins.
pub fn account_locked(email: &str, minutes: u32) -> Message {
    Message {
        template: "account_locked",
        channel: "email",
        recipient: email.to_owned(),
        vars: vec![("lockout_minutes", minutes.to_string())],
    }
}

/// Renders `message` with the tenant's template and queues it in `tx`; it
/// leaves when the transaction commits.
pub async fn queue(tx: &mut dyn Tx, tenant: &Tenant, user: Option<Uuid>, message: Message) -> Result<Uuid, ApiError> {
    let template = match tx.notification_template(tenant.id, message.template).await? {
        Some(t) => Template { subject: t.subject, text_body: t.text_body, html_body: t.html_body },
        None => templates::builtin(message.template).ok_or_else(|| ApiError::internal("unknown template"))?,
    };
    let mut context: BTreeMap<&'static str, String> =
        templates::sample_context().into_keys().map(|k| (k, String::new())).collect();
    context.insert("tenant_name", tenant.name.clone());
    context.insert("email", message.recipient.clone());
    for (k, v) in message.vars {
        context.insert(k, v);
    }
    let rendered = match templates::render(&template, &context) {
        Ok(r) => r,
        // A stored override was validated when saved; fall back to the built-in one anyway.
        Err(e) => {
            tracing::warn!(template = message.template, error = %e, "tenant template failed to render; using the built-in one");
            let builtin = templates::builtin(message.template).ok_or_else(|| ApiError::internal("unknown template"))?;
            templates::render(&builtin, &context).map_err(ApiError::internal)?
        }
    };
    let email = message.channel == "email";
    Ok(tx
        .insert_notification(&NewNotification {
            tenant_id: tenant.id,
            user_id: user,
            kind: message.channel.to_owned(),
            template: message.template.to_owned(),
            recipient: message.recipient,
            subject: email.then_some(rendered.subject),
            content: rendered.text,
            html_content: if email { rendered.html } else { None },
        })
        .await?)
}
