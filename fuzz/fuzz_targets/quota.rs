//! Pacing's rate-limit parser (`RateLimit`, `RateLimit-Policy`, the `RateLimit-*` trio and
//! `X-RateLimit-*`) never panics, and never states a reset it cannot hold.
#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;

/// The end of year 9999.
const LAST_DATE: u64 = 253_402_300_800;

fuzz_target!(|data: &[u8]| {
    // 8 bytes of clock, 1 of flags, then eight values split at 0xff.
    if data.len() < 9 {
        return;
    }
    let (head, rest) = data.split_at(9);
    let clock = u64::from_le_bytes(head[..8].try_into().unwrap()) % LAST_DATE;
    let epoch = head[8] & 1 == 1;
    let mut values = rest.split(|&b| b == 0xff);
    let mut next = || values.next().unwrap_or_default();
    let values = [next(), next(), next(), next(), next(), next(), next(), next()];
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(clock);
    let _ = api_toolkit::__private::pacing_quota(values, epoch, now);
});
