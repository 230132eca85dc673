//! `/api/v1/me`: the caller's own account.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use azth_core::model::{Tenant, User};
use azth_store::ProfilePatch;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::{Auth, Meta, OptionalJson, double_option};
use super::json::ApiJson;
use super::openapi::{AuthErrors, AuthTenantHeader, BodyErrors, ConflictError, CsrfHeader, Locked};
use crate::services::{me, mfa};
use crate::state::AppState;

/// Routes under `/me`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_me, patch_me))
        .routes(routes!(change_password))
        .routes(routes!(totp_enrol, totp_disable))
        .routes(routes!(totp_confirm))
        .routes(routes!(backup_codes))
}

/// The caller: account, tenant, role names and effective permissions.
#[derive(Serialize, ToSchema)]
struct MeView {
    user: User,
    tenant: Tenant,
    roles: Vec<String>,
    permissions: Vec<String>,
}

/// The caller's account, tenant, roles and permissions.
#[utoipa::path(
    get,
    path = "/",
    tag = "me",
    params(AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "The caller", body = MeView), AuthErrors)
)]
async fn get_me(State(state): State<AppState>, Auth(principal): Auth) -> Result<Json<MeView>, ApiError> {
    let me = me::get(&state, &principal).await?;
    Ok(Json(MeView { user: me.user, tenant: me.tenant, roles: me.roles, permissions: me.permissions }))
}

/// Absent fields are left alone; `null` clears one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatchMe {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, pattern = r"^[A-Za-z0-9._-]{3,64}$")]
    username: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", max_length = 100)]
    first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", max_length = 100)]
    last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, pattern = r"^https?://[\x21-\x7e]*$", max_length = 2048)]
    avatar: Option<Option<String>>,
}

/// Edits the caller's profile.
#[utoipa::path(
    patch,
    path = "/",
    tag = "me",
    params(CsrfHeader, AuthTenantHeader),
    request_body = PatchMe,
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "The updated user", body = User), AuthErrors, BodyErrors, ConflictError)
)]
async fn patch_me(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<PatchMe>,
) -> Result<Json<User>, ApiError> {
    let patch = ProfilePatch {
        username: body.username,
        first_name: body.first_name,
        last_name: body.last_name,
        avatar: body.avatar,
    };
    Ok(Json(me::patch(&state, &meta, &principal, patch).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangePassword {
    #[schema(value_type = String, format = Password)]
    current_password: SecretString,
    /// The tenant's password policy applies (12–128 characters unless the tenant changed the minimum).
    #[schema(value_type = String, format = Password, min_length = 12, max_length = 128)]
    new_password: SecretString,
}

/// Changes the caller's password; the other sessions are revoked.
#[utoipa::path(
    post,
    path = "/password",
    tag = "me",
    params(CsrfHeader, AuthTenantHeader),
    request_body = ChangePassword,
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 204, description = "Changed"), AuthErrors, BodyErrors, Locked)
)]
async fn change_password(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    me::change_password(&state, &meta, &principal, body.current_password, body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A TOTP secret to confirm with `POST /me/mfa/totp/confirm`.
#[derive(Serialize, ToSchema)]
struct TotpEnrolment {
    /// Base32.
    secret: String,
    /// `otpauth://totp/…` for authenticator apps.
    otpauth_uri: String,
    /// The URI as a QR code (SVG).
    qr_svg: String,
}

/// Starts TOTP enrolment (SHA-1, 6 digits, 30 s); not active until confirmed.
#[utoipa::path(
    post,
    path = "/mfa/totp",
    tag = "me",
    params(CsrfHeader, AuthTenantHeader),
    request_body(content = Option<Object>, description = "None; an empty body is accepted"),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "The secret", body = TotpEnrolment), AuthErrors, BodyErrors, ConflictError)
)]
async fn totp_enrol(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    OptionalJson(_body): OptionalJson<serde_json::Map<String, serde_json::Value>>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let e = mfa::enrol(&state, &meta, &principal).await?;
    let mut response =
        Json(TotpEnrolment { secret: e.secret, otpauth_uri: e.otpauth_uri, qr_svg: e.qr_svg }).into_response();
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(response)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CodeRequest {
    /// A current TOTP code.
    code: String,
}

/// Ten single-use backup codes, shown once.
#[derive(Serialize, ToSchema)]
struct BackupCodes {
    backup_codes: Vec<String>,
}

fn backup_codes_response(codes: Vec<String>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response = Json(BackupCodes { backup_codes: codes }).into_response();
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    response
}

/// Confirms TOTP enrolment with a code; `mfa_enabled` becomes true.
#[utoipa::path(
    post,
    path = "/mfa/totp/confirm",
    tag = "me",
    params(CsrfHeader, AuthTenantHeader),
    request_body = CodeRequest,
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "The backup codes", body = BackupCodes), AuthErrors, BodyErrors, ConflictError)
)]
async fn totp_confirm(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<CodeRequest>,
) -> Result<axum::response::Response, ApiError> {
    Ok(backup_codes_response(mfa::confirm(&state, &meta, &principal, &body.code).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DisableRequest {
    #[schema(value_type = String, format = Password)]
    password: SecretString,
    /// A current TOTP code or a backup code.
    code: String,
}

/// Turns TOTP off (needs the password and a code).
#[utoipa::path(
    delete,
    path = "/mfa/totp",
    tag = "me",
    params(CsrfHeader, AuthTenantHeader),
    request_body = DisableRequest,
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 204, description = "Disabled"), AuthErrors, BodyErrors, ConflictError, Locked)
)]
async fn totp_disable(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<DisableRequest>,
) -> Result<StatusCode, ApiError> {
    mfa::disable(&state, &meta, &principal, body.password, &body.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces the backup codes (needs a TOTP code); the old set dies.
#[utoipa::path(
    post,
    path = "/mfa/backup-codes",
    tag = "me",
    params(CsrfHeader, AuthTenantHeader),
    request_body = CodeRequest,
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "A fresh set of 10", body = BackupCodes), AuthErrors, BodyErrors, ConflictError, Locked)
)]
async fn backup_codes(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<CodeRequest>,
) -> Result<axum::response::Response, ApiError> {
    Ok(backup_codes_response(mfa::regenerate(&state, &meta, &principal, &body.code).await?))
}
