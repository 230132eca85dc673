//! The error vocabulary of the API (API.md "Conventions"): one code per
//! failure class, each with exactly one HTTP status.

use serde::Serialize;

/// A machine-readable error code, rendered SCREAMING_SNAKE_CASE in problem
/// documents. Each code maps to exactly one HTTP status (`status()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    InvalidJson,
    TenantRequired,
    Unauthenticated,
    InvalidCredentials,
    InvalidMfaCode,
    TokenInvalid,
    TokenExpired,
    TokenReused,
    Forbidden,
    CsrfFailed,
    TenantSuspended,
    TenantMismatch,
    EmailNotVerified,
    MfaEnrollmentRequired,
    NotFound,
    TenantNotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationError,
    AccountLocked,
    RateLimited,
    Internal,
    Unavailable,
}

impl ErrorCode {
    /// Every code, for table tests and documentation.
    pub const ALL: [ErrorCode; 25] = [
        Self::InvalidJson,
        Self::TenantRequired,
        Self::Unauthenticated,
        Self::InvalidCredentials,
        Self::InvalidMfaCode,
        Self::TokenInvalid,
        Self::TokenExpired,
        Self::TokenReused,
        Self::Forbidden,
        Self::CsrfFailed,
        Self::TenantSuspended,
        Self::TenantMismatch,
        Self::EmailNotVerified,
        Self::MfaEnrollmentRequired,
        Self::NotFound,
        Self::TenantNotFound,
        Self::MethodNotAllowed,
        Self::Conflict,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::ValidationError,
        Self::AccountLocked,
        Self::RateLimited,
        Self::Internal,
        Self::Unavailable,
    ];

    /// The HTTP status this code is always answered with.
    pub const fn status(self) -> u16 {
        match self {
            Self::InvalidJson | Self::TenantRequired => 400,
            Self::Unauthenticated
            | Self::InvalidCredentials
            | Self::InvalidMfaCode
            | Self::TokenInvalid
            | Self::TokenExpired
            | Self::TokenReused => 401,
            Self::Forbidden
            | Self::CsrfFailed
            | Self::TenantSuspended
            | Self::TenantMismatch
            | Self::EmailNotVerified
            | Self::MfaEnrollmentRequired => 403,
            Self::NotFound | Self::TenantNotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::Conflict => 409,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::ValidationError => 422,
            Self::AccountLocked => 423,
            Self::RateLimited => 429,
            Self::Internal => 500,
            Self::Unavailable => 503,
        }
    }

    /// The code as written on the wire, e.g. `INVALID_JSON`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidJson => "INVALID_JSON",
            Self::TenantRequired => "TENANT_REQUIRED",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::InvalidCredentials => "INVALID_CREDENTIALS",
            Self::InvalidMfaCode => "INVALID_MFA_CODE",
            Self::TokenInvalid => "TOKEN_INVALID",
            Self::TokenExpired => "TOKEN_EXPIRED",
            Self::TokenReused => "TOKEN_REUSED",
            Self::Forbidden => "FORBIDDEN",
            Self::CsrfFailed => "CSRF_FAILED",
            Self::TenantSuspended => "TENANT_SUSPENDED",
            Self::TenantMismatch => "TENANT_MISMATCH",
            Self::EmailNotVerified => "EMAIL_NOT_VERIFIED",
            Self::MfaEnrollmentRequired => "MFA_ENROLLMENT_REQUIRED",
            Self::NotFound => "NOT_FOUND",
            Self::TenantNotFound => "TENANT_NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::Conflict => "CONFLICT",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::ValidationError => "VALIDATION_ERROR",
            Self::AccountLocked => "ACCOUNT_LOCKED",
            Self::RateLimited => "RATE_LIMITED",
            Self::Internal => "INTERNAL",
            Self::Unavailable => "UNAVAILABLE",
        }
    }

    /// A short default human description, used as `detail` when the caller
    /// gives none. Never contains request data.
    pub const fn default_detail(self) -> &'static str {
        match self {
            Self::InvalidJson => "the request body is not valid JSON",
            Self::TenantRequired => "the request does not name a tenant",
            Self::Unauthenticated => "authentication is required",
            Self::InvalidCredentials => "invalid credentials",
            Self::InvalidMfaCode => "invalid verification code",
            Self::TokenInvalid => "the token is invalid",
            Self::TokenExpired => "the token has expired",
            Self::TokenReused => "the refresh token was already used; the session is revoked",
            Self::Forbidden => "you are not allowed to do this",
            Self::CsrfFailed => "the CSRF token is missing or wrong",
            Self::TenantSuspended => "the tenant is suspended",
            Self::TenantMismatch => "the request names another tenant than the credential's",
            Self::EmailNotVerified => "the email address is not verified",
            Self::MfaEnrollmentRequired => "the tenant requires multi-factor authentication",
            Self::NotFound => "not found",
            Self::TenantNotFound => "tenant not found",
            Self::MethodNotAllowed => "method not allowed on this resource",
            Self::Conflict => "the resource conflicts with an existing one",
            Self::PayloadTooLarge => "the request body is too large",
            Self::UnsupportedMediaType => "the request body must be application/json",
            Self::ValidationError => "the request is not valid",
            Self::AccountLocked => "the account is temporarily locked",
            Self::RateLimited => "too many requests",
            Self::Internal => "internal error",
            Self::Unavailable => "the service is temporarily unavailable",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of a problem document's `errors` array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// The JSON path of the offending field, e.g. `password` or `settings.lockout_minutes`.
    pub field: String,
    /// A stable lowercase code, e.g. `too_short`, `invalid_type`, `unknown_field`.
    pub code: String,
    /// Human-readable explanation, never echoing the submitted value.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), code: code.into(), message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_match_serde_and_statuses_are_error_classes() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, serde_json::Value::String(code.as_str().to_owned()));
            assert!((400..600).contains(&code.status()), "{code}");
            assert!(!code.default_detail().is_empty());
        }
    }

    #[test]
    fn statuses_follow_the_contract() {
        assert_eq!(ErrorCode::InvalidJson.status(), 400);
        assert_eq!(ErrorCode::TokenReused.status(), 401);
        assert_eq!(ErrorCode::TenantMismatch.status(), 403);
        assert_eq!(ErrorCode::TenantNotFound.status(), 404);
        assert_eq!(ErrorCode::AccountLocked.status(), 423);
        assert_eq!(ErrorCode::Unavailable.status(), 503);
    }
}
