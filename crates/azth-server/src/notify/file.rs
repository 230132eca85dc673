//! The file outbox (API.md "Running"): `<data dir>/outbox/<id>.json`
//! holding `{"id", "tenant_id", "channel", "recipient", "subject", "body",
//! "template", "created_at"}`, written atomically (temporary file, then
//! rename), plus a log line naming it (never its body: it holds live links
//! and codes). The directory is created 0700 and each file 0600.

use std::path::PathBuf;

use azth_store::OutboxMessage;

use super::{SendError, Sender};

/// Writes each message as a JSON file.
pub struct FileOutbox {
    dir: PathBuf,
}

impl FileOutbox {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }
}

#[async_trait::async_trait]
impl Sender for FileOutbox {
    async fn send(&self, m: &OutboxMessage) -> Result<(), SendError> {
        let body = serde_json::json!({
            "id": m.id,
            "tenant_id": m.tenant_id,
            "channel": m.kind,
            "recipient": m.recipient,
            "subject": m.subject,
            "body": m.content,
            "template": m.template,
            "created_at": m.created_at,
        });
        let dir = self.dir.clone();
        let id = m.id;
        let bytes = serde_json::to_vec_pretty(&body).map_err(|e| SendError::Permanent(e.to_string()))?;
        tokio::task::spawn_blocking(move || -> std::io::Result<PathBuf> {
            // SECURITY: the messages hold live links and codes: the directory
            // is 0700 and each file 0600 (gap G10).
            azth_store::files::create_private_dir(&dir)?;
            let tmp = dir.join(format!(".{id}.json.tmp"));
            let path = dir.join(format!("{id}.json"));
            azth_store::files::write_private_file(&tmp, &bytes)?;
            std::fs::rename(&tmp, &path)?;
            Ok(path)
        })
        .await
        .map_err(|e| SendError::Transient(e.to_string()))?
        .map(|path| {
            tracing::info!(target: "azth::outbox", notification = %id, template = %m.template, path = %path.display(), "message written to the file outbox");
        })
        .map_err(|e| SendError::Transient(format!("file outbox: {e}")))
    }
}
