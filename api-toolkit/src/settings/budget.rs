//! [`RetryBudget`]: the settings of the shared retry budget (the state is in `crate::budget`).

use std::time::Duration;

use super::validate::Number;
use super::SettingsError;

/// Limits retries to a share of recent traffic, across all clones of a session.
///
/// Every call deposits `ratio` of a retry; every retry withdraws one. Calls count for `window`.
/// `min_per_second` retries a second are allowed on top, so a quiet client can still retry.
/// This is the retry throttling of reqwest's built-in retries, tower, Finagle and gRPC: under a
/// sustained failure, retries add at most `ratio` extra load instead of multiplying it.
///
/// # Examples
///
/// ```
/// use api_toolkit::{RetryBudget, RetrySettings};
///
/// // At most 10% extra load from retries, at least one retry a second.
/// let settings = RetrySettings {
///     max_retries: 3,
///     retry_budget: Some(RetryBudget { ratio: 0.1, min_per_second: 1, ..RetryBudget::default() }),
///     ..RetrySettings::default()
/// };
/// assert!(settings.validate().is_ok());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryBudget {
    /// Retries per call allowed over the window: `0.2` is at most 20% extra load. Finite,
    /// `0.0..=1000.0`.
    pub ratio: f64,
    /// Retries a second always allowed, whatever the traffic.
    pub min_per_second: u32,
    /// How long a call's deposit counts; between 1 s and 1 hour.
    pub window: Duration,
}

impl Default for RetryBudget {
    /// 20% extra load, 10 retries a second, over 10 s.
    fn default() -> Self {
        RetryBudget {
            ratio: 0.2,
            min_per_second: 10,
            window: Duration::from_secs(10),
        }
    }
}

impl RetryBudget {
    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        if !(self.ratio.is_finite() && (0.0..=1000.0).contains(&self.ratio)) {
            return Err(SettingsError::new(
                "retry_budget.ratio",
                Number(self.ratio),
                "expected a finite number in 0.0..=1000.0 (0.2 = 20% extra load)",
            ));
        }
        if !(Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&self.window) {
            return Err(SettingsError::new(
                "retry_budget.window",
                Number(self.window.as_secs_f64()),
                "expected between 1 and 3600 seconds",
            ));
        }
        Ok(())
    }
}
