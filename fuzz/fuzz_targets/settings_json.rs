//! `RetrySettings` deserialization never panics; what it accepts is valid and reads back.
#![no_main]

use api_toolkit::RetrySettings;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(settings) = serde_json::from_slice::<RetrySettings>(data) else {
        return;
    };
    assert!(
        settings.validate().is_ok(),
        "accepted but invalid: {settings:?}"
    );
    let json = serde_json::to_vec(&settings).expect("settings serialize");
    let again: RetrySettings = serde_json::from_slice(&json).expect("what was accepted reads back");
    assert!(again.validate().is_ok());
});
