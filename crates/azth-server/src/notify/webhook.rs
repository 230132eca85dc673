//! SMS and push through an HTTP webhook: a JSON POST signed with
//! HMAC-SHA256 over `"<timestamp>.<body>"` in `X-Azth-Signature: v1=<hex>`,
//! the Unix timestamp in `X-Azth-Timestamp` (receivers reject stale ones to
//! stop replays). 2xx = delivered; 4xx = rejected for good; anything else
//! (5xx, timeout, refused) is retried.

use std::time::Duration;

use azth_core::crypto::token::hmac_sha256_hex;
use azth_store::OutboxMessage;
use secrecy::{ExposeSecret, SecretString};

use super::{SendError, Sender};

/// The webhook sender.
pub struct Webhook {
    client: reqwest::Client,
    url: String,
    secret: SecretString,
}

impl Webhook {
    pub fn new(url: &str, secret: SecretString) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("webhook client: {e}"))?;
        Ok(Self { client, url: url.to_owned(), secret })
    }
}

/// The signature header value for `body` sent at `timestamp`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    format!("v1={}", hmac_sha256_hex(secret.as_bytes(), &signed))
}

#[async_trait::async_trait]
impl Sender for Webhook {
    async fn send(&self, m: &OutboxMessage) -> Result<(), SendError> {
        let body = serde_json::to_vec(&serde_json::json!({
            "id": m.id,
            "tenant_id": m.tenant_id,
            "channel": m.kind,
            "recipient": m.recipient,
            "body": m.content,
            "template": m.template,
            "created_at": m.created_at,
        }))
        .map_err(|e| SendError::Permanent(e.to_string()))?;
        let timestamp = chrono::Utc::now().timestamp();
        let response = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("x-azth-timestamp", timestamp.to_string())
            .header("x-azth-signature", signature(self.secret.expose_secret(), timestamp, &body))
            .body(body)
            .send()
            .await
            .map_err(|e| SendError::Transient(format!("webhook: {}", e.without_url())))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else if status.is_client_error() {
            Err(SendError::Permanent(format!("webhook answered {status}")))
        } else {
            Err(SendError::Transient(format!("webhook answered {status}")))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_is_hmac_of_timestamp_dot_body() {
        let sig = super::signature("key", 1_700_000_000, b"{}");
        assert_eq!(sig, format!("v1={}", azth_core::crypto::token::hmac_sha256_hex(b"key", b"1700000000.{}")));
    }
}
