//! HTTP API connectors with automatic, correct retries.
//!
//! A [`Session`] is a `reqwest::Client` that retries: which outcomes are retried, how long it
//! waits and when it gives up are set by [`RetrySettings`], the Rust port of the Python
//! `APIConnector`'s settings (urllib3's `Retry`). `#[derive(Connector)]` turns a struct holding a
//! session into an [`ApiConnector`], with per-type default settings checked at compile time.
//! With the `blocking` feature, `api_toolkit::blocking` is the same session for code without an
//! async runtime. With the `redis` feature, a `Fleet` shares each host's state (a `Retry-After`
//! pause, a quota, an open breaker) and the retry budget across the processes of a fleet.
//!
//! # Examples
//!
//! ```
//! use api_toolkit::{ApiConnector, Connector, RetrySettings, Session};
//!
//! #[derive(Connector)]
//! #[retry(max_retries = 3, backoff_factor = 0.5, status_forcelist = [500, 503],
//!         allowed_methods = ["GET", "PUT"], raise_on_status = true)]
//! pub struct Shop {
//!     session: Session,
//!     base_url: String,
//! }
//!
//! impl Shop {
//!     pub fn new(base_url: &str) -> api_toolkit::Result<Self> {
//!         Ok(Self { session: Self::new_session()?, base_url: base_url.to_owned() })
//!     }
//!
//!     pub async fn order(&self, id: u64) -> api_toolkit::Result<api_toolkit::reqwest::Response> {
//!         self.session().get(format!("{}/orders/{id}", self.base_url)).send().await
//!     }
//! }
//!
//! let shop = Shop::new("http://127.0.0.1:8080")?;
//! assert_eq!(shop.get_retry_settings().max_retries, 3);
//!
//! // Per-type defaults, overridden with struct update syntax (Python's `**kwargs`):
//! let custom = Session::new(RetrySettings { max_retries: 5, ..Shop::default_retry_settings() })?;
//! assert_eq!(custom.retry_settings().backoff_factor, 0.5);
//!
//! shop.set_retry_settings(RetrySettings { max_retries: 0, ..shop.get_retry_settings() })?;
//! # Ok::<(), api_toolkit::Error>(())
//! ```
//!
//! # What is retried
//!
//! One call makes at most `1 + max_retries` attempts.
//!
//! - A **response** is retried when its method is in `allowed_methods` and its status is in
//!   `status_forcelist`, or (with `respect_retry_after_header`) it is a 413, 429 or 503 carrying a
//!   `Retry-After` header.
//! - A **connection that could not be established** (refused, DNS, TLS handshake, connect
//!   timeout) is retried for any method: the request never left.
//! - A **failure after sending** (timeout waiting for the response, connection reset or closed)
//!   is retried only for methods in `allowed_methods`: the server may have acted on it.
//! - When retries run out on a forced status, the last response is returned as `Ok`, or as an
//!   [`Error`] holding it when `raise_on_status` is on. Any other status is always `Ok`.
//! - The wait before retry `n` is `backoff_factor × 2^(n−2)` seconds, capped at `backoff_max`;
//!   a valid `Retry-After` replaces it, and one longer than `retry_after_max` ends the retries
//!   at once rather than make the call sleep.
//! - Every attempt sends the same body bytes; a streaming body is sent once, never retried,
//!   unless `replay_limit` kept the whole of it (or the attempt never read it).
//! - Dropping the future of a call stops it: no attempt starts afterwards.
//!
//! # Timeouts: what bounds what
//!
//! | limit | set on | bounds |
//! |---|---|---|
//! | `attempt_timeout` | [`RetrySettings`], `#[retry(attempt_timeout = ..)]` | each attempt, from connecting to the end of the body |
//! | [`RequestBuilder::timeout`] | one request | each attempt of that request |
//! | `total_timeout` | [`RetrySettings`], `#[retry(total_timeout = ..)]` | the whole call: attempts and the waits between them |
//! | a client's own timeout | `reqwest::ClientBuilder::timeout`, for [`Session::from_client`] | each attempt, as reqwest enforces it |
//!
//! Each attempt is cut at the shortest of the limits that apply to it and the time left before
//! `total_timeout`. A wait that would end past `total_timeout` is not started: the last
//! outcome is returned at once. Without `total_timeout`, a call lasts at most
//! `1 + max_retries` attempt limits plus its waits, each capped by `backoff_max` (or by
//! `retry_after_max` for a server's `Retry-After`). An attempt cut while connecting is a
//! connect error (retried for any method); cut later, a timeout after sending (retried only for
//! `allowed_methods`). `SessionBuilder::timeout` is `attempt_timeout` under another name, kept
//! for reqwest habits and deprecated. A blocking call cannot be dropped: `total_timeout` is
//! the way to bound it.
//!
//! # Why retries need care: retry storms
//!
//! When a server is overloaded, every client retrying multiplies the load it already cannot
//! carry. Backoff spreads retries out and `Retry-After` lets the server say when to come back;
//! keep `max_retries` small and `status_forcelist` to statuses that mean "try again".

mod attempt;
#[cfg(feature = "blocking")]
pub mod blocking;
mod budget;
mod call;
mod connector;
mod consult;
mod error;
mod fleet;
mod hedge;
mod hints;
mod host_gate;
mod idempotency;
mod into_url;
#[cfg(feature = "reqwest-middleware")]
#[path = "front/middleware.rs"]
pub mod middleware;
mod policy;
mod record;
pub mod redact;
mod replay;
mod request;
mod session;
mod settings;
mod settings_cell;
#[cfg(feature = "test-util")]
pub mod simulate;
mod state;
mod stats;
mod telemetry;
#[cfg(feature = "test-util")]
pub mod test_util;
#[cfg(feature = "tower")]
#[path = "front/tower.rs"]
pub mod tower;
mod transport;
mod wait;

/// Implements [`ApiConnector`] for a struct that holds a [`Session`], with the type's default
/// [`RetrySettings`] given in `#[retry(...)]` and checked at compile time.
///
/// # The session
///
/// [`ApiConnector::session`] returns the field marked `#[session]`, or else the field named
/// `session` (or `r#session`; a tuple struct needs the marker). Its type is [`Session`], or with
/// the `blocking` feature `blocking::Session`, or a reference, `Arc`, `Rc` or `Box` of one
/// (`Arc<Session>`, written as such: a pointer behind a type alias is not seen through). That
/// type becomes [`ApiConnector::Session`]. A generic session type needs the bound:
/// `struct Shop<S: ConnectorSession> { session: S }` is a connector over either session.
///
/// A derive cannot resolve types, so the field named `session` is checked by its form: a path
/// ending in `Session` (`Session`, `api_toolkit::blocking::Session`), perhaps behind those
/// pointers, or a type parameter of the struct. Anything else (`String`, `Option<Session>`,
/// `reqwest::Client`, an alias `type Http = Session;`) is a compile error at its type that says
/// what to write. A field marked `#[session]` may be of any type, an alias included: the
/// compiler checks it, and reports a type that is no session at the field ("the trait
/// `ConnectorSession` is not implemented for `String`").
///
/// # `#[retry(...)]`
///
/// Sets [`ApiConnector::default_retry_settings`]: the keys given override
/// [`RetrySettings::default()`], the others keep their defaults (without `#[retry(...)]`, the
/// defaults are just `RetrySettings::default()`). Each key is the field of [`RetrySettings`]
/// with the same name:
///
/// | key | value |
/// |---|---|
/// | `max_retries` | an integer: `max_retries = 3` |
/// | `backoff_factor` | seconds, finite and `>= 0`: `backoff_factor = 0.5`, `backoff_factor = 2` |
/// | `status_forcelist` | statuses in `100..=599`, perhaps none, and inclusive ranges of them: `status_forcelist = [429, 500..=599]` |
/// | `allowed_methods` | at least one method: `allowed_methods = ["GET", "PUT", "PURGE"]` |
/// | `raise_on_status` | `raise_on_status = true` |
/// | `error_for_status` | `error_for_status = true` |
/// | `backoff_max` | seconds, `>= 0`: `backoff_max = 30`, `backoff_max = 1.5` |
/// | `respect_retry_after_header` | `respect_retry_after_header = false` |
/// | `retry_after_max` | seconds, `>= 0`: `retry_after_max = 60` |
/// | `total_timeout` | seconds, `> 0`: `total_timeout = 30` |
/// | `attempt_timeout` | seconds, `> 0`: `attempt_timeout = 2.5` |
/// | `backoff_jitter` | seconds, `>= 0`: `backoff_jitter = 0.5` |
/// | `idempotency_key` | `idempotency_key = true` |
/// | `retry_budget` | the budget's ratio, in `0.0..=1000.0`: `retry_budget = 0.2` |
/// | `share_retry_after` | `share_retry_after = true` |
/// | `respect_retry_after_ms` | `respect_retry_after_ms = true` |
/// | `should_retry_header` | a header name in lower case: `should_retry_header = "x-should-retry"` |
/// | `rate_limit_reset` | a header name: `rate_limit_reset = "x-ratelimit-reset"`, or the fields of [`RateLimitReset`]: `rate_limit_reset(header = "ratelimit-reset", form = "delta_seconds", remaining_header = "ratelimit-remaining", statuses = [429])` |
/// | `keyed_retries` | `keyed_retries = true` |
/// | `classify` | a path to a function `fn(&Attempt<'_>) -> Verdict` ([`ClassifyFn`]): `classify = shop_rules`, `classify = crate::rules::github`, `classify = Self::rules` |
/// | `classify_body_bytes` | bytes, at most 65,536: `classify_body_bytes = 4096` |
/// | `replay_limit` | bytes, at most 268,435,456 (256 MiB): `replay_limit = 1_048_576` |
///
/// Standard methods are written in upper case; other tokens are extension methods. Several
/// `#[retry(...)]` attributes are merged, but a key may be given only once.
///
/// A status list that holds a range (`500..=599`, both ends included) is sorted and loses its
/// repeats, like [`statuses!`]; a list of codes only keeps its order. Header names are written
/// in lower case, as HTTP/2 sends them.
///
/// `rate_limit_reset = "<header>"` sets `Some(RateLimitReset { header, ..RateLimitReset::default() })`;
/// in `rate_limit_reset(...)`, each of `header`, `form` (`"epoch_seconds"` or
/// `"delta_seconds"`), `remaining_header` and `statuses` (at least one; ranges as above) may be
/// left out, for the value of [`RateLimitReset::default()`] (GitHub's), and `rate_limit_reset()`
/// is that default. `classify = path` sets `Some(Classifier::from_fn(path))`: the compiler
/// checks that the function exists and has the signature of [`ClassifyFn`], and reports either
/// mistake at the path.
///
/// The timeouts are set as `Some(..)`: for no timeout, leave the key out (a zero timeout is an
/// error, as at run time). `retry_budget = 0.2` sets
/// `Some(RetryBudget { ratio: 0.2, ..RetryBudget::default() })`: the [`RetryBudget`]'s other
/// fields keep their defaults; to change them, override `retry_budget` at run time.
///
/// # Compile errors
///
/// Unknown and repeated keys, values of the wrong type, and the values
/// [`RetrySettings::validate`] would reject are compile errors, each pointing at the key or
/// value, all of them reported in one build (every bad item of a list too). A value written in
/// another form gets what to write instead: `Method::GET` gets `"GET"`, `"503"` or
/// `StatusCode::SERVICE_UNAVAILABLE` gets `503`, `"30s"` gets `30`. So a derived type's defaults
/// always validate, and [`ApiConnector::new_session`] fails only if the HTTP client cannot be
/// built.
///
/// ```compile_fail
/// # use api_toolkit::{Connector, Session};
/// #[derive(Connector)]
/// #[retry(max_retry = 3)] // unknown key `max_retry` in `#[retry(...)]`; did you mean `max_retries`?
/// struct Shop {
///     session: Session,
/// }
/// ```
///
/// ```compile_fail
/// # use api_toolkit::{Connector, Session};
/// #[derive(Connector)]
/// #[retry(allowed_methods = ["get"])] // "get" is not a standard method name: did you mean `"GET"`?
/// struct Shop {
///     session: Session,
/// }
/// ```
///
/// ```compile_fail
/// # use api_toolkit::{Connector, Session};
/// #[derive(Connector)]
/// #[retry(status_forcelist = [500..599])] // `500..599` leaves out 599; status ranges are inclusive: write `500..=599`
/// struct Shop {
///     session: Session,
/// }
/// ```
///
/// ```compile_fail
/// # use api_toolkit::{Connector, Session};
/// fn shop_rules(status: u16) -> bool {
///     status == 409
/// }
///
/// #[derive(Connector)]
/// #[retry(classify = shop_rules)] // mismatched types: expected fn pointer, found fn item
/// struct Shop {
///     session: Session,
/// }
/// ```
///
/// # `#[connector(crate = path)]`
///
/// The generated code names this crate `::api_toolkit`. A crate that re-exports it, so that its
/// users need not depend on api-toolkit themselves, gives the path of the re-export (a module
/// path, unquoted; `#[connector(...)]` goes on the struct, at most once per key):
///
/// ```
/// # extern crate api_toolkit as _; // (rustdoc would add a private `extern crate api_toolkit;`)
/// mod my_sdk {
///     pub use api_toolkit;
/// }
///
/// use my_sdk::api_toolkit::{ApiConnector, Connector, Session};
///
/// #[derive(Connector)]
/// #[connector(crate = my_sdk::api_toolkit)]
/// #[retry(max_retries = 3)]
/// struct Shop {
///     session: Session,
/// }
/// # fn main() {
/// assert_eq!(Shop::default_retry_settings().max_retries, 3);
/// # }
/// ```
///
/// # Examples
///
/// What the derive writes, spelled out:
///
/// ```
/// use std::time::Duration;
/// use api_toolkit::{ApiConnector, Connector, Method, RetryBudget, RetrySettings, Session};
///
/// #[derive(Connector)]
/// #[retry(max_retries = 3, status_forcelist = [500, 503], allowed_methods = ["GET", "PURGE"])]
/// #[retry(backoff_max = 10, retry_after_max = 0.5, total_timeout = 30, retry_budget = 0.1)]
/// struct Shop {
///     session: Session,
/// }
///
/// assert_eq!(
///     Shop::default_retry_settings(),
///     RetrySettings {
///         max_retries: 3,
///         status_forcelist: vec![500, 503],
///         allowed_methods: vec![Method::GET, Method::from_bytes(b"PURGE").unwrap()],
///         backoff_max: Duration::from_secs(10),
///         retry_after_max: Duration::from_millis(500),
///         total_timeout: Some(Duration::from_secs(30)),
///         retry_budget: Some(RetryBudget { ratio: 0.1, ..RetryBudget::default() }),
///         ..RetrySettings::default()
///     }
/// );
/// let shop = Shop { session: Shop::new_session()? };
/// assert_eq!(shop.session().retry_settings().max_retries, 3);
/// # Ok::<(), api_toolkit::Error>(())
/// ```
///
/// Status ranges, a rate-limit reset header and a classifier of your own:
///
/// ```
/// use api_toolkit::reqwest::header::HeaderName;
/// use api_toolkit::{
///     ApiConnector, Attempt, Classifier, Connector, RateLimitReset, ResetForm, RetrySettings,
///     Session, Verdict,
/// };
///
/// /// A 409 `lock_timeout` is retried; the built-in rules decide the rest.
/// fn shop_rules(attempt: &Attempt<'_>) -> Verdict {
///     match attempt.status().map(|status| status.as_u16()) {
///         Some(409) if attempt.body().windows(12).any(|w| w == b"lock_timeout") => Verdict::Retry,
///         _ => Verdict::Defer,
///     }
/// }
///
/// #[derive(Connector)]
/// #[retry(max_retries = 3, status_forcelist = [429, 500..=504], should_retry_header = "x-should-retry")]
/// #[retry(rate_limit_reset(header = "ratelimit-reset", form = "delta_seconds", statuses = [429]))]
/// #[retry(classify = shop_rules, classify_body_bytes = 1024)]
/// struct Shop {
///     session: Session,
/// }
///
/// assert_eq!(
///     Shop::default_retry_settings(),
///     RetrySettings {
///         max_retries: 3,
///         status_forcelist: vec![429, 500, 501, 502, 503, 504],
///         should_retry_header: Some(HeaderName::from_static("x-should-retry")),
///         rate_limit_reset: Some(RateLimitReset {
///             header: HeaderName::from_static("ratelimit-reset"),
///             form: ResetForm::DeltaSeconds,
///             statuses: vec![429],
///             ..RateLimitReset::default() // remaining_header: x-ratelimit-remaining
///         }),
///         classify: Some(Classifier::from_fn(shop_rules)),
///         classify_body_bytes: 1024,
///         ..RetrySettings::default()
///     }
/// );
/// ```
///
/// A marked field in a tuple struct, behind an `Arc`:
///
/// ```
/// use std::sync::Arc;
/// use api_toolkit::{ApiConnector, Connector, RetrySettings, Session};
///
/// #[derive(Connector)]
/// struct Bank(String, #[session] Arc<Session>);
///
/// assert_eq!(Bank::default_retry_settings(), RetrySettings::default());
/// let bank = Bank("https://bank.example".to_owned(), Arc::new(Bank::new_session()?));
/// bank.set_retry_settings(RetrySettings { max_retries: 2, ..bank.get_retry_settings() })?;
/// assert_eq!(bank.1.retry_settings().max_retries, 2);
/// # Ok::<(), api_toolkit::Error>(())
/// ```
pub use api_toolkit_derive::Connector;
pub use connector::{ApiConnector, ConnectorSession};
pub use error::{Error, ErrorKind, Result};
#[cfg(feature = "redis")]
pub use fleet::{Fleet, FleetBuilder};
pub use hints::{HintHeader, ServerHint};
pub use into_url::IntoUrl;
pub use policy::classify::{Attempt, Classifier, ClassifyFn, Verdict};
pub use record::{
    AttemptOutcome, AttemptRecord, CallRecord, Decider, GiveUp, RetryEvent, WaitSource,
};
pub use request::RequestBuilder;
pub use reqwest;
pub use reqwest::{Method, StatusCode};
pub use session::{Session, SessionBuilder};
pub use settings::{
    CircuitBreaker, Hedging, Pacing, RateLimitReset, ResetForm, RetryBudget, RetrySettings,
    RetrySettingsPatch, SettingsError, Throttling, DEFAULT_ALLOWED_METHODS,
    DEFAULT_STATUS_FORCELIST, IDEMPOTENT_METHODS, MAX_CLASSIFY_BODY_BYTES, MAX_REPLAY_LIMIT,
};
pub use stats::Stats;

/// What `#[derive(Connector)]` expands to refers to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::settings::StatusItem;
    pub use crate::{
        ApiConnector, Attempt, CircuitBreaker, Classifier, ClassifyFn, ConnectorSession, Hedging,
        Pacing, RateLimitReset, ResetForm, RetryBudget, RetrySettings, Session, Throttling,
        Verdict,
    };
    pub use reqwest::header::HeaderName;
    pub use reqwest::Method;
    pub use std::time::Duration;
    pub use std::vec::Vec;

    /// The `Retry-After` parser, for the fuzz targets in `fuzz/`: the wait a header value asks
    /// for at `now`, `None` when it states no preference or is malformed.
    #[must_use]
    pub fn parse_retry_after(value: &[u8], now: std::time::SystemTime) -> Option<Duration> {
        crate::hints::retry_after::parse_retry_after(value, now)
    }

    /// The headers `names` with `values`, leaving out a value that is no valid header value.
    fn header_map(names: &[&'static str], values: &[&[u8]]) -> reqwest::header::HeaderMap {
        names
            .iter()
            .zip(values)
            .filter_map(|(name, value)| {
                let value = reqwest::header::HeaderValue::from_bytes(value).ok()?;
                Some((reqwest::header::HeaderName::from_static(name), value))
            })
            .collect()
    }

    /// The server hints' parsers and the decision, for the fuzz target `hints`: the wait
    /// before retrying a GET whose response has `status` and these values of `retry-after`,
    /// `retry-after-ms`, `x-ratelimit-reset` (epoch or delta seconds), `x-ratelimit-remaining`
    /// and `x-should-retry` (a value that is no valid header value is left out), with every
    /// hint on; `None` when it is not retried.
    #[must_use]
    pub fn hinted_wait(
        status: u16,
        values: [&[u8]; 5],
        epoch: bool,
        retry_after_max: Duration,
        now: std::time::SystemTime,
    ) -> Option<Duration> {
        use crate::policy::{Decision, Now, Policy};
        let names = [
            "retry-after",
            "retry-after-ms",
            "x-ratelimit-reset",
            "x-ratelimit-remaining",
            "x-should-retry",
        ];
        let headers = header_map(&names, &values);
        let form = if epoch {
            ResetForm::EpochSeconds
        } else {
            ResetForm::DeltaSeconds
        };
        let settings = RetrySettings {
            max_retries: 1,
            retry_after_max,
            respect_retry_after_ms: true,
            should_retry_header: Some(HeaderName::from_static("x-should-retry")),
            rate_limit_reset: Some(RateLimitReset {
                form,
                ..RateLimitReset::github()
            }),
            ..RetrySettings::default()
        };
        let outcome = crate::policy::Outcome::Response {
            status,
            hints: crate::hints::Raw::read(&headers, status, &settings),
        };
        let policy = Policy {
            settings: &settings,
            method: &Method::GET,
            max_retries: 1,
            resend: crate::policy::Resend::Yes,
            keyed: false,
        };
        let now = Now {
            time: now,
            remaining: None,
            jitter_unit: 0.0,
        };
        match policy.decide(0, outcome, Verdict::Defer, || now) {
            Decision::Retry { wait, .. } => Some(wait.duration),
            Decision::Stop { .. } => None,
        }
    }

    /// The rate-limit parser of pacing, for the fuzz target `quota`: what remains and the time
    /// to the reset that these values of `ratelimit`, `ratelimit-policy`, `ratelimit-limit`,
    /// `ratelimit-remaining`, `ratelimit-reset`, `x-ratelimit-limit`, `x-ratelimit-remaining`
    /// and `x-ratelimit-reset` (epoch or delta seconds) state at `now` (a value that is no
    /// valid header value is left out); `None` when they state nothing readable.
    #[must_use]
    pub fn pacing_quota(
        values: [&[u8]; 8],
        epoch: bool,
        now: std::time::SystemTime,
    ) -> Option<(u64, Option<Duration>)> {
        let headers = header_map(&crate::hints::quota::FIELDS, &values);
        let reset = RateLimitReset {
            form: if epoch {
                ResetForm::EpochSeconds
            } else {
                ResetForm::DeltaSeconds
            },
            ..RateLimitReset::github()
        };
        let quota =
            crate::hints::quota::read(&headers, crate::hints::quota::x_names(Some(&reset)), now)?;
        Some((quota.remaining, quota.reset))
    }

    /// A method name the derive has already checked to be a valid token.
    #[must_use]
    pub fn method(name: &'static str) -> Method {
        Method::from_bytes(name.as_bytes())
            .expect("method names are checked by #[derive(Connector)]")
    }
}
