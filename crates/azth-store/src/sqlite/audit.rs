//! Application audit events in SQLite (the data-change rows are written by
//! the audit triggers of `migrations/sqlite`).

use async_trait::async_trait;

use super::{SqliteTx, id, id_opt, now};
use crate::{AuditRecord, AuditRepo, StoreError};

/// Removes secrets from the top-level keys of an audit document, exactly as
/// PostgreSQL's `audit_redact(jsonb)`: `password_hash`, `mfa_secret`,
/// `backup_codes` and every key containing `token`, `secret` or `private_key`.
pub(crate) fn redact(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .filter(|(key, _)| {
                    let key = key.to_lowercase();
                    !matches!(key.as_str(), "password_hash" | "mfa_secret" | "backup_codes")
                        && !key.contains("token")
                        && !key.contains("secret")
                        && !key.contains("private_key")
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[async_trait]
impl AuditRepo for SqliteTx {
    async fn insert_audit(&mut self, record: &AuditRecord) -> Result<(), StoreError> {
        self.check_scope(record.tenant_id)?;
        let details = record.event.details.as_ref().map(|d| redact(d).to_string());
        let actor = self.audit.actor;
        // The ip reaches here parsed by the HTTP layer; anything else is dropped
        // rather than failing the request.
        let ip = record.ip_address.as_deref().filter(|ip| ip.parse::<std::net::IpAddr>().is_ok());
        sqlx::query(
            "insert into audit_logs (id, tenant_id, user_id, action, resource_type, resource_id, new_values,
                                     ip_address, user_agent, created_at, actor)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9,
                     max($10, coalesce((select max(created_at) from audit_logs), 0) + 1), $11)",
        )
        .bind(id(uuid::Uuid::now_v7()))
        .bind(id(record.tenant_id))
        .bind(id_opt(record.user_id))
        .bind(record.event.action)
        .bind(record.event.resource_type)
        .bind(id_opt(record.event.resource_id))
        .bind(details)
        .bind(ip)
        .bind(&record.user_agent)
        .bind(now())
        .bind(actor)
        .execute(self.write().await?)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::redact;
    use serde_json::json;

    #[test]
    fn secrets_never_reach_the_audit_log() {
        let doc = json!({"email": "a@b", "password_hash": "x", "MFA_SECRET": "y", "backup_codes": [],
                         "refresh_token": "z", "client_secret": "s", "private_key_sealed": "k", "ok": 1});
        assert_eq!(redact(&doc), json!({"email": "a@b", "ok": 1}));
        assert_eq!(redact(&json!("plain")), json!("plain"));
    }
}
