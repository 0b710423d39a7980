//! [`Pacing`]: the settings of pacing from rate-limit headers (the state is in
//! `crate::state::pacing`, the parser in `crate::hints::quota`).

/// Avoids the 429 rather than meeting it: reads what a host says of its rate limit after each
/// response, and holds the session's next calls to that host (an origin: scheme, host, port)
/// until the quota resets once nothing remains.
///
/// The fields read are the IETF draft's `RateLimit` (`"default";r=0;t=30`) and
/// `RateLimit-Policy` (`"default";q=100;w=60`), the older `RateLimit-Limit` /
/// `RateLimit-Remaining` / `RateLimit-Reset` (delta seconds), and `X-RateLimit-Limit` /
/// `X-RateLimit-Remaining` / `X-RateLimit-Reset` (epoch seconds as GitHub sends them, or delta
/// seconds: the form of [`RateLimitReset`](crate::RateLimitReset) when
/// [`rate_limit_reset`](crate::RetrySettings::rate_limit_reset) is set, epoch seconds
/// otherwise). A malformed field is ignored.
///
/// - Between responses, each attempt sent spends one unit of what remains, so that calls
///   racing for the last unit do not overshoot it.
/// - A hold is bounded like a `Retry-After`: when the host's quota resets later than
///   `retry_after_max` from now, or at or after the call's deadline, the call ends at once
///   without sending ([`ErrorKind::RateLimited`](crate::ErrorKind::RateLimited),
///   [`GiveUp::RateLimited`](crate::GiveUp::RateLimited)).
/// - Per host: a limit on one host never holds calls to another. A call can leave pacing out
///   with [`RequestBuilder::no_pacing`](crate::RequestBuilder::no_pacing).
///
/// # Examples
///
/// ```
/// use api_toolkit::{Pacing, RetrySettings};
///
/// // Send until nothing remains, then wait for the reset:
/// let settings = RetrySettings { pacing: Some(Pacing::default()), ..RetrySettings::default() };
/// assert!(settings.validate().is_ok());
/// // Or spread what remains evenly over the time left in the window:
/// let spread = RetrySettings { pacing: Some(Pacing { spread: true }), ..settings };
/// assert!(spread.pacing.unwrap().spread);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Pacing {
    /// Spread the remaining quota evenly over the time left before the reset (calls spaced
    /// `time left / remaining` apart), instead of sending until none remains. `false` by
    /// default.
    pub spread: bool,
}
