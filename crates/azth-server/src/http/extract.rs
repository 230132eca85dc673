//! Request context extractors: where a request comes from ([`Meta`]), the
//! tenant of an unauthenticated request ([`ResolvedTenant`]), the caller of
//! an authenticated one ([`Auth`]), and optional JSON bodies.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use azth_core::ErrorCode;
use azth_core::crypto::token::constant_time_eq;
use azth_core::model::Tenant;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::json::{ApiJson, has_json_content_type};
use super::request_id::RequestId;
use crate::services::{Principal, RequestMeta, auth, tenancy};
use crate::state::AppState;

/// The session cookie (cookie mode).
pub const SESSION_COOKIE: &str = "azth_session";
/// The double-submit CSRF cookie, echoed in `X-CSRF-Token`.
pub const CSRF_COOKIE: &str = "azth_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const TENANT_HEADER: &str = "x-tenant-id";

/// The value of cookie `name`, if sent.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// The `X-Tenant-ID` header, if present and readable.
pub fn tenant_header(headers: &HeaderMap) -> Option<&str> {
    headers.get(TENANT_HEADER).and_then(|v| v.to_str().ok())
}

/// Where the request comes from.
pub struct Meta(pub RequestMeta);

impl FromRequestParts<AppState> for Meta {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Meta(meta_of(parts, &state.config.http.trusted_proxies)))
    }
}

/// The client's address: the peer, or — when the peer is a trusted proxy —
/// the rightmost `X-Forwarded-For` entry that is not a trusted proxy.
/// SECURITY: `X-Forwarded-For` from anyone else is ignored (it is trivially forged).
pub fn client_ip(parts: &Parts, trusted: &[String]) -> Option<std::net::IpAddr> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())?;
    if trusted.is_empty() {
        return Some(peer);
    }
    let nets: Vec<ipnetwork::IpNetwork> = trusted.iter().filter_map(|c| c.parse().ok()).collect();
    let is_trusted = |ip: std::net::IpAddr| nets.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let forwarded: Vec<std::net::IpAddr> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    Some(forwarded.into_iter().rev().find(|ip| !is_trusted(*ip)).unwrap_or(peer))
}

fn meta_of(parts: &Parts, trusted: &[String]) -> RequestMeta {
    let request_id = parts.extensions.get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    let ip = client_ip(parts, trusted);
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(512).collect::<String>());
    RequestMeta { request_id, ip, user_agent }
}

/// The tenant of an unauthenticated request (API.md "Tenant of a request").
pub struct ResolvedTenant(pub Tenant);

impl FromRequestParts<AppState> for ResolvedTenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = tenant_header(&parts.headers);
        if parts.headers.contains_key(TENANT_HEADER) && header.is_none() {
            return Err(ApiError::new(ErrorCode::TenantNotFound));
        }
        let host = parts.headers.get(header::HOST).and_then(|v| v.to_str().ok());
        Ok(ResolvedTenant(tenancy::resolve(state, header, host).await?))
    }
}

/// The authenticated caller: an access JWT in `Authorization: Bearer`, or
/// the session cookie (with the CSRF check on unsafe methods).
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = authenticate(parts, state).await?;
        // Nested routers see a stripped path; the original one names the endpoint.
        let path = parts.extensions.get::<axum::extract::OriginalUri>().map_or(parts.uri.path(), |u| u.0.path());
        if principal.tenant.settings.mfa_required && !mfa_exempt(path) {
            auth::require_mfa_enrolment(state, &principal).await?;
        }
        Ok(Auth(principal))
    }
}

/// Paths a user of a tenant with `mfa_required` may use before enrolling.
fn mfa_exempt(path: &str) -> bool {
    path == "/api/v1/me" || path.starts_with("/api/v1/me/mfa/") || path == "/api/v1/auth/logout"
}

async fn authenticate(parts: &mut Parts, state: &AppState) -> Result<Principal, ApiError> {
    {
        let header_tenant = tenant_header(&parts.headers);
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let value = value.to_str().map_err(|_| ApiError::new(ErrorCode::TokenInvalid))?;
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .map(str::trim)
                .filter(|t| !t.is_empty() && t.len() <= 8192)
                .ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid))?;
            return auth::authenticate_bearer(state, token, header_tenant).await;
        }
        if let Some(session) = cookie(&parts.headers, SESSION_COOKIE) {
            if is_unsafe(&parts.method) {
                check_csrf(&parts.headers)?;
            }
            return auth::authenticate_cookie(state, session, header_tenant).await;
        }
        Err(ApiError::new(ErrorCode::Unauthenticated))
    }
}

/// Whether `method` changes state (CSRF applies).
pub fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Double-submit check: `X-CSRF-Token` must equal the `azth_csrf` cookie.
pub fn check_csrf(headers: &HeaderMap) -> Result<(), ApiError> {
    let cookie = cookie(headers, CSRF_COOKIE);
    let header = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    match (cookie, header) {
        // SECURITY: constant-time comparison of the two copies.
        (Some(c), Some(h)) if !c.is_empty() && constant_time_eq(c.as_bytes(), h.as_bytes()) => Ok(()),
        _ => Err(ApiError::new(ErrorCode::CsrfFailed)),
    }
}

/// A JSON body that may also be absent (an empty body with no content type).
pub struct OptionalJson<T>(pub Option<T>);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let declared_length =
            req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        let chunked = req.headers().contains_key(header::TRANSFER_ENCODING);
        if !has_json_content_type(req.headers()) && declared_length.unwrap_or(0) == 0 && !chunked {
            return Ok(OptionalJson(None));
        }
        ApiJson::<T>::from_request(req, state).await.map(|ApiJson(v)| OptionalJson(Some(v)))
    }
}

/// Deserializes a present field (even `null`) as `Some(..)`, so PATCH bodies
/// can tell "absent" from "clear".
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    use serde::Deserialize;
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cookies() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; azth_session=tok; azth_csrf=c".parse().unwrap());
        assert_eq!(cookie(&h, "azth_session"), Some("tok"));
        assert_eq!(cookie(&h, "azth_csrf"), Some("c"));
        assert_eq!(cookie(&h, "missing"), None);
    }

    #[test]
    fn csrf_needs_matching_header() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "azth_csrf=abc".parse().unwrap());
        assert!(check_csrf(&h).is_err());
        h.insert(CSRF_HEADER, "abd".parse().unwrap());
        assert!(check_csrf(&h).is_err());
        h.insert(CSRF_HEADER, "abc".parse().unwrap());
        assert!(check_csrf(&h).is_ok());
    }
}
