//! Rate-limit headers: when the quota resets, and whether any of it remains.

use std::time::{Duration, SystemTime};

use crate::ResetForm;

/// The wait until the reset a header value states, read in `form`. `None` when the value is
/// malformed or the reset is not ahead (a past epoch, zero seconds): the computed backoff
/// then applies. A reset too far ahead for the clock means "very long".
pub(crate) fn parse_reset(value: &[u8], form: ResetForm, now: SystemTime) -> Option<Duration> {
    let secs = super::decimal(value)?;
    let Ok(secs) = Duration::try_from_secs_f64(secs) else {
        return Some(Duration::MAX);
    };
    let wait = match form {
        ResetForm::DeltaSeconds => secs,
        // Not rounded up to whole seconds: the wait ends at the reset instant.
        ResetForm::EpochSeconds => match SystemTime::UNIX_EPOCH.checked_add(secs) {
            Some(reset) => reset.duration_since(now).ok()?,
            None => Duration::MAX,
        },
    };
    (!wait.is_zero()).then_some(wait)
}

/// Whether a remaining-requests value says that nothing remains: `0` (`0.0` too).
pub(crate) fn nothing_remains(value: &[u8]) -> bool {
    super::decimal(value) == Some(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: f64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs_f64(secs)
    }

    #[test]
    fn epoch_reset_waits_until_the_instant() {
        let now = at(1_700_000_000.25);
        assert_eq!(
            parse_reset(b"1700000001", ResetForm::EpochSeconds, now),
            Some(Duration::from_millis(750)),
            "not rounded to whole seconds"
        );
        assert_eq!(
            parse_reset(b"1700000000", ResetForm::EpochSeconds, now),
            None,
            "past"
        );
        assert_eq!(
            parse_reset(b"1700000000.25", ResetForm::EpochSeconds, now),
            None,
            "now"
        );
    }

    #[test]
    fn delta_reset_waits_the_seconds() {
        let now = at(5.0);
        assert_eq!(
            parse_reset(b" 30 ", ResetForm::DeltaSeconds, now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(parse_reset(b"0", ResetForm::DeltaSeconds, now), None);
        assert_eq!(
            parse_reset(b"1.5", ResetForm::DeltaSeconds, now),
            Some(Duration::from_millis(1500))
        );
    }

    #[test]
    fn malformed_or_huge_resets() {
        for form in [ResetForm::EpochSeconds, ResetForm::DeltaSeconds] {
            for bad in [&b""[..], b"-1", b"soon", b"1e9", b"12 s", b"\xff"] {
                assert_eq!(parse_reset(bad, form, at(0.0)), None, "{bad:?}");
            }
            let years = "99999999999999999999999999";
            assert_eq!(
                parse_reset(years.as_bytes(), form, at(0.0)),
                Some(Duration::MAX)
            );
        }
    }

    #[test]
    fn nothing_remains_only_at_zero() {
        assert!(nothing_remains(b"0") && nothing_remains(b" 0 ") && nothing_remains(b"0.0"));
        for other in [&b"1"[..], b"", b"-0", b"none", b"00x"] {
            assert!(!nothing_remains(other), "{other:?}");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn reset_parser_never_panics_nor_waits_zero(
            bytes in proptest::collection::vec(any::<u8>(), 0..40),
            epoch in any::<bool>(),
            now in any::<u64>(),
        ) {
            let form = if epoch { ResetForm::EpochSeconds } else { ResetForm::DeltaSeconds };
            let now = SystemTime::UNIX_EPOCH + Duration::from_secs(now % 10_000_000_000);
            if let Some(wait) = parse_reset(&bytes, form, now) {
                prop_assert!(!wait.is_zero());
            }
            let _ = nothing_remains(&bytes);
        }

        #[test]
        fn epoch_reset_is_the_time_until_it(reset in 0..253_402_300_800u64, now in 0..253_402_300_800u64) {
            let at = |secs| SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
            let expected = (reset > now).then(|| Duration::from_secs(reset - now));
            let value = reset.to_string();
            prop_assert_eq!(parse_reset(value.as_bytes(), ResetForm::EpochSeconds, at(now)), expected);
        }
    }
}
