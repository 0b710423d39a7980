//! The `Retry-After` parser never panics, and a wait it returns is never zero.
#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;

/// The end of year 9999, the last date an HTTP-date can name.
const LAST_DATE: u64 = 253_402_300_800;

fuzz_target!(|data: &[u8]| {
    // The first 8 bytes set the clock, the rest is the header value.
    let (clock, value) = data.split_at(data.len().min(8));
    let mut secs = [0u8; 8];
    secs[..clock.len()].copy_from_slice(clock);
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from_le_bytes(secs) % LAST_DATE);
    if let Some(wait) = api_toolkit::__private::parse_retry_after(value, now) {
        assert!(!wait.is_zero(), "zero means no preference: {value:?}");
    }
});
