//! The settings of the server hints a call reads besides `Retry-After`.

use reqwest::header::HeaderName;

/// Reads a rate-limit reset header, as GitHub sends it: a response whose status is in
/// `statuses` and which says that nothing remains (`remaining_header: 0`) or carries a
/// `Retry-After` is retried, after a wait until the reset instant instead of the computed
/// backoff.
///
/// - The wait is capped like a `Retry-After`: a reset further than `retry_after_max` away ends
///   the retries at once.
/// - A reset that is past, or a value that is not a number, leaves the response retryable with
///   the computed backoff.
/// - A `Retry-After` (or `retry-after-ms`) on the same response, when honoured, wins: it is the
///   server's answer for this response, the reset the quota's.
///
/// With serde: `{"header": "x-ratelimit-reset", "form": "epoch_seconds",
/// "remaining_header": "x-ratelimit-remaining", "statuses": [403, 429]}`, each field optional
/// (the defaults are GitHub's, [`RateLimitReset::github`]).
///
/// # Examples
///
/// ```
/// use api_toolkit::{RateLimitReset, ResetForm, RetrySettings};
/// use api_toolkit::reqwest::header::HeaderName;
///
/// let github = RetrySettings {
///     max_retries: 2,
///     rate_limit_reset: Some(RateLimitReset::github()),
///     ..RetrySettings::default()
/// };
/// assert_eq!(github.rate_limit_reset.as_ref().unwrap().statuses, [403, 429]);
///
/// // An API that sends the seconds left rather than an instant, on 429 only:
/// let delta = RateLimitReset {
///     header: HeaderName::from_static("ratelimit-reset"),
///     form: ResetForm::DeltaSeconds,
///     remaining_header: HeaderName::from_static("ratelimit-remaining"),
///     statuses: vec![429],
/// };
/// assert!(RetrySettings { rate_limit_reset: Some(delta), ..github }.validate().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimitReset {
    /// The header holding the reset: `x-ratelimit-reset`.
    pub header: HeaderName,
    /// How the reset is written.
    pub form: ResetForm,
    /// The header that says how many requests remain: `x-ratelimit-remaining`.
    pub remaining_header: HeaderName,
    /// The statuses the hint applies to, each in `100..=599`, at least one: `[403, 429]`.
    pub statuses: Vec<u16>,
}

impl RateLimitReset {
    /// GitHub's: `x-ratelimit-reset` in epoch seconds, `x-ratelimit-remaining`, on 403 and 429.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{RateLimitReset, ResetForm};
    ///
    /// let github = RateLimitReset::github();
    /// assert_eq!((github.header.as_str(), github.form), ("x-ratelimit-reset", ResetForm::EpochSeconds));
    /// assert_eq!(github, RateLimitReset::default());
    /// ```
    pub fn github() -> Self {
        RateLimitReset {
            header: HeaderName::from_static("x-ratelimit-reset"),
            form: ResetForm::EpochSeconds,
            remaining_header: HeaderName::from_static("x-ratelimit-remaining"),
            statuses: vec![403, 429],
        }
    }
}

impl Default for RateLimitReset {
    /// [`RateLimitReset::github`].
    fn default() -> Self {
        RateLimitReset::github()
    }
}

/// How a rate-limit reset header writes the reset.
///
/// # Examples
///
/// ```
/// use api_toolkit::{RateLimitReset, ResetForm};
///
/// // An API that sends the seconds left (`ratelimit-reset: 30`) rather than an instant.
/// let reset = RateLimitReset { form: ResetForm::DeltaSeconds, ..RateLimitReset::github() };
/// assert_eq!(reset.form.as_str(), "delta_seconds");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResetForm {
    /// The instant of the reset, in seconds since the Unix epoch (GitHub, Twitter/X): the wait
    /// is until that instant, not rounded to whole seconds.
    EpochSeconds,
    /// The seconds left until the reset (IETF `RateLimit`, many others).
    DeltaSeconds,
}

impl ResetForm {
    /// The serde and `#[retry]` spelling: `"epoch_seconds"` or `"delta_seconds"`.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::ResetForm;
    ///
    /// assert_eq!(ResetForm::EpochSeconds.as_str(), "epoch_seconds");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ResetForm::EpochSeconds => "epoch_seconds",
            ResetForm::DeltaSeconds => "delta_seconds",
        }
    }
}
