//! Tenant settings as PATCH /tenant sends them: read leniently, validated
//! strictly, never a panic.
#![no_main]

use azth_core::model::TenantSettings;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let _ = TenantSettings::from_json(&value).validate();
    if let Ok(settings) = serde_json::from_value::<TenantSettings>(value) {
        let _ = settings.validate();
        let _ = serde_json::to_value(&settings);
    }
});
