//! [`CircuitBreaker`]: the settings of the per-host circuit breaker (the state is in
//! `crate::state::breaker`).

use std::time::Duration;

use super::validate::Number;
use super::SettingsError;

/// Stops calling a host that keeps failing, for a while, instead of adding load to it: a
/// circuit breaker per origin (scheme, host, port), shared by the clones of a session.
///
/// *Closed* (the normal state): every attempt is sent, and its outcome is counted over the last
/// `window`. When at least `min_attempts` attempts were counted and the share of failures
/// reaches `failure_ratio` (`>=`), the breaker *opens*: for `break_duration`, calls to that
/// host fail at once with [`ErrorKind::CircuitOpen`](crate::ErrorKind::CircuitOpen), sending
/// nothing. Then it is *half-open*: the next `half_open_probes` attempts are sent as probes
/// (others are refused meanwhile); when all of them succeed it closes, and the first that
/// fails opens it again for another `break_duration`.
///
/// The breaker counts attempts, not calls: each attempt's outcome says something about the
/// host. A failure is a status of the call's `status_forcelist` (with `count_statuses`), a
/// connection that could not be established or broke (with `count_connection_failures`), or a
/// timeout (with `count_timeouts`); every other response is a success. A failure of your own
/// tower service or middleware counts as neither.
///
/// A retry that an open breaker refuses ends the call as if its retries were exhausted
/// ([`GiveUp::CircuitOpen`](crate::GiveUp::CircuitOpen)): the last response is returned, or
/// raised with `raise_on_status`, as exhaustion would. A call can leave the breaker out with
/// [`RequestBuilder::no_circuit_breaker`](crate::RequestBuilder::no_circuit_breaker).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use api_toolkit::{CircuitBreaker, RetrySettings};
///
/// // Open after half of at least 20 attempts in 10 s failed; try again after 5 s.
/// let settings = RetrySettings {
///     circuit_breaker: Some(CircuitBreaker {
///         failure_ratio: 0.5,
///         min_attempts: 20,
///         break_duration: Duration::from_secs(5),
///         ..CircuitBreaker::default()
///     }),
///     ..RetrySettings::default()
/// };
/// assert!(settings.validate().is_ok());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CircuitBreaker {
    /// The share of failed attempts over `window` that opens the breaker (`>=`): `0.5` is half.
    /// Finite, `0.0..=1.0`; `0.0` opens it at the first failure once `min_attempts` were made.
    pub failure_ratio: f64,
    /// The fewest attempts over `window` for the ratio to count: at least 1.
    pub min_attempts: u32,
    /// How long an attempt's outcome counts; between 10 ms and 1 hour.
    pub window: Duration,
    /// How long the breaker stays open before it lets probes through; between 1 ms and 1 hour.
    pub break_duration: Duration,
    /// How many attempts are let through, one after the other or at once, once the break is
    /// over; all must succeed for the breaker to close. Between 1 and 1000.
    pub half_open_probes: u32,
    /// A response whose status is in the call's `status_forcelist` is a failure.
    pub count_statuses: bool,
    /// A connection that could not be established, or that broke before the response, is a
    /// failure.
    pub count_connection_failures: bool,
    /// An attempt that timed out is a failure.
    pub count_timeouts: bool,
}

impl Default for CircuitBreaker {
    /// Half of at least 20 attempts over 10 s; open for 5 s; 1 probe; every kind of failure
    /// counts.
    fn default() -> Self {
        CircuitBreaker {
            failure_ratio: 0.5,
            min_attempts: 20,
            window: Duration::from_secs(10),
            break_duration: Duration::from_secs(5),
            half_open_probes: 1,
            count_statuses: true,
            count_connection_failures: true,
            count_timeouts: true,
        }
    }
}

/// The shortest `window`: its tenth, a bucket, is still a millisecond.
pub(crate) const MIN_WINDOW: Duration = Duration::from_millis(10);
/// The longest `window` and `break_duration`.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(3600);
/// The most `half_open_probes`.
pub(crate) const MAX_PROBES: u32 = 1000;

/// A `window` of the per-host state: between 10 ms and 1 hour.
pub(super) fn check_window(field: &'static str, window: Duration) -> Result<(), SettingsError> {
    if (MIN_WINDOW..=MAX_DURATION).contains(&window) {
        return Ok(());
    }
    Err(SettingsError::new(
        field,
        Number(window.as_secs_f64()),
        "expected between 0.01 and 3600 seconds",
    ))
}

impl CircuitBreaker {
    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        if !(self.failure_ratio.is_finite() && (0.0..=1.0).contains(&self.failure_ratio)) {
            return Err(SettingsError::new(
                "circuit_breaker.failure_ratio",
                Number(self.failure_ratio),
                "expected a finite number in 0.0..=1.0 (0.5 = half of the attempts failed)",
            ));
        }
        if self.min_attempts == 0 {
            return Err(SettingsError::new(
                "circuit_breaker.min_attempts",
                0,
                "expected at least 1 attempt",
            ));
        }
        check_window("circuit_breaker.window", self.window)?;
        if self.break_duration.is_zero() || self.break_duration > MAX_DURATION {
            return Err(SettingsError::new(
                "circuit_breaker.break_duration",
                Number(self.break_duration.as_secs_f64()),
                "expected more than 0 and at most 3600 seconds",
            ));
        }
        if !(1..=MAX_PROBES).contains(&self.half_open_probes) {
            return Err(SettingsError::new(
                "circuit_breaker.half_open_probes",
                self.half_open_probes,
                "expected between 1 and 1000 probes",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_values_name_the_field() {
        let cases = [
            (
                CircuitBreaker {
                    failure_ratio: 1.5,
                    ..CircuitBreaker::default()
                },
                "circuit_breaker.failure_ratio",
            ),
            (
                CircuitBreaker {
                    failure_ratio: f64::NAN,
                    ..CircuitBreaker::default()
                },
                "circuit_breaker.failure_ratio",
            ),
            (
                CircuitBreaker {
                    min_attempts: 0,
                    ..CircuitBreaker::default()
                },
                "circuit_breaker.min_attempts",
            ),
            (
                CircuitBreaker {
                    window: Duration::ZERO,
                    ..CircuitBreaker::default()
                },
                "circuit_breaker.window",
            ),
            (
                CircuitBreaker {
                    break_duration: Duration::ZERO,
                    ..CircuitBreaker::default()
                },
                "circuit_breaker.break_duration",
            ),
            (
                CircuitBreaker {
                    half_open_probes: 0,
                    ..CircuitBreaker::default()
                },
                "circuit_breaker.half_open_probes",
            ),
        ];
        for (breaker, field) in cases {
            assert_eq!(breaker.validate().unwrap_err().field(), field);
        }
        assert!(CircuitBreaker::default().validate().is_ok());
    }
}
