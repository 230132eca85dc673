//! JSON request bodies with API.md's error classes: no or another content
//! type → 415, over the limit → 413, malformed → 400 `INVALID_JSON`, well
//! formed but wrong type / missing / unknown field → 422 `VALIDATION_ERROR`
//! naming the field (and never echoing the submitted value).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use azth_core::{ErrorCode, FieldError};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON body parsed with azth's error mapping.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

/// Whether the request declares a JSON body (`application/json` or `application/*+json`).
pub fn has_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mime = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !has_json_content_type(req.headers()) {
            return Err(ApiError::new(ErrorCode::UnsupportedMediaType));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status().as_u16() == 413 {
                ApiError::new(ErrorCode::PayloadTooLarge)
            } else {
                ApiError::new(ErrorCode::InvalidJson).with_detail("the request body could not be read")
            }
        })?;
        parse(&bytes).map(ApiJson)
    }
}

/// Parses a JSON document into `T` with the API's error mapping.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(v) => v,
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            return Err(match inner.classify() {
                serde_json::error::Category::Data => ApiError::validation(vec![field_error(&path, &inner)]),
                _ => ApiError::new(ErrorCode::InvalidJson),
            });
        }
    };
    de.end().map_err(|_| ApiError::new(ErrorCode::InvalidJson))?;
    Ok(value)
}

/// Turns serde's message into a field error that does not echo the value.
fn field_error(path: &str, err: &serde_json::Error) -> FieldError {
    let message = err.to_string();
    // serde_json appends " at line L column C"; the position is of no use to clients.
    let message = match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message.as_str(),
    };
    let base = if path == "." { String::new() } else { path.to_owned() };
    let join = |name: &str| if base.is_empty() { name.to_owned() } else { format!("{base}.{name}") };
    let quoted = |s: &str| s.split('`').nth(1).map(str::to_owned);
    let expected = |s: &str| s.rsplit_once(", expected ").map(|(_, e)| format!("expected {e}"));
    let field_or_body = if base.is_empty() { "body".to_owned() } else { base.clone() };
    if let Some(rest) = message.strip_prefix("missing field ") {
        let name = quoted(rest).unwrap_or_default();
        FieldError::new(join(&name), "missing", "is required")
    } else if let Some(rest) = message.strip_prefix("unknown field ") {
        // The path already ends with the unknown field's name.
        let field = if base.is_empty() { quoted(rest).unwrap_or_default() } else { base.clone() };
        FieldError::new(field, "unknown_field", "is not a known field")
    } else if message.starts_with("invalid type") {
        FieldError::new(field_or_body, "invalid_type", expected(message).unwrap_or_else(|| "has the wrong type".into()))
    } else if message.starts_with("invalid value") || message.starts_with("unknown variant") {
        FieldError::new(
            field_or_body,
            "invalid_value",
            expected(message).unwrap_or_else(|| "is not an allowed value".into()),
        )
    } else if message.starts_with("invalid length") {
        FieldError::new(
            field_or_body,
            "invalid_length",
            expected(message).unwrap_or_else(|| "has the wrong length".into()),
        )
    } else {
        // Custom messages come from azth's own Deserialize impls, which never echo input.
        FieldError::new(field_or_body, "invalid", message.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        email: String,
        age: u32,
        nested: Option<Nested>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Nested {
        flag: bool,
    }

    fn err(body: &str) -> ApiError {
        parse::<Body>(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn syntax_errors_are_invalid_json() {
        assert_eq!(err("{").code, ErrorCode::InvalidJson);
        assert_eq!(err("not json").code, ErrorCode::InvalidJson);
        assert_eq!(err(r#"{"email":"a","age":1} trailing"#).code, ErrorCode::InvalidJson);
        assert_eq!(err("").code, ErrorCode::InvalidJson);
    }

    #[test]
    fn data_errors_name_the_field_without_echoing() {
        let e = err(r#"{"email":"a","age":"hunter2"}"#);
        assert_eq!(e.code, ErrorCode::ValidationError);
        assert_eq!(e.errors[0].field, "age");
        assert_eq!(e.errors[0].code, "invalid_type");
        assert!(!e.errors[0].message.contains("hunter2"), "{:?}", e.errors);

        let e = err(r#"{"age":1}"#);
        assert_eq!((e.errors[0].field.as_str(), e.errors[0].code.as_str()), ("email", "missing"));

        let e = err(r#"{"email":"a","age":1,"admin":true}"#);
        assert_eq!((e.errors[0].field.as_str(), e.errors[0].code.as_str()), ("admin", "unknown_field"));

        let e = err(r#"{"email":"a","age":1,"nested":{"flag":"yes"}}"#);
        assert_eq!(e.errors[0].field, "nested.flag");

        let e = err(r#""a string""#);
        assert_eq!((e.errors[0].field.as_str(), e.code), ("body", ErrorCode::ValidationError));
    }

    #[test]
    fn content_types() {
        let mut h = HeaderMap::new();
        assert!(!has_json_content_type(&h));
        h.insert(header::CONTENT_TYPE, "application/json; charset=utf-8".parse().unwrap());
        assert!(has_json_content_type(&h));
        h.insert(header::CONTENT_TYPE, "application/merge-patch+json".parse().unwrap());
        assert!(has_json_content_type(&h));
        h.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert!(!has_json_content_type(&h));
    }
}
