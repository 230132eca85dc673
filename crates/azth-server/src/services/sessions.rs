//! The caller's own sessions: list and revoke.

use azth_core::model::{AuditEvent, Session};
use azth_core::{Actor, ErrorCode};
use uuid::Uuid;

use super::auth::mark_revoked;
use super::{Principal, RequestMeta};
use crate::http::ApiError;
use crate::state::AppState;

/// The caller's live sessions, newest first.
pub async fn list_own(state: &AppState, meta: &RequestMeta, principal: &Principal) -> Result<Vec<Session>, ApiError> {
    let tenant = principal.tenant.id;
    let mut tx = state.store.tenant(&meta.audit_ctx(tenant, Actor::User(principal.user_id))).await?;
    let sessions = tx.sessions_of_user(tenant, principal.user_id).await?;
    tx.commit().await?;
    Ok(sessions)
}

/// Revokes one of the caller's sessions; anyone else's is `NOT_FOUND`.
pub async fn revoke_own(state: &AppState, meta: &RequestMeta, principal: &Principal, id: Uuid) -> Result<(), ApiError> {
    let tenant = principal.tenant.id;
    let mut tx = state.store.tenant(&meta.audit_ctx(tenant, Actor::User(principal.user_id))).await?;
    let owned =
        tx.session_by_id(tenant, id).await?.is_some_and(|s| s.user_id == principal.user_id && s.revoked_at.is_none());
    if !owned {
        return Err(ApiError::new(ErrorCode::NotFound));
    }
    tx.revoke_session(tenant, id).await?;
    tx.insert_audit(&meta.record(
        tenant,
        Some(principal.user_id),
        AuditEvent::auth("auth.logout", Some(principal.user_id)).with_details(serde_json::json!({"session_id": id})),
    ))
    .await?;
    tx.commit().await?;
    mark_revoked(state, &[id]).await;
    Ok(())
}
