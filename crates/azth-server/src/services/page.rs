//! Lists (API.md "Lists"): `limit` 1–200 (default 50), an opaque keyset
//! `cursor`, answers `{"items", "next_cursor"}`. Large lists page in SQL
//! (`WHERE key > cursor ORDER BY key LIMIT n+1`); the small per-resource
//! collections (a user's sessions and roles, a role's permissions, the
//! catalog) are read whole and paged here with the same keyset rule.

use azth_core::{FieldError, cursor};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::http::ApiError;

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 50;
/// Largest page size.
pub const MAX_LIMIT: i64 = 200;

/// A page request: how many rows, after which position.
#[derive(Debug, Clone, Default)]
pub struct PageParams {
    pub limit: i64,
    pub cursor: Option<String>,
}

impl PageParams {
    /// Parses `limit` and `cursor` query values; out of range → 422.
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, ApiError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(raw) => match raw.trim().parse::<i64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(ApiError::validation(vec![FieldError::new(
                        "limit",
                        "out_of_range",
                        "must be an integer between 1 and 200",
                    )]));
                }
            },
        };
        Ok(Self { limit, cursor: cursor.map(str::to_owned) })
    }

    /// The decoded position of list `kind`; a cursor azth did not issue → 422.
    pub fn after<K: DeserializeOwned>(&self, kind: &str) -> Result<Option<K>, ApiError> {
        match &self.cursor {
            None => Ok(None),
            Some(c) => cursor::decode(kind, c).map(Some).ok_or_else(|| {
                ApiError::validation(vec![FieldError::new("cursor", "invalid", "is not a cursor of this list")])
            }),
        }
    }

    /// How many rows to fetch: one more than the page, to know if more follow.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The `cursor` of the next page; null on the last one.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Cuts `rows` (fetched with [`PageParams::fetch`]) to the page and
    /// names the cursor after its last row when more rows follow.
    pub fn from_rows<K: Serialize>(mut rows: Vec<T>, params: &PageParams, kind: &str, key: impl Fn(&T) -> K) -> Self {
        let limit = usize::try_from(params.limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if more { rows.last().map(|last| cursor::encode(kind, &key(last))) } else { None };
        Self { items: rows, next_cursor }
    }

    /// Pages a whole collection already sorted by `key` (ascending, or
    /// descending when `descending`).
    pub fn from_sorted<K>(
        all: Vec<T>,
        params: &PageParams,
        kind: &str,
        descending: bool,
        key: impl Fn(&T) -> K,
    ) -> Result<Self, ApiError>
    where
        K: Serialize + DeserializeOwned + Ord,
    {
        let after: Option<K> = params.after(kind)?;
        let rows: Vec<T> = all
            .into_iter()
            .filter(|item| match &after {
                None => true,
                Some(pos) if descending => key(item) < *pos,
                Some(pos) => key(item) > *pos,
            })
            .take(usize::try_from(params.fetch()).unwrap_or(usize::MAX))
            .collect();
        Ok(Self::from_rows(rows, params, kind, key))
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(PageParams::parse(None, None).unwrap().limit, 50);
        assert_eq!(PageParams::parse(Some("200"), None).unwrap().limit, 200);
        for bad in ["0", "201", "-1", "x", ""] {
            assert!(PageParams::parse(Some(bad), None).is_err(), "{bad}");
        }
    }

    #[test]
    fn sorted_collections_page_exactly_once() {
        let all: Vec<u32> = (0..7).collect();
        let mut params = PageParams::parse(Some("3"), None).unwrap();
        let mut seen = Vec::new();
        loop {
            let page = Page::from_sorted(all.clone(), &params, "n", false, |n| *n).unwrap();
            seen.extend(page.items);
            match page.next_cursor {
                Some(c) => params.cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, all);
        params.cursor = Some("bogus".into());
        assert!(Page::from_sorted(all, &params, "n", false, |n| *n).is_err());
    }
}
