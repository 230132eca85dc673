//! Query strings of list endpoints: read leniently (unknown parameters are
//! ignored), with typed accessors that answer 422 naming the parameter.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use azth_core::FieldError;
use uuid::Uuid;

use super::error::ApiError;
use crate::services::page::PageParams;

/// The query parameters of a request (the last value of a repeated one wins).
#[derive(Debug, Default)]
pub struct Params(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state).await.map_err(|_| {
            ApiError::validation(vec![FieldError::new("query", "invalid", "the query string cannot be read")])
        })?;
        Ok(Params(pairs.into_iter().collect()))
    }
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::validation(vec![FieldError::new(field, "invalid_value", message)])
}

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// `limit` and `cursor`.
    pub fn page(&self) -> Result<PageParams, ApiError> {
        PageParams::parse(self.get("limit"), self.get("cursor"))
    }

    /// A boolean flag: `true`/`false` (or `1`/`0`); absent = false.
    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(false),
            Some("true" | "1") => Ok(true),
            Some("false" | "0") => Ok(false),
            Some(_) => Err(invalid(name, "must be true or false")),
        }
    }

    /// A value parsed by `parse`, or 422.
    pub fn parsed<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Option<T>,
        message: &str,
    ) -> Result<Option<T>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(raw) => parse(raw).map(Some).ok_or_else(|| invalid(name, message)),
        }
    }
}

/// A path id: anything but a UUID names no resource (404).
pub fn path_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::new(azth_core::ErrorCode::NotFound))
}
