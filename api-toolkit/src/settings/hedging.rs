//! [`Hedging`]: the settings of hedged requests (the race itself is `crate::hedge`).

use std::time::Duration;

use super::validate::Number;
use super::SettingsError;

/// Sends a copy of a slow attempt instead of waiting for it: hedged requests, against tail
/// latency.
///
/// When an attempt has no response after `delay`, the call sends the same request again, on
/// another connection, while the first one still runs; after each further `delay` without an
/// answer it sends another, up to `max_hedged` copies in flight beside the first. The first
/// response that the rules would not retry wins; the others are cancelled (dropped, their
/// connections closed). A response the rules would retry (a 503, a connection reset) does not
/// win: the call waits for the copies still in flight, and when all of them have ended that way
/// it retries, or gives up, by the usual rules.
///
/// Only requests that may be sent twice are hedged: methods of `allowed_methods` that are
/// idempotent (GET, HEAD, OPTIONS, TRACE, PUT, DELETE), and POST or PATCH only when the request
/// carries an `Idempotency-Key` and the rules would resend it (in `allowed_methods`, or with
/// `keyed_retries`). Every copy carries the same `Idempotency-Key`. A streaming body is never
/// hedged, whatever `replay_limit` says.
///
/// Each copy is an attempt: it counts against `1 + max_retries` (so `max_retries = 0` sends no
/// copy), against the retry budget, and through the circuit breaker; the record has one
/// [`AttemptRecord`](crate::AttemptRecord) per copy
/// ([`WaitSource::Hedge`](crate::WaitSource::Hedge) for its start,
/// [`AttemptOutcome::Cancelled`](crate::AttemptOutcome::Cancelled) for a copy that lost), and
/// [`Stats`](crate::Stats) counts `hedges` and `hedges_won`. A call can leave hedging out with
/// [`RequestBuilder::no_hedging`](crate::RequestBuilder::no_hedging).
///
/// The session's own client (and a tower service given to it, and the blocking session) hedge;
/// a reqwest-middleware chain (`middleware::RetryMiddleware`), whose rest of the chain runs one
/// attempt at a time, and the policy simulator do not. Over HTTP/2, copies share the host's connection as
/// separate streams (a cancelled copy resets its stream).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use api_toolkit::{Hedging, RetrySettings};
///
/// // A copy after 50 ms without an answer, at most one copy at a time.
/// let settings = RetrySettings {
///     max_retries: 2,
///     hedging: Some(Hedging { delay: Duration::from_millis(50), ..Hedging::default() }),
///     ..RetrySettings::idempotent()
/// };
/// // Or the host's recent 95th percentile, at least 10 ms.
/// let adaptive = Hedging { delay: Duration::from_millis(10), quantile: Some(0.95), ..Hedging::default() };
/// assert!(RetrySettings { hedging: Some(adaptive), ..settings.clone() }.validate().is_ok());
/// assert!(settings.validate().is_ok());
/// let zero = Hedging { delay: Duration::ZERO, ..Hedging::default() };
/// let err = RetrySettings { hedging: Some(zero), ..settings }.validate().unwrap_err();
/// assert_eq!(err.field(), "hedging.delay");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hedging {
    /// How long an attempt runs without a response before a copy is sent, and between copies:
    /// between 1 ms and 1 hour. Near the host's 95th-percentile latency, copies go to about
    /// one call in twenty.
    pub delay: Duration,
    /// The most copies a call sends for one attempt, beside it: between 1 and 10. Each also
    /// counts against `max_retries`.
    pub max_hedged: u32,
    /// An adaptive delay: the `quantile` (`0.95` is the 95th percentile) of the latencies of
    /// the host's recent answers to hedged calls (the last 128 attempts of the session's calls
    /// to that origin), at least `delay` (which also applies until 20 answers are known). For a
    /// host whose latency changes: a copy goes to about `1 − quantile` of the calls. Between 0
    /// and 1, both excluded; `None`, the default: the delay is `delay`.
    pub quantile: Option<f64>,
}

impl Default for Hedging {
    /// One copy after 100 ms.
    fn default() -> Self {
        Hedging {
            delay: Duration::from_millis(100),
            max_hedged: 1,
            quantile: None,
        }
    }
}

/// The shortest `delay`.
pub(crate) const MIN_DELAY: Duration = Duration::from_millis(1);
/// The longest `delay`.
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(3600);
/// The most `max_hedged`.
pub(crate) const MAX_HEDGED: u32 = 10;

impl Hedging {
    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        if !(MIN_DELAY..=MAX_DELAY).contains(&self.delay) {
            return Err(SettingsError::new(
                "hedging.delay",
                Number(self.delay.as_secs_f64()),
                "expected between 0.001 and 3600 seconds (1 ms to 1 hour)",
            ));
        }
        if !(1..=MAX_HEDGED).contains(&self.max_hedged) {
            return Err(SettingsError::new(
                "hedging.max_hedged",
                self.max_hedged,
                "expected between 1 and 10 copies",
            ));
        }
        if let Some(quantile) = self.quantile {
            if !(quantile.is_finite() && quantile > 0.0 && quantile < 1.0) {
                return Err(SettingsError::new(
                    "hedging.quantile",
                    Number(quantile),
                    "expected a number between 0 and 1, both excluded (0.95: the 95th percentile \
                     of the host's recent latencies)",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_values_name_the_field_and_the_value() {
        let cases = [
            (
                Hedging {
                    delay: Duration::ZERO,
                    ..Hedging::default()
                },
                ("hedging.delay", "0"),
            ),
            (
                Hedging {
                    delay: Duration::from_micros(999),
                    ..Hedging::default()
                },
                ("hedging.delay", "0.000999"),
            ),
            (
                Hedging {
                    delay: Duration::from_secs(3601),
                    ..Hedging::default()
                },
                ("hedging.delay", "3601"),
            ),
            (
                Hedging {
                    max_hedged: 0,
                    ..Hedging::default()
                },
                ("hedging.max_hedged", "0"),
            ),
            (
                Hedging {
                    max_hedged: 11,
                    ..Hedging::default()
                },
                ("hedging.max_hedged", "11"),
            ),
            (
                Hedging {
                    quantile: Some(1.0),
                    ..Hedging::default()
                },
                ("hedging.quantile", "1"),
            ),
            (
                Hedging {
                    quantile: Some(f64::NAN),
                    ..Hedging::default()
                },
                ("hedging.quantile", "NaN"),
            ),
        ];
        for (hedging, (field, value)) in cases {
            let error = hedging.validate().unwrap_err();
            assert_eq!((error.field(), error.value()), (field, value));
        }
        for fine in [
            Hedging::default(),
            Hedging {
                delay: MIN_DELAY,
                max_hedged: MAX_HEDGED,
                quantile: Some(0.5),
            },
            Hedging {
                delay: MAX_DELAY,
                max_hedged: 1,
                quantile: Some(0.999),
            },
        ] {
            assert_eq!(fine.validate(), Ok(()));
        }
    }
}
