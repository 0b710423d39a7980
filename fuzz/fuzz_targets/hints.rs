//! The server hints (`retry-after-ms`, a rate-limit reset, should-retry, with `Retry-After`)
//! never panic the decision, and never make a wait longer than `retry_after_max`.
#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;

/// The end of year 9999.
const LAST_DATE: u64 = 253_402_300_800;

fuzz_target!(|data: &[u8]| {
    // 8 bytes of clock, 2 of status, 1 of flags and cap, then five values split at 0xff.
    if data.len() < 11 {
        return;
    }
    let (head, rest) = data.split_at(11);
    let clock = u64::from_le_bytes(head[..8].try_into().unwrap()) % LAST_DATE;
    let status = 100 + u16::from_le_bytes([head[8], head[9]]) % 500;
    let epoch = head[10] & 1 == 1;
    let cap = Duration::from_secs(u64::from(head[10] >> 1));
    let mut values = rest.split(|&b| b == 0xff);
    let mut next = || values.next().unwrap_or_default();
    let values = [next(), next(), next(), next(), next()];
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(clock);
    if let Some(wait) = api_toolkit::__private::hinted_wait(status, values, epoch, cap, now) {
        // A backoff is at most `backoff_max`; a server's wait at most the cap.
        assert!(wait <= cap.max(Duration::from_secs(120)), "{wait:?} for {values:?}");
    }
});
