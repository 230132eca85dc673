//! Email over SMTP (lettre, async, rustls). `AZTH_SMTP_URL` takes lettre's
//! URL form: `smtp://host:port` (plain, for local relays and tests),
//! `smtp://user:pass@host:587?tls=required` (STARTTLS) or
//! `smtps://user:pass@host` (implicit TLS). A 4xx reply is retried, a 5xx
//! reply fails the message for good.

use std::time::Duration;

use azth_store::OutboxMessage;
use lettre::message::{Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{SendError, Sender};

/// The SMTP sender.
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Smtp {
    /// Builds the transport from a URL and the `From` address.
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|_| "smtp_url is not a valid smtp:// or smtps:// URL".to_owned())?
            .timeout(Some(Duration::from_secs(15)))
            .build();
        let from = from.parse::<Mailbox>().map_err(|_| "smtp_from is not a valid address".to_owned())?;
        Ok(Self { transport, from })
    }
}

#[async_trait::async_trait]
impl Sender for Smtp {
    async fn send(&self, m: &OutboxMessage) -> Result<(), SendError> {
        let to =
            m.recipient.parse::<Mailbox>().map_err(|_| SendError::Permanent("invalid recipient address".into()))?;
        let text = SinglePart::builder().header(ContentType::TEXT_PLAIN).body(m.content.clone());
        let builder = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject.clone().unwrap_or_default())
            .message_id(Some(format!("<{}@azth>", m.id)));
        let email = match &m.html_content {
            Some(html) => builder.multipart(
                MultiPart::alternative()
                    .singlepart(text)
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html.clone())),
            ),
            None => builder.singlepart(text),
        }
        .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))?;
        match self.transport.send(email).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(format!("smtp: {e}"))),
            Err(e) => Err(SendError::Transient(format!("smtp: {e}"))),
        }
    }
}
