//! `/api/v1/auth` recovery endpoints: email verification, password reset,
//! and email/SMS one-time codes.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use azth_core::model::User;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{mfa_required, tokens_response};
use super::error::ApiError;
use super::extract::{Auth, Meta, OptionalJson, ResolvedTenant, SESSION_COOKIE, cookie, tenant_header};
use super::json::ApiJson;
use super::openapi::{
    BodyErrors, CsrfHeader, MaybeAuthTenantHeader, RateLimited, ResolvedTenantHeader, TenantErrors, TokenErrors,
    TokenTenantHeader, Unauthorized,
};
use crate::services::{Principal, otp, ratelimit, recovery};
use crate::state::AppState;

/// Routes under `/auth` for recovery and one-time codes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(forgot))
        .routes(routes!(reset))
        .routes(routes!(verify_email))
        .routes(routes!(resend))
        .routes(routes!(otp_send))
        .routes(routes!(otp_verify))
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

fn accepted(body: impl Serialize) -> Response {
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

/// An empty JSON object: the request was taken (whatever it found).
#[derive(Serialize, ToSchema)]
struct Accepted {}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ForgotRequest {
    #[schema(
        pattern = r"^[\x21-\x3f\x41-\x7e]{1,64}@[\x21-\x2d\x2f-\x3f\x41-\x7e]+(\.[\x21-\x2d\x2f-\x3f\x41-\x7e]+)+$",
        max_length = 254
    )]
    email: String,
}

/// Sends a password-reset link if the account exists (202 either way).
#[utoipa::path(
    post,
    path = "/password/forgot",
    tag = "recovery",
    params(ResolvedTenantHeader),
    request_body = ForgotRequest,
    responses((status = 202, description = "Accepted, whether or not the account exists", body = Accepted),
        BodyErrors, TenantErrors, RateLimited)
)]
async fn forgot(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ResolvedTenant(tenant): ResolvedTenant,
    ApiJson(body): ApiJson<ForgotRequest>,
) -> Result<Response, ApiError> {
    ratelimit::per_ip(&state, &meta, "password_forgot").await?;
    recovery::forgot(&state, &meta, &tenant, &body.email).await?;
    Ok(accepted(Accepted {}))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResetRequest {
    /// From the emailed link, or `reset_token` of `otp/verify`.
    token: String,
    /// The tenant's password policy applies (12–128 characters unless the tenant changed the minimum).
    #[schema(value_type = String, format = Password, min_length = 12, max_length = 128)]
    new_password: SecretString,
}

/// Sets a new password with a reset token; revokes every session and clears the lockout.
#[utoipa::path(
    post,
    path = "/password/reset",
    tag = "recovery",
    params(TokenTenantHeader),
    request_body = ResetRequest,
    responses((status = 204, description = "Password set"), BodyErrors, TokenErrors, RateLimited, super::openapi::Unavailable)
)]
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyRequest {
    /// From the emailed link.
    token: String,
}

/// Verifies the email address with the emailed token.
#[utoipa::path(
    post,
    path = "/email/verify",
    tag = "recovery",
    params(TokenTenantHeader),
    request_body = VerifyRequest,
    responses((status = 200, description = "The user, `email_verified` true", body = User),
        BodyErrors, TokenErrors, RateLimited, super::openapi::Unavailable)
)]
async fn verify_email(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    ApiJson(body): ApiJson<VerifyRequest>,
) -> Result<Json<User>, ApiError> {
    ratelimit::per_ip(&state, &meta, "email_verify").await?;
    Ok(Json(recovery::verify_email(&state, &meta, tenant_header(&headers), &body.token).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResendRequest {
    /// Without credentials: the address to send to (an invalid one → 422). With credentials the body is
    /// not needed and this field is not checked.
    email: String,
}

/// Sends the verification email again: to the caller when authenticated
/// (no body), else to `email` in the tenant of the request.
#[utoipa::path(
    post,
    path = "/email/verify/resend",
    tag = "recovery",
    params(CsrfHeader, MaybeAuthTenantHeader),
    request_body(content = Option<ResendRequest>, description = "Required when not authenticated"),
    security((), ("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 202, description = "Accepted", body = Accepted),
        BodyErrors, TenantErrors, Unauthorized, RateLimited)
)]
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
    Ok(accepted(Accepted {}))
}

async fn resolve(state: &AppState, headers: &HeaderMap) -> Result<azth_core::model::Tenant, ApiError> {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    crate::services::tenancy::resolve(state, tenant_header(headers), host).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OtpSendRequest {
    #[schema(value_type = OtpChannel)]
    channel: String,
    #[schema(value_type = OtpPurpose)]
    purpose: String,
    /// An email address (`channel: email`) or an E.164 phone number (`sms`; spaces, dashes and
    /// parentheses are ignored).
    #[schema(min_length = 1)]
    target: String,
}

/// Where a one-time code goes.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // describes the `channel` fields, parsed by `otp::parse`
enum OtpChannel {
    Email,
    Sms,
}

/// What a one-time code is for.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // describes the `purpose` fields, parsed by `otp::parse`
enum OtpPurpose {
    Login,
    Verification,
    PasswordReset,
}

/// How long a sent code lives.
#[derive(Serialize, ToSchema)]
struct OtpSent {
    /// Seconds.
    expires_in: i64,
}

/// Sends a one-time code (202 for every well-formed request).
#[utoipa::path(
    post,
    path = "/otp/send",
    tag = "recovery",
    params(CsrfHeader, MaybeAuthTenantHeader),
    request_body = OtpSendRequest,
    security((), ("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 202, description = "Accepted, whether or not the target has an account", body = OtpSent),
        BodyErrors, TenantErrors, Unauthorized, RateLimited)
)]
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
    Ok(accepted(OtpSent { expires_in }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OtpVerifyRequest {
    #[schema(value_type = OtpChannel)]
    channel: String,
    #[schema(value_type = OtpPurpose)]
    purpose: String,
    /// As in `otp/send`.
    #[schema(min_length = 1)]
    target: String,
    code: String,
}

/// `purpose: verification`: the target is verified.
#[derive(Serialize, ToSchema)]
struct OtpVerified {
    /// Always true.
    verified: bool,
}

/// `purpose: password_reset`: a token for `POST /auth/password/reset`.
#[derive(Serialize, ToSchema)]
struct OtpResetToken {
    reset_token: String,
}

/// What a correct code gives, by purpose.
#[derive(ToSchema)]
#[allow(dead_code, clippy::large_enum_variant)] // describes the answers built in `otp_verify`
#[serde(untagged)]
enum OtpAnswer {
    /// `login`: signed in.
    SignedIn(super::auth::TokensBody),
    /// `login` for an account with a second factor.
    MfaRequired(super::auth::MfaChallenge),
    Verified(OtpVerified),
    ResetToken(OtpResetToken),
}

/// Checks a one-time code (after `max_attempts` wrong ones the code is dead).
#[utoipa::path(
    post,
    path = "/otp/verify",
    tag = "recovery",
    params(ResolvedTenantHeader),
    request_body = OtpVerifyRequest,
    responses((status = 200, description = "login: tokens (or an MFA challenge); verification: `{verified: true}`; \
            password_reset: `{reset_token}`", body = OtpAnswer),
        BodyErrors, TenantErrors, Unauthorized, RateLimited)
)]
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
        otp::Verified::Verified => Ok(Json(OtpVerified { verified: true }).into_response()),
        otp::Verified::ResetToken(token) => {
            let mut response = Json(OtpResetToken { reset_token: token }).into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
            Ok(response)
        }
    }
}
