//! Which tenant a request acts in (API.md "Tenant of a request"), with
//! look-ups cached in the shared cache and invalidated on every change.

use std::time::Duration;

use azth_core::ErrorCode;
use azth_core::model::{Tenant, TenantStatus};
use uuid::Uuid;

use crate::http::ApiError;
use crate::state::AppState;

/// How long a cached tenant is trusted (changes invalidate it sooner).
const TTL: Duration = Duration::from_secs(300);

fn id_key(id: Uuid) -> String {
    format!("tenant:id:{id}")
}

fn slug_key(slug: &str) -> String {
    format!("tenant:slug:{slug}")
}

fn domain_key(domain: &str) -> String {
    format!("tenant:domain:{domain}")
}

/// A tenant by id, deleted ones included (callers decide), cached.
pub async fn by_id(state: &AppState, id: Uuid) -> Result<Option<Tenant>, ApiError> {
    if let Ok(Some(json)) = state.cache.get(&id_key(id)).await
        && let Ok(tenant) = serde_json::from_str::<Tenant>(&json)
    {
        return Ok(Some(tenant));
    }
    let mut tx = state.store.system("tenant look-up precedes the tenant context").await?;
    let tenant = tx.tenant_by_id(id).await?;
    tx.commit().await?;
    if let Some(t) = &tenant {
        remember(state, t).await;
    }
    Ok(tenant)
}

async fn by_alias(state: &AppState, key: String, lookup: Lookup<'_>) -> Result<Option<Tenant>, ApiError> {
    if let Ok(Some(id)) = state.cache.get(&key).await
        && let Ok(id) = Uuid::parse_str(&id)
    {
        return by_id(state, id).await;
    }
    let mut tx = state.store.system("tenant look-up precedes the tenant context").await?;
    let tenant = match lookup {
        Lookup::Slug(slug) => tx.tenant_by_slug(slug).await?,
        Lookup::Domain(domain) => tx.tenant_by_domain(domain).await?,
    };
    tx.commit().await?;
    if let Some(t) = &tenant {
        remember(state, t).await;
        let _ = state.cache.set_ex(&key, &t.id.to_string(), TTL).await;
    }
    Ok(tenant)
}

enum Lookup<'a> {
    Slug(&'a str),
    Domain(&'a str),
}

async fn remember(state: &AppState, tenant: &Tenant) {
    // Deleted tenants are not cached: the cached form has no deleted_at.
    if tenant.deleted_at.is_some() {
        return;
    }
    if let Ok(json) = serde_json::to_string(tenant) {
        let _ = state.cache.set_ex(&id_key(tenant.id), &json, TTL).await;
    }
}

/// Drops every cached form of `tenant` (after any change to it).
pub async fn invalidate(state: &AppState, tenant: &Tenant) {
    let mut keys = vec![id_key(tenant.id), slug_key(&tenant.slug)];
    if let Some(domain) = &tenant.domain {
        keys.push(domain_key(&domain.to_ascii_lowercase()));
    }
    for key in keys {
        if let Err(e) = state.cache.del(&key).await {
            tracing::warn!(error = %e, "could not invalidate a cached tenant");
        }
    }
}

/// Whether `s` could be a slug (lowercase letters, digits, dashes; 1–100).
fn slug_like(s: &str) -> bool {
    (1..=100).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The tenant named by an `X-Tenant-ID` value (id or slug), if it exists.
pub async fn named(state: &AppState, value: &str) -> Result<Option<Tenant>, ApiError> {
    let value = value.trim();
    if let Ok(id) = Uuid::parse_str(value) {
        return by_id(state, id).await;
    }
    if !slug_like(value) {
        return Ok(None);
    }
    by_alias(state, slug_key(value), Lookup::Slug(value)).await
}

/// The tenant of an unauthenticated request: `X-Tenant-ID` (id or slug),
/// else `Host` against `tenants.domain`, else `TENANT_REQUIRED`. Deleted or
/// unknown → `TENANT_NOT_FOUND`; suspended → `TENANT_SUSPENDED`.
pub async fn resolve(state: &AppState, header: Option<&str>, host: Option<&str>) -> Result<Tenant, ApiError> {
    let found = match (header, host) {
        (Some(value), _) => named(state, value).await?,
        (None, Some(host)) => {
            // Host is compared without its port, case-insensitively.
            let domain = host
                .rsplit_once(':')
                .map_or(host, |(h, p)| if p.bytes().all(|b| b.is_ascii_digit()) { h } else { host });
            let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
            if domain.is_empty() || domain.len() > 255 {
                None
            } else {
                by_alias(state, domain_key(&domain), Lookup::Domain(&domain)).await?
            }
        }
        (None, None) => return Err(ApiError::new(ErrorCode::TenantRequired)),
    };
    let Some(tenant) = found else {
        return Err(if header.is_none() {
            // No header and no matching domain: the request named no tenant.
            ApiError::new(ErrorCode::TenantRequired)
        } else {
            ApiError::new(ErrorCode::TenantNotFound)
        });
    };
    usable(tenant)
}

/// Refuses deleted and suspended tenants.
pub fn usable(tenant: Tenant) -> Result<Tenant, ApiError> {
    if tenant.deleted_at.is_some() {
        return Err(ApiError::new(ErrorCode::TenantNotFound));
    }
    if tenant.status == TenantStatus::Suspended {
        return Err(ApiError::new(ErrorCode::TenantSuspended));
    }
    Ok(tenant)
}

#[cfg(test)]
mod tests {
    use super::slug_like;

    #[test]
    fn slugs() {
        assert!(slug_like("acme-2"));
        assert!(!slug_like("Acme"));
        assert!(!slug_like(""));
        assert!(!slug_like("a b"));
        assert!(!slug_like(&"a".repeat(101)));
    }
}
