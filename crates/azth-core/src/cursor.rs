//! Opaque list cursors (API.md "Lists"): keyset positions encoded as
//! base64url JSON tagged with the list they belong to, so a cursor of one
//! list, or anything azth did not issue, is refused instead of guessed at.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Encodes the position `key` of list `kind`.
pub fn encode<K: Serialize>(kind: &str, key: &K) -> String {
    let body = serde_json::json!({"k": kind, "p": key});
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&body).unwrap_or_default())
}

/// Decodes a cursor of list `kind`; `None` when it is not one azth issued for it.
pub fn decode<K: DeserializeOwned>(kind: &str, cursor: &str) -> Option<K> {
    if cursor.is_empty() || cursor.len() > 1024 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    if value.get("k")?.as_str()? != kind {
        return None;
    }
    serde_json::from_value(value.get("p")?.clone()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let c = encode("users", &("2024-01-01T00:00:00Z", "x"));
        assert_eq!(decode::<(String, String)>("users", &c), Some(("2024-01-01T00:00:00Z".into(), "x".into())));
        assert_eq!(decode::<(String, String)>("roles", &c), None);
        assert_eq!(decode::<(String, String)>("users", "garbage!"), None);
        assert_eq!(decode::<(String, String)>("users", ""), None);
        assert_eq!(decode::<u32>("users", &c), None);
    }
}
