//! [`RetrySettings`]: what is retried, how often, and how long to wait.
//!
//! The five original settings and their defaults come from the Python `APIConnector`, which ran
//! on urllib3's `Retry`; the later fields bound how long a call may wait (so that no server can
//! make it hang) and how much extra load retries may put on a server.

mod breaker;
mod budget;
mod hedging;
mod hints;
mod pacing;
mod patch;
mod statuses;
mod throttling;
mod validate;
mod wire;

use std::time::Duration;

use reqwest::header::HeaderName;
use reqwest::Method;

use crate::Classifier;

pub use breaker::CircuitBreaker;
pub use budget::RetryBudget;
pub use hedging::Hedging;
pub use hints::{RateLimitReset, ResetForm};
pub use pacing::Pacing;
pub use patch::RetrySettingsPatch;
#[doc(hidden)]
pub use statuses::StatusItem;
pub use throttling::Throttling;
pub use validate::SettingsError;

/// How a [`Session`](crate::Session) retries: the port of the Python connector's retry settings.
///
/// A plain struct: build it with struct update syntax on top of the defaults (or of a
/// connector's own defaults), the Rust form of the Python `**kwargs` override.
///
/// | field | default |
/// |---|---|
/// | `max_retries` | `0` |
/// | `backoff_factor` | `1.0` |
/// | `status_forcelist` | `[408, 413, 429, 500, 502, 503, 504, 521, 522, 524]` |
/// | `allowed_methods` | `[HEAD, GET, PUT, DELETE, OPTIONS, TRACE, POST, PATCH]` |
/// | `raise_on_status` | `false` |
/// | `error_for_status` | `false` |
/// | `backoff_max` | `120 s` |
/// | `respect_retry_after_header` | `true` |
/// | `retry_after_max` | `120 s` |
/// | `total_timeout` | none |
/// | `attempt_timeout` | none |
/// | `backoff_jitter` | `0 s` |
/// | `idempotency_key` | `false` |
/// | `retry_budget` | none |
/// | `share_retry_after` | `false` |
/// | `respect_retry_after_ms` | `false` |
/// | `should_retry_header` | none |
/// | `rate_limit_reset` | none |
/// | `keyed_retries` | `false` |
/// | `classify` | none |
/// | `classify_body_bytes` | `0` |
/// | `replay_limit` | `0` |
/// | `circuit_breaker` | none |
/// | `throttling` | none |
/// | `pacing` | none |
/// | `hedging` | none |
///
/// Settings are checked when they are handed to a session ([`Session::new`](crate::Session::new),
/// [`Session::set_retry_settings`](crate::Session::set_retry_settings)) and when deserialized;
/// [`RetrySettings::validate`] runs the same checks on demand.
///
/// With serde, the fields keep their names, methods are strings and durations are written as
/// seconds (a number), so the JSON of the defaults starts with the same five values, in the
/// same order, as the Python `get_retry_settings()` dict. Durations are read as seconds or as
/// strings with a unit (`"250ms"`, `"30s"`, `"2m"`). Missing fields take their defaults (to
/// take a connector's own defaults instead, read a [`RetrySettingsPatch`]) and unknown fields
/// are rejected; every error names the field. `status_forcelist` also takes ranges as strings
/// (`[429, "500..=599"]`; the list is then sorted and deduplicated), header names are
/// lower-case strings, and `classify`, which is code, is neither written nor read.
///
/// # Examples
///
/// ```
/// use api_toolkit::{Method, RetrySettings};
///
/// let settings = RetrySettings {
///     max_retries: 3,
///     backoff_factor: 0.5,
///     allowed_methods: vec![Method::GET, Method::PUT],
///     ..RetrySettings::default()
/// };
/// assert!(settings.validate().is_ok());
/// assert_eq!(settings.status_forcelist, [408, 413, 429, 500, 502, 503, 504, 521, 522, 524]);
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(into = "wire::WireSettings")]
pub struct RetrySettings {
    /// How many times a call may be retried: one call makes at most `1 + max_retries` attempts.
    pub max_retries: u32,
    /// Seconds; the wait before retry `n` is `backoff_factor × 2^(n−2)`, capped at
    /// `backoff_max` (see [`RetrySettings::backoff_schedule`]). Finite and `>= 0`.
    pub backoff_factor: f64,
    /// Response statuses that are retried (for methods in `allowed_methods`). Each in `100..=599`.
    pub status_forcelist: Vec<u16>,
    /// Methods whose requests may be retried once they may have reached the server. Not empty;
    /// standard methods in upper case. A connection that could not be established is retried for
    /// any method, since the request never left.
    pub allowed_methods: Vec<Method>,
    /// When retries are exhausted on a status of `status_forcelist`: `false` returns that last
    /// response as `Ok`, `true` returns an [`Error`](crate::Error) that holds it.
    pub raise_on_status: bool,
    /// Any final response with a status of 400 or more ends the call as an
    /// [`Error`](crate::Error) of kind [`Status`](crate::ErrorKind::Status) that holds it
    /// (body unread, record kept: see [`Error::into_response`](crate::Error::into_response)),
    /// as reqwest's `error_for_status` does, after the retries the other settings make.
    /// `false` returns every response as `Ok`, except as `raise_on_status` says.
    pub error_for_status: bool,
    /// The longest computed backoff wait.
    pub backoff_max: Duration,
    /// Honour `Retry-After` on 413, 429 and 503 responses: such a response is retried even when
    /// its status is not in `status_forcelist`, and a valid `Retry-After` replaces the computed
    /// wait.
    pub respect_retry_after_header: bool,
    /// The longest `Retry-After` a call obeys. A server asking for more ends the retries at
    /// once (as if they were exhausted) instead of making the call sleep.
    pub retry_after_max: Duration,
    /// The limit for the whole call, waits included. A wait that would end past it is not
    /// started (the last outcome is returned at once) and an attempt in flight is cut at it.
    pub total_timeout: Option<Duration>,
    /// The limit for each attempt; an attempt cut by it is a timeout, retried for
    /// `allowed_methods`.
    pub attempt_timeout: Option<Duration>,
    /// A uniform random `[0, backoff_jitter)` added to each computed wait (not to a
    /// `Retry-After`); the sum is still capped at `backoff_max`. Spreads out the retries of
    /// clients that failed together.
    pub backoff_jitter: Duration,
    /// Sends an `Idempotency-Key` header (a random 128-bit value, the same on every attempt of a
    /// call) with POST and PATCH calls that may be retried, so that a server supporting the
    /// IETF draft applies a repeated request once. A key set by the caller is kept.
    pub idempotency_key: bool,
    /// Limits retries to a share of recent calls, across all clones of the session; a retry it
    /// refuses ends the call as if retries were exhausted.
    pub retry_budget: Option<RetryBudget>,
    /// After a 429 or 503 with a valid `Retry-After` from a host, other calls of the session to
    /// that host wait until then before sending, instead of each hitting the limit on its own.
    pub share_retry_after: bool,
    /// Reads `retry-after-ms` (milliseconds, OpenAI and Azure) like `Retry-After`, when
    /// `respect_retry_after_header` is on: it makes a 413, 429 or 503 retryable, its wait
    /// replaces the backoff, and the same `retry_after_max` caps it. When both headers are
    /// present, `retry-after-ms` wins (it is the more precise).
    pub respect_retry_after_ms: bool,
    /// A header in which the server says whether to retry (`x-should-retry`,
    /// `stripe-should-retry`), lower case. `true` makes an error response (status >= 400)
    /// retryable, within the attempts, the deadline and the budget, and, for a method outside
    /// `allowed_methods`, only when the request carries an `Idempotency-Key`; `false` makes any
    /// response final. Values are `true`/`false` in any case; anything else is ignored.
    pub should_retry_header: Option<HeaderName>,
    /// A rate-limit reset header to wait for (GitHub's `x-ratelimit-reset`): see
    /// [`RateLimitReset`].
    pub rate_limit_reset: Option<RateLimitReset>,
    /// POST and PATCH are retried after they may have reached the server exactly when they
    /// carry an `Idempotency-Key` (the caller's, or the generated one with `idempotency_key`),
    /// whether or not they are in `allowed_methods`. An unkeyed POST is then never sent twice,
    /// except after a connection that could not be established. See
    /// [`RetrySettings::idempotent`].
    pub keyed_retries: bool,
    /// A rule of your own, asked after every attempt before the built-in rules: see
    /// [`Classifier`].
    pub classify: Option<Classifier>,
    /// How many bytes of a response's body the classifier sees
    /// ([`Attempt::body`](crate::Attempt::body)): at most 65,536. The caller still receives
    /// the whole body. Read only when a classifier is set, within the attempt's time limits.
    pub classify_body_bytes: usize,
    /// How many bytes of a streaming request body a call keeps, as it sends it, so that a
    /// retry can send it again: at most [`MAX_REPLAY_LIMIT`] (256 MiB). A stream read to its
    /// end within the limit is resent byte for byte; a longer one is not resent (the record
    /// says [`GiveUp::BodyTooLarge`](crate::GiveUp::BodyTooLarge)), and what was kept of it
    /// is dropped as soon as it passes the limit. A stream the attempt never read (its
    /// connection was never established) is sent as it is, whatever its size. `0`, the
    /// default: a streaming body is sent once and never retried. Bytes bodies are always
    /// resent, whatever this says.
    pub replay_limit: usize,
    /// Stops sending to a host (an origin: scheme, host, port) that keeps failing, for a
    /// while, across all clones of the session: see [`CircuitBreaker`]. A call it refuses
    /// fails at once with [`ErrorKind::CircuitOpen`](crate::ErrorKind::CircuitOpen).
    pub circuit_breaker: Option<CircuitBreaker>,
    /// Sheds load locally when a host (an origin) keeps refusing, across all clones of the
    /// session: see [`Throttling`]. A call it refuses fails at once with
    /// [`ErrorKind::Throttled`](crate::ErrorKind::Throttled).
    pub throttling: Option<Throttling>,
    /// Holds the session's calls to a host whose rate-limit headers say that nothing remains,
    /// until the quota resets, instead of sending into a known 429: see [`Pacing`]. A hold
    /// past `retry_after_max` or the call's deadline ends the call at once with
    /// [`ErrorKind::RateLimited`](crate::ErrorKind::RateLimited).
    pub pacing: Option<Pacing>,
    /// Sends a copy of an attempt that has no response after a delay, and takes the first
    /// answer: see [`Hedging`]. Only for requests that may be sent twice; each copy counts as
    /// an attempt.
    pub hedging: Option<Hedging>,
}

/// The most of a response's body a classifier may see.
///
/// # Examples
///
/// ```
/// use api_toolkit::{RetrySettings, MAX_CLASSIFY_BODY_BYTES};
///
/// let most = RetrySettings { classify_body_bytes: MAX_CLASSIFY_BODY_BYTES, ..RetrySettings::default() };
/// assert!(most.validate().is_ok());
/// assert!(RetrySettings { classify_body_bytes: MAX_CLASSIFY_BODY_BYTES + 1, ..most }.validate().is_err());
/// ```
pub const MAX_CLASSIFY_BODY_BYTES: usize = 64 * 1024;

/// The most of a streaming body a call may keep to send again (`replay_limit`): 256 MiB. Each
/// call in flight may keep that much; a larger body is better reopened by the caller.
pub const MAX_REPLAY_LIMIT: usize = 256 * 1024 * 1024;

/// The statuses retried by default: timeouts, rate limits and server or proxy failures.
///
/// # Examples
///
/// ```
/// use api_toolkit::{RetrySettings, DEFAULT_STATUS_FORCELIST};
///
/// // The defaults, less 413: this API's uploads that are too large stay too large.
/// let settings = RetrySettings {
///     status_forcelist: DEFAULT_STATUS_FORCELIST.into_iter().filter(|&s| s != 413).collect(),
///     ..RetrySettings::default()
/// };
/// assert_eq!(settings.status_forcelist.len(), 9);
/// ```
pub const DEFAULT_STATUS_FORCELIST: [u16; 10] = [408, 413, 429, 500, 502, 503, 504, 521, 522, 524];

/// The methods retried by default: all eight standard methods, POST and PATCH included
/// (as in the Python original; for APIs where a repeated POST does harm, see
/// [`RetrySettings::idempotent`]).
///
/// # Examples
///
/// ```
/// use api_toolkit::{Method, RetrySettings, DEFAULT_ALLOWED_METHODS};
///
/// assert_eq!(RetrySettings::default().allowed_methods, DEFAULT_ALLOWED_METHODS);
/// assert!(DEFAULT_ALLOWED_METHODS.contains(&Method::POST));
/// ```
pub const DEFAULT_ALLOWED_METHODS: [Method; 8] = [
    Method::HEAD,
    Method::GET,
    Method::PUT,
    Method::DELETE,
    Method::OPTIONS,
    Method::TRACE,
    Method::POST,
    Method::PATCH,
];

/// The idempotent methods of RFC 9110: [`RetrySettings::idempotent`]'s `allowed_methods`.
///
/// # Examples
///
/// ```
/// use api_toolkit::{Method, RetrySettings, IDEMPOTENT_METHODS};
///
/// // Only requests that may safely be repeated are retried once they may have left.
/// let settings = RetrySettings { max_retries: 3, allowed_methods: IDEMPOTENT_METHODS.to_vec(), ..RetrySettings::default() };
/// assert!(!settings.allowed_methods.contains(&Method::POST));
/// ```
pub const IDEMPOTENT_METHODS: [Method; 6] = [
    Method::HEAD,
    Method::GET,
    Method::PUT,
    Method::DELETE,
    Method::OPTIONS,
    Method::TRACE,
];

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            max_retries: 0,
            backoff_factor: 1.0,
            status_forcelist: DEFAULT_STATUS_FORCELIST.to_vec(),
            allowed_methods: DEFAULT_ALLOWED_METHODS.to_vec(),
            raise_on_status: false,
            error_for_status: false,
            backoff_max: Duration::from_secs(120),
            respect_retry_after_header: true,
            retry_after_max: Duration::from_secs(120),
            total_timeout: None,
            attempt_timeout: None,
            backoff_jitter: Duration::ZERO,
            idempotency_key: false,
            retry_budget: None,
            share_retry_after: false,
            respect_retry_after_ms: false,
            should_retry_header: None,
            rate_limit_reset: None,
            keyed_retries: false,
            classify: None,
            classify_body_bytes: 0,
            replay_limit: 0,
            circuit_breaker: None,
            throttling: None,
            pacing: None,
            hedging: None,
        }
    }
}

impl RetrySettings {
    /// Settings for an API that honours `Idempotency-Key` (Stripe, Adyen, the IETF draft):
    /// the idempotent methods in `allowed_methods`, and POST and PATCH retried after they may
    /// have reached the server only when they carry a key ([`keyed_retries`]). Three retries;
    /// every other field is the default.
    ///
    /// Add `idempotency_key: true` to give every POST and PATCH a generated key, and so make
    /// all of them retryable.
    ///
    /// [`keyed_retries`]: RetrySettings::keyed_retries
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{Method, RetrySettings};
    ///
    /// let settings = RetrySettings::idempotent();
    /// assert!(settings.keyed_retries && !settings.allowed_methods.contains(&Method::POST));
    /// let all_posts = RetrySettings { idempotency_key: true, ..RetrySettings::idempotent() };
    /// assert!(all_posts.validate().is_ok());
    /// ```
    pub fn idempotent() -> Self {
        RetrySettings {
            max_retries: 3,
            allowed_methods: IDEMPOTENT_METHODS.to_vec(),
            keyed_retries: true,
            ..RetrySettings::default()
        }
    }

    /// The computed waits before retries `1..=max_retries`, before jitter and any `Retry-After`.
    ///
    /// Retry `n` waits `backoff_factor × 2^(n−2)` seconds, capped at `backoff_max`: the
    /// Python connector's documented table.
    ///
    /// One entry per retry: meant for showing a schedule, not for a `max_retries` in the
    /// millions.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use api_toolkit::RetrySettings;
    ///
    /// let settings = RetrySettings { max_retries: 5, backoff_factor: 2.0, ..Default::default() };
    /// let secs: Vec<u64> = settings.backoff_schedule().iter().map(Duration::as_secs).collect();
    /// assert_eq!(secs, [1, 2, 4, 8, 16]);
    /// ```
    pub fn backoff_schedule(&self) -> Vec<Duration> {
        (1..=self.max_retries)
            .map(|retry| crate::wait::backoff(self, retry, 0.0))
            .collect()
    }

    /// Checks every field; the first mistake found is returned.
    ///
    /// # Errors
    ///
    /// A [`SettingsError`] naming the field and the value when `backoff_factor` is negative or
    /// not finite, a status is outside `100..=599`, `allowed_methods` is empty, a standard
    /// method is spelled in lower case, a timeout is zero, the retry budget is out of range,
    /// `classify_body_bytes` or `replay_limit` is above its maximum, or the circuit breaker's
    /// or hedging's settings are out of range.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::RetrySettings;
    ///
    /// let err = RetrySettings { backoff_factor: -1.0, ..Default::default() }.validate().unwrap_err();
    /// assert_eq!(err.field(), "backoff_factor");
    /// assert_eq!(err.value(), "-1");
    /// ```
    pub fn validate(&self) -> Result<(), SettingsError> {
        validate::validate(self)
    }

    /// Whether `method` is in `allowed_methods`.
    #[inline]
    pub(crate) fn allows(&self, method: &Method) -> bool {
        self.allowed_methods.contains(method)
    }

    /// Whether a request with `method` may be sent again once it may have reached the server:
    /// `allowed_methods` says, except for POST and PATCH under `keyed_retries`, where `keyed`
    /// (the request carries an `Idempotency-Key`) does.
    #[inline]
    pub(crate) fn may_resend(&self, method: &Method, keyed: bool) -> bool {
        if self.keyed_retries && (*method == Method::POST || *method == Method::PATCH) {
            keyed
        } else {
            self.allows(method)
        }
    }

    /// Whether `status` is in `status_forcelist`. A call asks only for a status that a setting
    /// might retry: it settles the others with [`Active`](crate::policy::Active)'s set.
    pub(crate) fn forces(&self, status: u16) -> bool {
        self.status_forcelist.contains(&status)
    }
}
