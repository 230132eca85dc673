//! Delivering the notification outbox. Requests only insert `notifications`
//! rows in their own transaction; the worker here claims due rows (`FOR
//! UPDATE SKIP LOCKED`, so any number of workers on any number of nodes
//! share the work), hands each to a sender, and marks it sent or schedules
//! a retry with exponential backoff. A row whose worker died is due again
//! when its lease runs out.
//!
//! Senders: SMTP for email ([`smtp`]), a signed HTTP webhook for SMS and
//! push ([`webhook`]), and — for whatever has no sender configured — the
//! file outbox of API.md ("Running"), one JSON file per message under
//! `<data dir>/outbox/`, written atomically ([`file`]).

pub mod file;
pub mod smtp;
pub mod templates;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use azth_store::OutboxMessage;
use chrono::Utc;

use crate::state::AppState;

/// How long a claim lasts before another worker may take the message.
const LEASE: chrono::Duration = chrono::Duration::seconds(60);
/// How often the worker looks for due messages without being woken.
const POLL: Duration = Duration::from_millis(500);

/// Why a delivery failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth retrying (timeouts, 4xx SMTP replies, 5xx webhook answers).
    Transient(String),
    /// Will never succeed (5xx SMTP replies, 4xx webhook answers, bad addresses).
    Permanent(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transient(e) => write!(f, "transient: {e}"),
            Self::Permanent(e) => write!(f, "permanent: {e}"),
        }
    }
}

/// A way to deliver messages.
#[async_trait::async_trait]
pub trait Sender: Send + Sync {
    async fn send(&self, message: &OutboxMessage) -> Result<(), SendError>;
}

/// Sends each message with the sender of its channel.
pub struct ByChannel {
    pub email: Arc<dyn Sender>,
    pub sms: Arc<dyn Sender>,
    pub push: Arc<dyn Sender>,
}

#[async_trait::async_trait]
impl Sender for ByChannel {
    async fn send(&self, message: &OutboxMessage) -> Result<(), SendError> {
        match message.kind.as_str() {
            "email" => self.email.send(message).await,
            "sms" => self.sms.send(message).await,
            _ => self.push.send(message).await,
        }
    }
}

/// The delay before retry number `attempt` (1-based): exponential from one
/// second, capped at an hour, with ±25 % jitter so retries of many messages
/// do not arrive together.
pub fn backoff(attempt: u32) -> chrono::Duration {
    let base = 2_f64.powi(i32::try_from(attempt.saturating_sub(1)).unwrap_or(30).min(12)).min(3600.0);
    let jitter = 0.75 + rand::random::<f64>() * 0.5;
    chrono::Duration::milliseconds((base * jitter * 1000.0) as i64)
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
        let retry_at = match &outcome {
            Ok(()) => {
                metrics::counter!("azth_notifications_sent_total", "channel" => message.kind.clone()).increment(1);
                None
            }
            Err(error) => {
                let retryable = matches!(error, SendError::Transient(_));
                let retry_at = (retryable && message.retry_count < message.max_retries)
                    .then(|| Utc::now() + backoff(u32::try_from(message.retry_count + 1).unwrap_or(1)));
                tracing::warn!(notification = %message.id, error = %error, retry = retry_at.is_some(), "delivery failed");
                metrics::counter!("azth_notifications_failed_total", "final" => if retry_at.is_some() { "no" } else { "yes" })
                    .increment(1);
                retry_at
            }
        };
        record_outcome(state, message.id, outcome.as_ref().err(), retry_at).await?;
    }
    Ok(count)
}

/// How long a worker keeps trying to record a delivery while the database
/// is unavailable: well inside the lease, after which another worker would
/// send the message again.
const RECORD_PATIENCE: Duration = Duration::from_secs(40);

/// Records how a delivery went, retrying while the database is unavailable:
/// a message delivered but left `sending` would be delivered a second time
/// when its lease runs out.
async fn record_outcome(
    state: &AppState,
    id: uuid::Uuid,
    error: Option<&SendError>,
    retry_at: Option<chrono::DateTime<Utc>>,
) -> Result<(), azth_store::StoreError> {
    let deadline = tokio::time::Instant::now() + RECORD_PATIENCE;
    let mut pause = Duration::from_millis(100);
    loop {
        let attempt = async {
            let mut tx = state.store.system("the outbox worker serves every tenant").await?;
            match error {
                None => tx.mark_notification_sent(id).await?,
                Some(error) => tx.mark_notification_failed(id, &error.to_string(), retry_at).await?,
            }
            tx.commit().await
        };
        match attempt.await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_unavailable() && tokio::time::Instant::now() + pause < deadline => {
                tracing::warn!(notification = %id, error = %e, "could not record a delivery yet; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
            Err(e) => return Err(e),
        }
    }
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
