//! Upkeep that outlives requests, run by every node (the operations are
//! idempotent, so several nodes doing them is harmless): audit partitions
//! created three months ahead, partitions past retention dropped, expired
//! sessions, refresh tokens and one-time codes deleted.

use std::time::Duration;

use azth_store::StoreError;
use chrono::Utc;

use crate::state::AppState;

/// One pass; returns what it did, for logs and tests.
pub async fn run_once(state: &AppState) -> Result<(i32, i32, azth_store::Purged), StoreError> {
    let mut tx = state.store.system("maintenance spans every tenant").await?;
    let created = tx.create_audit_partitions(3).await?;
    let cutoff = Utc::now() - chrono::Duration::days(i64::from(state.config.audit.retention_days));
    let dropped = tx.drop_audit_partitions_before(cutoff).await?;
    // Expired rows are kept a day for investigation, then deleted.
    let purged = tx.purge_expired(Utc::now() - chrono::Duration::days(1)).await?;
    tx.commit().await?;
    if created > 0 || dropped > 0 || purged != azth_store::Purged::default() {
        tracing::info!(created, dropped, sessions = purged.sessions, otp_codes = purged.otp_codes, "maintenance pass");
    }
    Ok((created, dropped, purged))
}

/// Runs a pass at start and then every `audit.maintenance_interval_secs`.
pub async fn run(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let every = Duration::from_secs(state.config.audit.maintenance_interval_secs.max(1));
    loop {
        if let Err(e) = run_once(&state).await {
            tracing::warn!(error = %e, "maintenance pass failed; retrying later");
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}
