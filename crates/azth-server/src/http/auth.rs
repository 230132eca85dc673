//! `/api/v1/auth`: register, login, refresh, logout, own sessions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use azth_core::ErrorCode;
use azth_core::crypto::token::random_token;
use azth_core::model::{Session, SessionMode, User};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{Auth, CSRF_COOKIE, Meta, OptionalJson, ResolvedTenant, SESSION_COOKIE, cookie, tenant_header};
use super::json::ApiJson;
use super::openapi::{
    AuthErrors, AuthTenantHeader, BodyErrors, ConflictError, CsrfHeader, Locked, PageQuery, QueryErrors, RateLimited,
    ResolvedTenantHeader, TenantErrors, TokenErrors, TokenTenantHeader, Unauthorized, Unavailable,
};
use super::query::Params;
use crate::services::page::Page;
use crate::services::{Credential, auth, mfa, ratelimit, sessions};
use crate::state::AppState;

/// Routes under `/auth`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(login_mfa))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(list_sessions))
        .routes(routes!(delete_session))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegisterRequest {
    /// Stored trimmed and lowercased.
    #[schema(
        pattern = r"^[\x21-\x3f\x41-\x7e]{1,64}@[\x21-\x2d\x2f-\x3f\x41-\x7e]+(\.[\x21-\x2d\x2f-\x3f\x41-\x7e]+)+$",
        max_length = 254
    )]
    email: String,
    /// At least the tenant's `password_min_length` characters (12 unless the tenant changed it), at most
    /// 128; not a common password, not the email or username.
    #[schema(value_type = String, format = Password, min_length = 12, max_length = 128)]
    password: SecretString,
    /// 3–64 of `[A-Za-z0-9._-]`; blank = none.
    #[schema(pattern = r"^\s*([A-Za-z0-9._-]{3,64})?\s*$")]
    username: Option<String>,
    #[schema(pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", max_length = 100)]
    first_name: Option<String>,
    #[schema(pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", max_length = 100)]
    last_name: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct RegisterResponse {
    user: User,
    verification_sent: bool,
}

/// Creates an account in the tenant and sends the verification email.
#[utoipa::path(
    post,
    path = "/register",
    tag = "auth",
    params(ResolvedTenantHeader),
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered", body = RegisterResponse),
        BodyErrors, TenantErrors, ConflictError, RateLimited,
    )
)]
async fn register(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ResolvedTenant(tenant): ResolvedTenant,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<Response, ApiError> {
    ratelimit::per_ip(&state, &meta, "register").await?;
    let user = auth::register(
        &state,
        &meta,
        &tenant,
        auth::Registration {
            email: body.email,
            password: body.password,
            username: body.username,
            first_name: body.first_name,
            last_name: body.last_name,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(RegisterResponse { user, verification_sent: true })).into_response())
}

/// `token` (default): tokens in the body; `cookie`: the session and CSRF cookies.
#[derive(Deserialize, Clone, Copy, Default, ToSchema)]
#[serde(rename_all = "lowercase")]
enum Mode {
    #[default]
    Token,
    Cookie,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginRequest {
    /// Email or username.
    identifier: String,
    #[schema(value_type = String, format = Password)]
    password: SecretString,
    #[serde(default)]
    mode: Mode,
    /// Cookie mode: persistent cookies instead of browser-session ones.
    #[serde(default)]
    remember: bool,
}

/// The answer to a correct password: signed in, or a second factor is due.
#[derive(ToSchema)]
#[allow(dead_code, clippy::large_enum_variant)] // describes the two answers of `tokens_response` and `mfa_required`
#[serde(untagged)]
enum SignInAnswer {
    Tokens(TokensBody),
    MfaRequired(MfaChallenge),
}

/// Signs in with a password.
#[utoipa::path(
    post,
    path = "/login",
    tag = "auth",
    params(ResolvedTenantHeader),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in (tokens, or in cookie mode `session_id` and `user` with the \
            `azth_session` and `azth_csrf` cookies set), or a second factor is required", body = SignInAnswer),
        BodyErrors, TenantErrors, Unauthorized, Locked, RateLimited,
    )
)]
async fn login(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ResolvedTenant(tenant): ResolvedTenant,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    ratelimit::per_ip(&state, &meta, "login").await?;
    let mode = match body.mode {
        Mode::Token => SessionMode::Token,
        Mode::Cookie => SessionMode::Cookie,
    };
    let outcome = auth::login(
        &state,
        &meta,
        &tenant,
        auth::LoginInput { identifier: body.identifier, password: body.password, mode, remember: body.remember },
    )
    .await?;
    match outcome {
        auth::LoginOutcome::SignedIn(signed_in) => tokens_response(&state, *signed_in, StatusCode::OK),
        auth::LoginOutcome::MfaRequired(token) => Ok(mfa_required(token)),
    }
}

/// A second factor is due: finish with `POST /auth/login/mfa`.
#[derive(Serialize, ToSchema)]
pub(crate) struct MfaChallenge {
    /// Always true.
    mfa_required: bool,
    /// Lives 5 minutes and allows 5 tries.
    mfa_token: String,
    /// The second factors that `login/mfa` accepts.
    #[schema(example = json!(["totp", "backup_code"]))]
    methods: [&'static str; 2],
}

/// The answer to a correct first factor of an account with MFA.
pub(crate) fn mfa_required(token: String) -> Response {
    let mut response =
        Json(MfaChallenge { mfa_required: true, mfa_token: token, methods: ["totp", "backup_code"] }).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginMfaRequest {
    mfa_token: String,
    #[schema(value_type = MfaMethod)]
    method: String,
    code: String,
}

/// The second factor of `login/mfa` (the body field is parsed by the service).
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // describes `LoginMfaRequest::method`
enum MfaMethod {
    Totp,
    BackupCode,
}

/// Finishes a sign-in with a second factor.
#[utoipa::path(
    post,
    path = "/login/mfa",
    tag = "auth",
    params(TokenTenantHeader),
    request_body = LoginMfaRequest,
    responses(
        (status = 200, description = "Signed in", body = TokensBody),
        BodyErrors, TokenErrors, Locked, RateLimited, Unavailable,
    )
)]
async fn login_mfa(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginMfaRequest>,
) -> Result<Response, ApiError> {
    ratelimit::per_ip(&state, &meta, "login_mfa").await?;
    let signed_in =
        mfa::login_second_factor(&state, &meta, tenant_header(&headers), &body.mfa_token, &body.method, &body.code)
            .await?;
    tokens_response(&state, signed_in, StatusCode::OK)
}

/// Tokens (token mode), or only `session_id` and `user` (cookie mode).
#[derive(Serialize, ToSchema)]
pub(crate) struct TokensBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    access_token: Option<String>,
    /// `Bearer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "Bearer")]
    token_type: Option<&'static str>,
    /// Seconds the access token lives.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    session_id: Uuid,
    user: User,
}

/// The answer to a sign-in or refresh: tokens in the body (token mode), or
/// the session and CSRF cookies (cookie mode). Never cached.
pub(crate) fn tokens_response(
    state: &AppState,
    signed_in: auth::SignedIn,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let (access_token, expires_in) = match signed_in.access {
        Some((token, ttl)) => (Some(token), Some(ttl)),
        None => (None, None),
    };
    let body = TokensBody {
        token_type: access_token.as_ref().map(|_| "Bearer"),
        access_token,
        expires_in,
        refresh_token: signed_in.refresh_token,
        session_id: signed_in.session.id,
        user: signed_in.user,
    };
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if let Some(token) = signed_in.session_token {
        let max_age =
            signed_in.remember.then(|| (signed_in.session.expires_at - chrono::Utc::now()).num_seconds().max(0));
        let csrf = random_token().map_err(ApiError::internal)?;
        let secure = state.config.secure_cookies();
        for value in [
            set_cookie(SESSION_COOKIE, &token, true, secure, max_age),
            set_cookie(CSRF_COOKIE, &csrf, false, secure, max_age),
        ] {
            headers.append(header::SET_COOKIE, HeaderValue::from_str(&value).map_err(ApiError::internal)?);
        }
    }
    Ok(response)
}

/// A `Set-Cookie` value. `max_age` None = a browser-session cookie.
fn set_cookie(name: &str, value: &str, http_only: bool, secure: bool, max_age: Option<i64>) -> String {
    let mut cookie = format!("{name}={value}; Path=/; SameSite=Lax");
    if http_only {
        cookie.push_str("; HttpOnly");
    }
    if secure {
        cookie.push_str("; Secure");
    }
    if let Some(secs) = max_age {
        cookie.push_str(&format!("; Max-Age={secs}"));
    }
    cookie
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshRequest {
    /// Absent in cookie mode (the session cookie is used, with `X-CSRF-Token`).
    refresh_token: Option<String>,
}

/// Exchanges a refresh token (or the session cookie) for new tokens; the
/// old refresh token is spent, and presenting it again revokes the session.
#[utoipa::path(
    post,
    path = "/refresh",
    tag = "auth",
    params(CsrfHeader, TokenTenantHeader),
    request_body(content = Option<RefreshRequest>, description = "Optional in cookie mode"),
    security((), ("cookieAuth" = [])),
    responses(
        (status = 200, description = "New tokens and refresh token (cookie mode: `session_id` and `user`, \
            the session cookie rotated)", body = TokensBody),
        BodyErrors, TokenErrors, Unavailable,
    )
)]
async fn refresh(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<RefreshRequest>,
) -> Result<Response, ApiError> {
    let header_tenant = tenant_header(&headers);
    if let Some(token) = body.and_then(|b| b.refresh_token) {
        let signed_in = auth::refresh(&state, &meta, header_tenant, &token).await?;
        return tokens_response(&state, signed_in, StatusCode::OK);
    }
    let Some(session) = cookie(&headers, SESSION_COOKIE) else {
        return Err(ApiError::new(ErrorCode::Unauthenticated).with_detail("no refresh token or session cookie"));
    };
    super::extract::check_csrf(&headers)?;
    let signed_in = auth::refresh_cookie(&state, header_tenant, session).await?;
    tokens_response(&state, signed_in, StatusCode::OK)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogoutRequest {
    /// End every session of the user, not only this one.
    #[serde(default)]
    all: bool,
}

/// Ends the current session (or all of the user's) at once.
#[utoipa::path(
    post,
    path = "/logout",
    tag = "auth",
    params(CsrfHeader, AuthTenantHeader),
    request_body(content = Option<LogoutRequest>, description = "Optional; an empty body is accepted"),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 204, description = "Signed out; cookie mode clears the cookies"), AuthErrors, BodyErrors)
)]
async fn logout(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    OptionalJson(body): OptionalJson<LogoutRequest>,
) -> Result<Response, ApiError> {
    auth::logout(&state, &meta, &principal, body.is_some_and(|b| b.all)).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if principal.credential == Credential::Cookie {
        let secure = state.config.secure_cookies();
        for name in [SESSION_COOKIE, CSRF_COOKIE] {
            let value = set_cookie(name, "", name == SESSION_COOKIE, secure, Some(0));
            response
                .headers_mut()
                .append(header::SET_COOKIE, HeaderValue::from_str(&value).map_err(ApiError::internal)?);
        }
    }
    Ok(response)
}

/// A sign-in session.
#[derive(Serialize, ToSchema)]
pub(crate) struct SessionView {
    id: Uuid,
    ip_address: Option<String>,
    user_agent: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
    last_activity: chrono::DateTime<chrono::Utc>,
    expires_at: chrono::DateTime<chrono::Utc>,
    current: bool,
}

impl SessionView {
    fn of(s: Session, current: Uuid) -> Self {
        Self {
            current: s.id == current,
            id: s.id,
            ip_address: s.ip_address,
            user_agent: s.user_agent,
            created_at: s.created_at,
            last_activity: s.last_activity,
            expires_at: s.expires_at,
        }
    }
}

/// The caller's live sessions.
#[utoipa::path(
    get,
    path = "/sessions",
    tag = "auth",
    params(PageQuery, AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "A page of the caller's live sessions, newest first", body = Page<SessionView>), AuthErrors, QueryErrors)
)]
async fn list_sessions(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    params: Params,
) -> Result<Json<Page<SessionView>>, ApiError> {
    let page = params.page()?;
    let all = sessions::list_own(&state, &meta, &principal).await?;
    let page = Page::from_sorted(all, &page, "own-sessions", true, |s| (s.created_at, s.id))?;
    Ok(Json(page.map(|s| SessionView::of(s, principal.session_id))))
}

/// Ends one of the caller's sessions (another user's id → 404).
#[utoipa::path(
    delete,
    path = "/sessions/{id}",
    tag = "auth",
    params(CsrfHeader, ("id" = Uuid, Path, description = "Session id"), AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 204, description = "Revoked"), AuthErrors)
)]
async fn delete_session(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::new(ErrorCode::NotFound))?;
    sessions::revoke_own(&state, &meta, &principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
