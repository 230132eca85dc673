//! `X-Request-ID` on every response: a valid incoming id (1–128 characters
//! of `[A-Za-z0-9._-]`) is echoed, anything else is replaced by a fresh
//! UUIDv7 (API.md "Details").

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

/// The header name.
pub const HEADER: &str = "x-request-id";

/// The id of the current request, in the request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Whether `id` may be echoed back as a request id.
pub fn is_valid(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Middleware assigning the request id.
pub async fn assign(mut request: Request, next: Next) -> Response {
    let incoming = request.headers().get(HEADER).and_then(|v| v.to_str().ok()).filter(|v| is_valid(v));
    let id = match incoming {
        Some(v) => v.to_owned(),
        None => uuid::Uuid::now_v7().to_string(),
    };
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::is_valid;

    #[test]
    fn validates_ids() {
        assert!(is_valid("abc-DEF_1.2"));
        assert!(is_valid(&"a".repeat(128)));
        assert!(!is_valid(""));
        assert!(!is_valid(&"a".repeat(129)));
        assert!(!is_valid("has space"));
        assert!(!is_valid("semi;colon"));
        assert!(!is_valid("ünïcode"));
    }
}
