//! Delivering the notification outbox. Requests only insert `notifications`
//! rows in their own transaction; the worker here claims due rows (`FOR
//! UPDATE SKIP LOCKED`, so any number of workers on any number of nodes
//! share the work), hands each to a sender, and marks it sent or schedules
//! a retry with exponential backoff. A row whose worker died is due again
//! when its lease runs out.
//!
//! Senders today: the file outbox of API.md ("Running"), one JSON file per
//! message under `<data dir>/outbox/`, written atomically.

pub mod file;

use std::sync::Arc;
use std::time::Duration;

use azth_store::OutboxMessage;
use chrono::Utc;

use crate::state::AppState;

/// How long a claim lasts before another worker may take the message.
const LEASE: chrono::Duration = chrono::Duration::seconds(60);
/// How often the worker looks for due messages without being woken.
const POLL: Duration = Duration::from_millis(500);

/// A way to deliver messages.
#[async_trait::async_trait]
pub trait Sender: Send + Sync {
    async fn send(&self, message: &OutboxMessage) -> Result<(), String>;
}

/// Delivers every due message once; returns how many were handled.
pub async fn drain_once(state: &AppState, sender: &dyn Sender) -> Result<usize, azth_store::StoreError> {
    let messages = {
        let mut tx = state.store.system("the outbox worker serves every tenant").await?;
        let claimed = tx.claim_notifications(20, LEASE).await?;
        tx.commit().await?;
        claimed
    };
    let count = messages.len();
    for message in messages {
        let outcome = sender.send(&message).await;
        let mut tx = state.store.system("the outbox worker serves every tenant").await?;
        match outcome {
            Ok(()) => tx.mark_notification_sent(message.id).await?,
            Err(error) => {
                let retry_at = (message.retry_count < message.max_retries).then(|| {
                    // 2^n seconds, capped at an hour.
                    let secs = 2_i64.saturating_pow(u32::try_from(message.retry_count + 1).unwrap_or(12)).min(3600);
                    Utc::now() + chrono::Duration::seconds(secs)
                });
                tracing::warn!(notification = %message.id, error = %error, retry = retry_at.is_some(), "delivery failed");
                tx.mark_notification_failed(message.id, &error, retry_at).await?;
            }
        }
        tx.commit().await?;
    }
    Ok(count)
}

/// Runs the worker until `stop` turns true.
pub async fn run(state: AppState, sender: Arc<dyn Sender>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        match drain_once(&state, sender.as_ref()).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "outbox worker could not claim messages"),
        }
        tokio::select! {
            () = state.outbox_wake.notified() => {}
            () = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => return,
        }
    }
}
