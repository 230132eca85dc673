//! The one API error type and its RFC 9457 rendering.
//!
//! Handlers return [`ApiError`]; its `IntoResponse` stores the problem in the
//! response extensions, and the [`finalize`] middleware — which knows the
//! request id — writes the `application/problem+json` body. The same
//! middleware turns every other error response (axum's plain-text 404, 405,
//! 413, 415, a panic) into a problem document, so nothing else escapes.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use azth_core::{ErrorCode, FieldError};
use azth_store::StoreError;
use serde::Serialize;

use super::request_id::RequestId;

/// An error answered to the client. Boxed: it travels through every
/// `Result` of the request path, so it is one pointer wide.
#[derive(Debug, Clone)]
pub struct ApiError(Box<ApiErrorData>);

/// What an [`ApiError`] says; reached through `Deref`.
#[derive(Debug, Clone)]
pub struct ApiErrorData {
    pub code: ErrorCode,
    pub detail: Option<String>,
    pub errors: Vec<FieldError>,
    /// For `CONFLICT`: the field that clashes.
    pub field: Option<String>,
    /// Seconds, for 423, 429 and 503.
    pub retry_after: Option<u64>,
    /// `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` for 429.
    pub rate_limit: Option<(u64, u64, u64)>,
}

impl std::ops::Deref for ApiError {
    type Target = ApiErrorData;
    fn deref(&self) -> &ApiErrorData {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ApiErrorData {
        &mut self.0
    }
}

impl ApiError {
    pub fn new(code: ErrorCode) -> Self {
        Self(Box::new(ApiErrorData {
            code,
            detail: None,
            errors: Vec::new(),
            field: None,
            retry_after: None,
            rate_limit: None,
        }))
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// A 422 with one entry per offending field.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} fields are invalid", errors.len()),
        };
        let mut err = Self::new(ErrorCode::ValidationError).with_detail(detail);
        err.errors = errors;
        err
    }

    /// A 409 naming the clashing field.
    pub fn conflict(field: Option<String>) -> Self {
        let detail = match &field {
            Some(f) => format!("{f} is already taken"),
            None => ErrorCode::Conflict.default_detail().to_owned(),
        };
        let mut err = Self::new(ErrorCode::Conflict).with_detail(detail);
        err.field = field;
        err
    }

    /// An internal failure: logged with its cause, answered without it.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(ErrorCode::Internal)
    }

    /// A dependency outage: answered 503 with `Retry-After`.
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %cause, "dependency unavailable");
        Self::new(ErrorCode::Unavailable).with_retry_after(1)
    }
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        Self::new(code)
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(cause) => Self::unavailable(cause),
            StoreError::Conflict { field } => Self::conflict(field),
            StoreError::NotFound => Self::new(ErrorCode::NotFound),
            StoreError::MissingReference { constraint } => Self::internal(format!("missing reference: {constraint}")),
            StoreError::Internal(cause) => Self::internal(cause),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// The problem document (RFC 9457 plus azth's `code`, `errors`, `request_id`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Problem)]
pub(crate) struct Problem<'a> {
    /// Always `about:blank`: `code` identifies the problem.
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    kind: &'static str,
    /// The reason phrase of `status`.
    #[schema(example = "Unprocessable Entity")]
    title: &'static str,
    /// The HTTP status code.
    #[schema(example = 422)]
    status: u16,
    code: ErrorCode,
    /// What went wrong, for humans; never echoes submitted secrets.
    #[schema(example = "password: at least 12 characters")]
    detail: &'a str,
    /// For `VALIDATION_ERROR`: one entry per offending field.
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    #[schema(value_type = Vec<FieldError>)]
    errors: &'a [FieldError],
    /// For `CONFLICT`: the field that clashes.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    field: Option<&'a str>,
    /// Equals the `X-Request-ID` response header.
    request_id: &'a str,
}

/// Renders `err` as a complete response carrying `request_id`.
pub fn render(err: &ApiError, request_id: &str, mut base: Response) -> Response {
    let status = err.code.status();
    let problem = Problem {
        kind: "about:blank",
        title: StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error"),
        status,
        code: err.code,
        detail: err.detail.as_deref().unwrap_or(err.code.default_detail()),
        errors: &err.errors,
        field: err.field.as_deref(),
        request_id,
    };
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    *base.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = base.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    headers.remove(header::CONTENT_LENGTH);
    if let Some(secs) = err.retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if let Some((limit, remaining, reset)) = err.rate_limit {
        headers.insert("ratelimit-limit", HeaderValue::from(limit));
        headers.insert("ratelimit-remaining", HeaderValue::from(remaining));
        headers.insert("ratelimit-reset", HeaderValue::from(reset));
    }
    if status == 401 && !headers.contains_key(header::WWW_AUTHENTICATE) {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"azth\""));
    }
    let (parts, _) = base.into_parts();
    Response::from_parts(parts, body.into())
}

/// Maps an error status produced outside our handlers to its code.
fn code_for_status(status: StatusCode) -> ErrorCode {
    match status.as_u16() {
        401 => ErrorCode::Unauthenticated,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        409 => ErrorCode::Conflict,
        413 => ErrorCode::PayloadTooLarge,
        415 => ErrorCode::UnsupportedMediaType,
        422 => ErrorCode::ValidationError,
        429 => ErrorCode::RateLimited,
        400 => ErrorCode::InvalidJson,
        503 | 408 | 504 => ErrorCode::Unavailable,
        _ => ErrorCode::Internal,
    }
}

/// Middleware: every error response leaves as problem+json with the request id.
pub async fn finalize(request: Request, next: Next) -> Response {
    let request_id = request.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    let mut response = next.run(request).await;
    if let Some(err) = response.extensions_mut().remove::<ApiError>() {
        return render(&err, &request_id, response);
    }
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        // A JSON error body written on purpose (e.g. `/ready` naming the
        // failed dependency) is kept; plain-text ones from axum are replaced.
        let is_json = response.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
            v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"application/problem+json")
        });
        if !is_json {
            let code = code_for_status(status);
            let err = if code == ErrorCode::Unavailable {
                ApiError::new(code).with_retry_after(1)
            } else {
                ApiError::new(code)
            };
            return render(&err, &request_id, response);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_code_renders_its_status_and_name() {
        for code in ErrorCode::ALL {
            let err = ApiError::new(code);
            let response = render(&err, "rid-1", StatusCode::OK.into_response());
            assert_eq!(response.status().as_u16(), code.status());
            assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json");
            let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(json["code"], code.as_str());
            assert_eq!(json["status"], code.status());
            assert_eq!(json["request_id"], "rid-1");
            assert_eq!(json["type"], "about:blank");
        }
    }

    #[test]
    fn store_errors_map_to_api_codes() {
        assert_eq!(ApiError::from(StoreError::Unavailable("x".into())).code, ErrorCode::Unavailable);
        assert_eq!(ApiError::from(StoreError::Unavailable("x".into())).retry_after, Some(1));
        let conflict = ApiError::from(StoreError::Conflict { field: Some("email".into()) });
        assert_eq!((conflict.code, conflict.field.as_deref()), (ErrorCode::Conflict, Some("email")));
        assert_eq!(ApiError::from(StoreError::NotFound).code, ErrorCode::NotFound);
        assert_eq!(ApiError::from(StoreError::Internal("boom".into())).code, ErrorCode::Internal);
    }

    #[tokio::test]
    async fn internal_errors_do_not_leak_their_cause() {
        let err = ApiError::from(StoreError::Internal("relation secret_table does not exist".into()));
        let response = render(&err, "r", StatusCode::OK.into_response());
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        assert!(!String::from_utf8_lossy(&body).contains("secret_table"));
    }

    #[test]
    fn foreign_statuses_get_codes() {
        assert_eq!(code_for_status(StatusCode::METHOD_NOT_ALLOWED), ErrorCode::MethodNotAllowed);
        assert_eq!(code_for_status(StatusCode::PAYLOAD_TOO_LARGE), ErrorCode::PayloadTooLarge);
        assert_eq!(code_for_status(StatusCode::UNSUPPORTED_MEDIA_TYPE), ErrorCode::UnsupportedMediaType);
        assert_eq!(code_for_status(StatusCode::INTERNAL_SERVER_ERROR), ErrorCode::Internal);
    }
}
