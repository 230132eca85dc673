//! The outbox and the message templates as administrators manage them
//! (API.md "Administration": `GET /notifications`, `GET /notifications/{id}`,
//! `POST /notifications/{id}/retry`; issue 6: `GET/PUT
//! /notification-templates/{name}`).
//!
//! Notifications are shown without their content (it holds live links and
//! codes). A retry puts a `failed` (or still `retrying`/`pending`) message
//! back in the queue, due now, with `retry_count` reset to 0 so it gets the
//! full retry budget again; the last `error_message` stays until the next
//! attempt replaces or clears it. A `sent` message, or one a worker is
//! delivering right now (`sending`), is 409 CONFLICT.

use azth_core::{ErrorCode, FieldError};
use azth_store::{NotificationFilter, NotificationView, RetryOutcome};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::access::{self, admin_record, admin_tx};
use super::page::{Page, PageParams};
use super::{Principal, RequestMeta};
use crate::http::ApiError;
use crate::notify::templates::{self, Template};
use crate::state::AppState;

/// Statuses a notification can have (the CHECK of migration 0007).
pub const STATUSES: [&str; 5] = ["pending", "sending", "retrying", "sent", "failed"];
/// Channels (the `type` column).
pub const CHANNELS: [&str; 3] = ["email", "sms", "push"];

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound)
}

/// Filters of `GET /notifications`.
#[derive(Debug, Clone, Default)]
pub struct ListInput {
    pub status: Option<String>,
    pub channel: Option<String>,
    pub recipient: Option<String>,
    pub page: PageParams,
}

/// One page of the acting tenant's notifications, newest first.
pub async fn list(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    input: ListInput,
) -> Result<Page<NotificationView>, ApiError> {
    access::require(state, principal, "notifications:read").await?;
    let filter = NotificationFilter {
        status: input.status,
        channel: input.channel,
        recipient: input.recipient,
        before: input.page.after("notifications")?,
        limit: input.page.fetch(),
    };
    let mut tx = admin_tx(state, meta, principal).await?;
    let rows = tx.list_notifications(principal.acting.id, &filter).await?;
    tx.commit().await?;
    Ok(Page::from_rows(rows, &input.page, "notifications", |n| (n.created_at, n.id)))
}

/// One notification of the acting tenant.
pub async fn get(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    id: Uuid,
) -> Result<NotificationView, ApiError> {
    access::require(state, principal, "notifications:read").await?;
    let mut tx = admin_tx(state, meta, principal).await?;
    let found = tx.notification_by_id(principal.acting.id, id).await?;
    tx.commit().await?;
    found.ok_or_else(not_found)
}

/// Queues a notification again (see the module docs) and wakes the worker.
pub async fn retry(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    id: Uuid,
) -> Result<NotificationView, ApiError> {
    access::require(state, principal, "notifications:manage").await?;
    let mut tx = admin_tx(state, meta, principal).await?;
    let view = match tx.retry_notification(principal.acting.id, id).await? {
        RetryOutcome::Queued(view) => view,
        RetryOutcome::NotFound => return Err(not_found()),
        RetryOutcome::Refused(view) => {
            let mut err = ApiError::conflict(Some("status".into()));
            err.detail = Some(if view.status == "sent" {
                "the notification was sent already".into()
            } else {
                "the notification is being delivered right now".into()
            });
            return Err(err);
        }
    };
    tx.insert_audit(&admin_record(
        meta,
        principal,
        "notifications.retried",
        "notifications",
        Some(id),
        json!({"template": view.template, "channel": view.kind}),
    ))
    .await?;
    tx.commit().await?;
    state.outbox_wake.notify_one();
    Ok(view)
}

/// A template as `GET /notification-templates/{name}` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TemplateView {
    pub name: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: Option<String>,
    /// `tenant` for the tenant's override, `builtin` for azth's own.
    #[schema(value_type = String, pattern = "^(tenant|builtin)$")]
    pub source: &'static str,
    /// When the override was last saved; null for a built-in template.
    pub updated_at: Option<DateTime<Utc>>,
}

/// The canonical name of a template, or 404.
fn known(name: &str) -> Result<&'static str, ApiError> {
    templates::NAMES.iter().copied().find(|n| *n == name).ok_or_else(not_found)
}

fn builtin_view(name: &'static str) -> Result<TemplateView, ApiError> {
    let t = templates::builtin(name).ok_or_else(not_found)?;
    Ok(TemplateView {
        name: name.to_owned(),
        subject: t.subject,
        text_body: t.text_body,
        html_body: t.html_body,
        source: "builtin",
        updated_at: None,
    })
}

fn stored_view(t: azth_store::StoredTemplate) -> TemplateView {
    TemplateView {
        name: t.name,
        subject: t.subject,
        text_body: t.text_body,
        html_body: t.html_body,
        source: "tenant",
        updated_at: Some(t.updated_at),
    }
}

/// Every template the acting tenant sends with, by name (its override or the built-in one).
pub async fn templates(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
) -> Result<Vec<TemplateView>, ApiError> {
    access::require(state, principal, "notifications:manage").await?;
    let mut names = templates::NAMES;
    names.sort_unstable();
    let mut tx = admin_tx(state, meta, principal).await?;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        out.push(match tx.notification_template(principal.acting.id, name).await? {
            Some(t) => stored_view(t),
            None => builtin_view(name)?,
        });
    }
    tx.commit().await?;
    Ok(out)
}

/// One template: the tenant's override, or the built-in one; unknown names → 404.
pub async fn template(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    name: &str,
) -> Result<TemplateView, ApiError> {
    access::require(state, principal, "notifications:manage").await?;
    let name = known(name)?;
    let mut tx = admin_tx(state, meta, principal).await?;
    let stored = tx.notification_template(principal.acting.id, name).await?;
    tx.commit().await?;
    match stored {
        Some(t) => Ok(stored_view(t)),
        None => builtin_view(name),
    }
}

/// Saves the acting tenant's override of template `name` after checking
/// that it renders (a template that does not → 422 naming the part).
pub async fn put_template(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    name: &str,
    template: Template,
) -> Result<TemplateView, ApiError> {
    access::require(state, principal, "notifications:manage").await?;
    let name = known(name)?;
    templates::validate(&template)
        .map_err(|(field, message)| ApiError::validation(vec![FieldError::new(field, "invalid_template", message)]))?;
    let mut tx = admin_tx(state, meta, principal).await?;
    let saved = tx
        .upsert_notification_template(
            principal.acting.id,
            name,
            &template.subject,
            &template.text_body,
            template.html_body.as_deref(),
        )
        .await?;
    tx.insert_audit(&admin_record(
        meta,
        principal,
        "notification_templates.updated",
        "notification_templates",
        None,
        json!({"name": name}),
    ))
    .await?;
    tx.commit().await?;
    Ok(stored_view(saved))
}

/// Drops the acting tenant's override of `name`, if any: the built-in
/// template applies again.
pub async fn reset_template(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    name: &str,
) -> Result<(), ApiError> {
    access::require(state, principal, "notifications:manage").await?;
    let name = known(name)?;
    let mut tx = admin_tx(state, meta, principal).await?;
    if tx.delete_notification_template(principal.acting.id, name).await? {
        tx.insert_audit(&admin_record(
            meta,
            principal,
            "notification_templates.reset",
            "notification_templates",
            None,
            json!({"name": name}),
        ))
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Checks a filter value against its allowed set (422 naming the parameter).
pub fn one_of(field: &str, value: Option<&str>, allowed: &[&str]) -> Result<Option<String>, ApiError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if allowed.contains(&v) => Ok(Some(v.to_owned())),
        Some(_) => Err(ApiError::validation(vec![FieldError::new(
            field,
            "invalid_value",
            format!("one of {}", allowed.join(", ")),
        )])),
    }
}
