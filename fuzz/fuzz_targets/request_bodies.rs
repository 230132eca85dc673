//! Every JSON request body of the API through the handlers' parser: a
//! problem+json error or a value, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = azth_server::http::parse_every_body(data);
});
