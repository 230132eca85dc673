//! `/api/v1/auth` recovery endpoints: email verification, password reset,
//! and email/SMS one-time codes.

use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use azth_core::model::User;
use secrecy::SecretString;
use serde::Deserialize;

use super::auth::{mfa_required, tokens_response};
use super::error::ApiError;
use super::extract::{Auth, Meta, OptionalJson, ResolvedTenant, SESSION_COOKIE, cookie, tenant_header};
use super::json::ApiJson;
use crate::services::{Principal, otp, ratelimit, recovery};
use crate::state::AppState;

/// Routes under `/auth` for recovery and one-time codes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/password/forgot", post(forgot))
        .route("/password/reset", post(reset))
        .route("/email/verify", post(verify_email))
        .route("/email/verify/resend", post(resend))
        .route("/otp/send", post(otp_send))
        .route("/otp/verify", post(otp_verify))
}

/// The caller when credentials are sent, nobody otherwise (a bad credential
/// is still an error, never silently anonymous).
pub struct MaybeAuth(pub Option<Principal>);

impl FromRequestParts<AppState> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if parts.headers.contains_key(header::AUTHORIZATION) || cookie(&parts.headers, SESSION_COOKIE).is_some() {
            return Auth::from_request_parts(parts, state).await.map(|Auth(p)| MaybeAuth(Some(p)));
        }
        Ok(MaybeAuth(None))
    }
}

fn accepted(body: serde_json::Value) -> Response {
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ForgotRequest {
    email: String,
}

async fn forgot(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ResolvedTenant(tenant): ResolvedTenant,
    ApiJson(body): ApiJson<ForgotRequest>,
) -> Result<Response, ApiError> {
    ratelimit::per_ip(&state, &meta, "password_forgot").await?;
    recovery::forgot(&state, &meta, &tenant, &body.email).await?;
    Ok(accepted(serde_json::json!({})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    token: String,
    new_password: SecretString,
}

async fn reset(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ResetRequest>,
) -> Result<StatusCode, ApiError> {
    ratelimit::per_ip(&state, &meta, "password_reset").await?;
    recovery::reset(&state, &meta, tenant_header(&headers), &body.token, body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    token: String,
}

async fn verify_email(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    ApiJson(body): ApiJson<VerifyRequest>,
) -> Result<Json<User>, ApiError> {
    ratelimit::per_ip(&state, &meta, "email_verify").await?;
    Ok(Json(recovery::verify_email(&state, &meta, tenant_header(&headers), &body.token).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResendRequest {
    email: String,
}

async fn resend(
    State(state): State<AppState>,
    Meta(meta): Meta,
    MaybeAuth(caller): MaybeAuth,
    parts: HeaderMap,
    OptionalJson(body): OptionalJson<ResendRequest>,
) -> Result<Response, ApiError> {
    ratelimit::per_ip(&state, &meta, "email_verify_resend").await?;
    match (caller, body) {
        (Some(principal), _) => recovery::resend_for(&state, &meta, &principal).await?,
        (None, Some(body)) => {
            let tenant = resolve(&state, &parts).await?;
            recovery::resend_to(&state, &meta, &tenant, &body.email).await?;
        }
        (None, None) => return Err(ApiError::new(azth_core::ErrorCode::Unauthenticated)),
    }
    Ok(accepted(serde_json::json!({})))
}

async fn resolve(state: &AppState, headers: &HeaderMap) -> Result<azth_core::model::Tenant, ApiError> {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    crate::services::tenancy::resolve(state, tenant_header(headers), host).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OtpSendRequest {
    channel: String,
    purpose: String,
    target: String,
}

async fn otp_send(
    State(state): State<AppState>,
    Meta(meta): Meta,
    MaybeAuth(caller): MaybeAuth,
    headers: HeaderMap,
    ApiJson(body): ApiJson<OtpSendRequest>,
) -> Result<Response, ApiError> {
    ratelimit::per_ip(&state, &meta, "otp_send").await?;
    let parsed = otp::parse(&body.channel, &body.purpose, &body.target)?;
    let tenant = match &caller {
        Some(p) => p.tenant.clone(),
        None => resolve(&state, &headers).await?,
    };
    let expires_in = otp::send(&state, &meta, &tenant, caller.as_ref(), parsed).await?;
    Ok(accepted(serde_json::json!({"expires_in": expires_in})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OtpVerifyRequest {
    channel: String,
    purpose: String,
    target: String,
    code: String,
}

async fn otp_verify(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ResolvedTenant(tenant): ResolvedTenant,
    ApiJson(body): ApiJson<OtpVerifyRequest>,
) -> Result<Response, ApiError> {
    ratelimit::per_ip(&state, &meta, "otp_verify").await?;
    let parsed = otp::parse(&body.channel, &body.purpose, &body.target)?;
    match otp::verify(&state, &meta, &tenant, parsed, &body.code).await? {
        otp::Verified::SignedIn(signed_in) => tokens_response(&state, *signed_in, StatusCode::OK),
        otp::Verified::MfaRequired(token) => Ok(mfa_required(token)),
        otp::Verified::Verified => Ok(Json(serde_json::json!({"verified": true})).into_response()),
        otp::Verified::ResetToken(token) => {
            let mut response = Json(serde_json::json!({"reset_token": token})).into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
            Ok(response)
        }
    }
}
