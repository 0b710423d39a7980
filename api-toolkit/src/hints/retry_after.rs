//! `Retry-After` and `retry-after-ms`: the wait a server asks for before the next request.

use std::time::{Duration, SystemTime};

/// The wait a `Retry-After` value asks for, if it states a preference.
///
/// Accepts delta-seconds (`120`) and an HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`), with
/// surrounding white space. `None` when the value is malformed, zero or a date already past:
/// the computed backoff then applies. Delta-seconds too large for a `u64` mean "very long".
pub(crate) fn parse_retry_after(value: &[u8], now: SystemTime) -> Option<Duration> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let wait = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        Duration::from_secs(text.parse().unwrap_or(u64::MAX))
    } else {
        let date = httpdate::parse_http_date(text).ok()?;
        date.duration_since(now).unwrap_or(Duration::ZERO)
    };
    (!wait.is_zero()).then_some(wait)
}

/// The wait a `retry-after-ms` value asks for (OpenAI, Azure): milliseconds, a fraction
/// allowed, with surrounding white space. `None` when it is malformed (a sign, a unit, not a
/// number) or zero, as for `Retry-After`; a value too large for a `Duration` means "very long".
pub(crate) fn parse_retry_after_ms(value: &[u8]) -> Option<Duration> {
    let millis = super::decimal(value)?;
    let wait = Duration::try_from_secs_f64(millis / 1000.0).unwrap_or(Duration::MAX);
    (!wait.is_zero()).then_some(wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn retry_after_delta_seconds() {
        assert_eq!(parse_retry_after(b"3", at(0)), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(b" 7 ", at(0)),
            Some(Duration::from_secs(7))
        );
    }

    #[test]
    fn retry_after_http_date() {
        let now = at(1_445_412_470); // 10 s before the date below
        let wait = parse_retry_after(b"Wed, 21 Oct 2015 07:28:00 GMT", now);
        assert_eq!(wait, Some(Duration::from_secs(10)));
    }

    #[test]
    fn retry_after_zero_or_past_is_no_preference() {
        assert_eq!(parse_retry_after(b"0", at(0)), None);
        assert_eq!(
            parse_retry_after(b"Wed, 21 Oct 2015 07:28:00 GMT", at(2_000_000_000)),
            None
        );
    }

    #[test]
    fn retry_after_malformed_ignored() {
        for bad in [&b""[..], b"-1", b"1.5", b"soon", b"3 s", b"\xff\xfe"] {
            assert_eq!(parse_retry_after(bad, at(0)), None, "{bad:?}");
        }
    }

    #[test]
    fn retry_after_huge_means_very_long() {
        let wait = parse_retry_after(b"99999999999999999999999999", at(0));
        assert_eq!(wait, Some(Duration::from_secs(u64::MAX)));
    }

    #[test]
    fn retry_after_ms_read_as_milliseconds() {
        assert_eq!(
            parse_retry_after_ms(b"1500"),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after_ms(b" 2.5 "),
            Some(Duration::from_micros(2500))
        );
        assert_eq!(parse_retry_after_ms(b"1e400"), None, "not a decimal number");
        let huge = "9".repeat(400);
        assert_eq!(parse_retry_after_ms(huge.as_bytes()), Some(Duration::MAX));
        for bad in [
            &b""[..],
            b"0",
            b"0.0",
            b"-5",
            b"+5",
            b"5ms",
            b"soon",
            b".",
            b"1.2.3",
            b"\xff",
        ] {
            assert_eq!(parse_retry_after_ms(bad), None, "{bad:?}");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn retry_after_delta_seconds_read_exactly(secs in any::<u64>(), pad in "[ \t]{0,3}") {
            let value = format!("{pad}{secs}{pad}");
            let expected = (secs > 0).then(|| Duration::from_secs(secs));
            prop_assert_eq!(parse_retry_after(value.as_bytes(), SystemTime::UNIX_EPOCH), expected);
        }

        #[test]
        fn retry_after_date_is_the_time_until_it(
            date in 0..253_402_300_800u64, // up to the end of year 9999
            now in 0..253_402_300_800u64,
        ) {
            let at = |secs| SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
            let value = httpdate::fmt_http_date(at(date));
            let expected = (date > now).then(|| Duration::from_secs(date - now));
            prop_assert_eq!(parse_retry_after(value.as_bytes(), at(now)), expected);
        }

        #[test]
        fn retry_after_parser_never_panics_on_any_string(text in "\\PC{0,40}", secs in any::<u64>()) {
            let now = SystemTime::UNIX_EPOCH + Duration::from_secs(secs % 10_000_000_000);
            if let Some(wait) = parse_retry_after(text.as_bytes(), now) {
                prop_assert!(!wait.is_zero());
            }
        }

        #[test]
        fn retry_after_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64), secs in any::<u64>()) {
            let now = SystemTime::UNIX_EPOCH + Duration::from_secs(secs % 10_000_000_000);
            if let Some(wait) = parse_retry_after(&bytes, now) {
                prop_assert!(!wait.is_zero());
            }
        }

        #[test]
        fn retry_after_ms_read_exactly(millis in any::<u64>(), pad in "[ \t]{0,3}") {
            let value = format!("{pad}{millis}{pad}");
            let parsed = parse_retry_after_ms(value.as_bytes());
            prop_assert_eq!(parsed.is_some(), millis > 0);
            if let Some(wait) = parsed {
                // Through an f64: exact below 2^53 ms, within a part in 2^52 above.
                let expected = Duration::from_millis(millis).as_secs_f64();
                prop_assert!((wait.as_secs_f64() - expected).abs() <= expected * 1e-15);
            }
        }

        #[test]
        fn retry_after_ms_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Some(wait) = parse_retry_after_ms(&bytes) {
                prop_assert!(!wait.is_zero());
            }
        }
    }
}
