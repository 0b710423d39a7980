//! How long to wait before a retry: the backoff formula.
//!
//! Pure functions of the settings, the retry number and the clock, so every rule is tested
//! without a network or a timer.

use std::time::Duration;

// tokio's clock, so that a paused runtime (tests, the simulator) moves every wait and deadline.
use tokio::time::Instant;

use crate::RetrySettings;

/// The computed wait before retry `retry` (1-based): `backoff_factor × 2^(retry−2)` seconds,
/// plus `unit × backoff_jitter`, capped at `backoff_max`. `unit` is a random draw from
/// `[0, 1)`, a parameter so that this stays a pure function.
///
/// This is the Python connector's documented table (factor 2: 1, 2, 4, 8, 16 s), not
/// urllib3's own formula (0, 4, 8, 16, 32 s).
pub(crate) fn backoff(settings: &RetrySettings, retry: u32, unit: f64) -> Duration {
    let cap = settings.backoff_max;
    let base = if settings.backoff_factor <= 0.0 || retry == 0 {
        Duration::ZERO
    } else {
        // Past 2^1100 every finite factor is beyond any cap, and powi's exponent is an i32.
        let exponent = retry.min(1100) as i32 - 2;
        let secs = settings.backoff_factor * 2f64.powi(exponent);
        Duration::try_from_secs_f64(secs).unwrap_or(cap)
    };
    let jitter = settings.backoff_jitter.mul_f64(unit.clamp(0.0, 1.0));
    base.saturating_add(jitter).min(cap)
}

/// Thirty years: how far ahead a wait the clock cannot represent is put.
const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// `now + wait`, or tokio's own "far future" for a wait beyond what the clock can represent.
pub(crate) fn later(now: Instant, wait: Duration) -> Instant {
    now.checked_add(wait).unwrap_or(now + FAR_FUTURE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(factor: f64, cap_secs: u64) -> RetrySettings {
        RetrySettings {
            backoff_factor: factor,
            backoff_max: Duration::from_secs(cap_secs),
            ..RetrySettings::default()
        }
    }

    #[test]
    fn backoff_follows_seed_table() {
        let s = settings(2.0, 120);
        let secs: Vec<f64> = (1..=5).map(|n| backoff(&s, n, 0.0).as_secs_f64()).collect();
        assert_eq!(secs, [1.0, 2.0, 4.0, 8.0, 16.0]);
    }

    #[test]
    fn backoff_first_retry_is_half_the_factor() {
        assert_eq!(
            backoff(&settings(1.0, 120), 1, 0.0),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn backoff_capped_at_backoff_max() {
        assert_eq!(backoff(&settings(2.0, 10), 6, 0.0), Duration::from_secs(10));
    }

    #[test]
    fn backoff_never_overflows() {
        let s = settings(f64::MAX, 120);
        for retry in [1000, u32::MAX / 2, u32::MAX] {
            assert_eq!(backoff(&s, retry, 0.999), Duration::from_secs(120));
        }
        assert_eq!(backoff(&settings(0.0, 120), u32::MAX, 0.0), Duration::ZERO);
        assert_eq!(backoff(&settings(1e-300, 120), 3, 0.0), Duration::ZERO);
    }

    #[test]
    fn jitter_added_within_its_range_and_capped() {
        let s = RetrySettings {
            backoff_jitter: Duration::from_secs(1),
            ..settings(2.0, 120)
        };
        assert_eq!(backoff(&s, 1, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(&s, 1, 0.5), Duration::from_millis(1500));
        let capped = RetrySettings {
            backoff_max: Duration::from_millis(1200),
            ..s
        };
        assert_eq!(backoff(&capped, 1, 0.5), Duration::from_millis(1200));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn settings(factor: f64, jitter_ms: u64, cap_ms: u64) -> RetrySettings {
        RetrySettings {
            backoff_factor: factor,
            backoff_jitter: Duration::from_millis(jitter_ms),
            backoff_max: Duration::from_millis(cap_ms),
            ..RetrySettings::default()
        }
    }

    proptest! {
        #[test]
        fn jittered_wait_within_base_and_cap(
            factor in 0.0..1e6f64,
            jitter_ms in 0..100_000u64,
            cap_ms in 0..10_000_000u64,
            retry in 1..2000u32,
            unit in 0.0..1.0f64,
        ) {
            let s = settings(factor, jitter_ms, cap_ms);
            let base = backoff(&s, retry, 0.0);
            let wait = backoff(&s, retry, unit);
            prop_assert!(base <= s.backoff_max);
            prop_assert!(wait >= base);
            prop_assert!(wait <= (base + s.backoff_jitter).min(s.backoff_max));
        }

        /// Any settings, unvalidated too (NaN, infinite or negative factors, the longest caps
        /// and jitters), at any retry: no overflow, no panic, never above the cap.
        #[test]
        fn no_overflow_or_nan_at_any_retry(
            factor in prop_oneof![0.0..f64::MAX, any::<f64>()],
            cap in prop_oneof![
                Just(Duration::from_secs(120)),
                any::<u64>().prop_map(Duration::from_nanos),
                any::<u64>().prop_map(Duration::from_secs),
                Just(Duration::MAX),
            ],
            jitter in prop_oneof![any::<u64>().prop_map(Duration::from_nanos), Just(Duration::MAX)],
            retry in any::<u32>(),
            unit in 0.0..1.0f64,
        ) {
            let s = RetrySettings {
                backoff_factor: factor,
                backoff_max: cap,
                backoff_jitter: jitter,
                ..RetrySettings::default()
            };
            prop_assert!(backoff(&s, retry, unit) <= cap);
        }
    }

    #[test]
    fn retry_1000_is_finite_and_capped() {
        let s = settings(1.0, 500, 120_000);
        assert_eq!(backoff(&s, 1000, 0.999), Duration::from_secs(120));
    }
}
