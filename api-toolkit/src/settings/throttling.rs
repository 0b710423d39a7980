//! [`Throttling`]: the settings of adaptive client-side throttling (the state is in
//! `crate::state::throttle`).

use std::time::Duration;

use super::validate::Number;
use super::SettingsError;

/// Sheds load locally when a host keeps refusing: Google SRE's adaptive throttling, per origin
/// (scheme, host, port), shared by the clones of a session.
///
/// Over the last `window`, the session counts the *requests* it meant to send to the host
/// (those it refused itself included) and the *accepts*: attempts the host answered with
/// something other than a failure. Each new attempt is refused, nothing sent, with probability
///
/// `max(0, (requests − k · accepts) / (requests + 1))`
///
/// A healthy host is never throttled (while it accepts at least one request in `k`); a host that
/// refuses everything gets a trickle of attempts, enough to see it recover. No rate to tune, and
/// no coordination: each session judges from what it saw. (AWS's adaptive token bucket needs a
/// measured send rate and a cubic curve to find it again; Google's ratio needs one number.)
///
/// A failure is a status of the call's `status_forcelist` (with `count_statuses`), a
/// connection that could not be established or broke (with `count_connection_failures`), or a
/// timeout (with `count_timeouts`). A call refused before its first attempt fails at once with
/// [`ErrorKind::Throttled`](crate::ErrorKind::Throttled); a retry refused ends the call as if its
/// retries were exhausted ([`GiveUp::Throttled`](crate::GiveUp::Throttled)): the last response
/// is returned, or raised with `raise_on_status`. A call can leave throttling out with
/// [`RequestBuilder::no_throttling`](crate::RequestBuilder::no_throttling).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use api_toolkit::{RetrySettings, Throttling};
///
/// // Send at most about twice what the host accepted over the last 30 s.
/// let settings = RetrySettings {
///     throttling: Some(Throttling { k: 2.0, window: Duration::from_secs(30), ..Throttling::default() }),
///     ..RetrySettings::default()
/// };
/// assert!(settings.validate().is_ok());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Throttling {
    /// How many requests per accept are sent before any is refused: finite, `1.0..=100.0`.
    /// `2.0` (the SRE book's) lets twice the accepted load through; lower sheds sooner.
    pub k: f64,
    /// How long a request or an accept counts: between 10 ms and 1 hour.
    pub window: Duration,
    /// A response whose status is in the call's `status_forcelist` is a refusal.
    pub count_statuses: bool,
    /// A connection that could not be established, or that broke before the response, is a
    /// refusal.
    pub count_connection_failures: bool,
    /// An attempt that timed out is a refusal.
    pub count_timeouts: bool,
}

impl Default for Throttling {
    /// `k` 2 over 30 s; every kind of failure counts.
    fn default() -> Self {
        Throttling {
            k: 2.0,
            window: Duration::from_secs(30),
            count_statuses: true,
            count_connection_failures: true,
            count_timeouts: true,
        }
    }
}

/// The range of `k`.
pub(crate) const K_RANGE: std::ops::RangeInclusive<f64> = 1.0..=100.0;

impl Throttling {
    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        if !(self.k.is_finite() && K_RANGE.contains(&self.k)) {
            return Err(SettingsError::new(
                "throttling.k",
                Number(self.k),
                "expected a finite number in 1.0..=100.0 (2.0 = send twice what is accepted)",
            ));
        }
        super::breaker::check_window("throttling.window", self.window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_values_name_the_field() {
        let cases = [
            (0.5, Duration::from_secs(1), "throttling.k"),
            (f64::NAN, Duration::from_secs(1), "throttling.k"),
            (101.0, Duration::from_secs(1), "throttling.k"),
            (2.0, Duration::ZERO, "throttling.window"),
            (2.0, Duration::from_secs(3601), "throttling.window"),
        ];
        for (k, window, field) in cases {
            let throttling = Throttling {
                k,
                window,
                ..Throttling::default()
            };
            assert_eq!(throttling.validate().unwrap_err().field(), field);
        }
        assert!(Throttling::default().validate().is_ok());
    }
}
