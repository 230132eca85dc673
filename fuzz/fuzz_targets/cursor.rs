//! Paging parameters and opaque cursors as clients send them back.
#![no_main]

use azth_server::services::page::PageParams;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (limit, cursor) = text.split_once('\n').unwrap_or(("50", text));
    if let Ok(params) = PageParams::parse(Some(limit), Some(cursor)) {
        let _ = params.after::<(String, uuid::Uuid)>("roles");
        let _ = params.after::<(chrono::DateTime<chrono::Utc>, uuid::Uuid)>("users");
    }
});
