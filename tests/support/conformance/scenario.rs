//! What a scenario is: settings, timeouts, and per call a chain of hops whose servers follow
//! a script, one behaviour per arrival.

use std::time::Duration;

/// The front ends a scenario can run through: one engine behind all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Front {
    /// `Session` with a client it built.
    Session,
    /// `Session::from_service` over a `reqwest::Client`.
    Service,
    /// `RetryLayer` around a `reqwest::Client`.
    Layer,
    /// `RetryMiddleware` in a `ClientWithMiddleware`.
    Middleware,
    /// `blocking::Session`.
    Blocking,
}

impl Front {
    /// Every front end.
    pub const ALL: [Front; 5] = [
        Front::Session,
        Front::Service,
        Front::Layer,
        Front::Middleware,
        Front::Blocking,
    ];

    /// Whether the session built the client it sends through, and so sees its redirects and
    /// cuts its connects (README "Time limits"). Sessions over a client or service built
    /// elsewhere handle both on the safe side: a connect error may come from a redirect's
    /// target (retried only for `allowed_methods`), a connect cut at the limit is a timeout.
    pub fn knows_client(self) -> bool {
        matches!(self, Front::Session | Front::Blocking)
    }

    /// Whether a call can have settings of its own (`RequestBuilder::retry_settings`).
    pub fn per_call_settings(self) -> bool {
        matches!(self, Front::Session | Front::Service | Front::Blocking)
    }
}

/// The methods a scenario uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// GET.
    Get,
    /// HEAD.
    Head,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
    /// OPTIONS.
    Options,
}

impl Method {
    /// Every method, for the generator.
    pub const ALL: [Method; 7] = [
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Options,
    ];

    /// The name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
        }
    }
}

/// A call's request body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// No body.
    None,
    /// Bytes, which can be replayed.
    Bytes(Vec<u8>),
    /// The same bytes as a stream, which is sent again only within `replay_limit`, or if the
    /// attempt never read it.
    Stream(Vec<u8>),
}

/// Where a hop's request goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The scripted server with this index.
    Server(usize),
    /// A loopback port where nothing listens: connecting is refused.
    Refused,
    /// A host name the test's resolver never resolves: connecting hangs until a limit.
    NeverConnects,
}

/// What a server does with one request at one hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Answers with this status, a `Retry-After` if given; `mid_body` sends the head and part
    /// of a promised body, then closes the connection.
    Respond {
        /// The status code.
        status: u16,
        /// The `Retry-After` value, as sent (possibly empty or malformed).
        retry_after: Option<String>,
        /// Whether the body is cut short.
        mid_body: bool,
        /// The other hint headers it carries.
        hints: Hints,
    },
    /// Redirects with this status (301, 302, 303, 307 or 308) to the next hop.
    Redirect(u16),
    /// Reads the request, then closes the connection without answering.
    Reset,
    /// Reads the request and never answers.
    Hang,
}

/// The hint headers of issue 14 a response may carry, as sent (possibly malformed), whether or
/// not the settings read them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hints {
    /// `x-should-retry` ([`SHOULD_RETRY`]).
    pub should_retry: Option<String>,
    /// `retry-after-ms`.
    pub retry_after_ms: Option<String>,
    /// `x-ratelimit-remaining` ([`REMAINING`]).
    pub remaining: Option<String>,
    /// `x-ratelimit-reset` ([`RESET`]), in delta seconds.
    pub reset: Option<String>,
}

/// The should-retry header of scenarios whose settings have one.
pub const SHOULD_RETRY: &str = "x-should-retry";
/// The rate-limit headers of scenarios with `rate_limit_reset`: statuses 403 and 429, delta
/// seconds.
pub const REMAINING: &str = "x-ratelimit-remaining";
/// See [`REMAINING`].
pub const RESET: &str = "x-ratelimit-reset";
/// The statuses the rate-limit reset applies to.
pub const RATE_LIMITED: [u16; 2] = [403, 429];

/// A classifier the generator may set: fixed rules, which the model knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// `Verdict::Retry` on every 409; defers otherwise.
    Retry409,
    /// `Verdict::Stop` on every 503; defers otherwise.
    Stop503,
    /// `Verdict::RetryAfter(50 ms)` on a connection closed after sending; defers otherwise.
    WaitOnClosed,
    /// `Verdict::Stop` on a connection never established; defers otherwise.
    StopOnConnect,
    /// `Verdict::Retry` on a 2xx of the first attempt; defers otherwise.
    RetryFirstSuccess,
    /// Always `Verdict::Defer`.
    Defer,
}

impl Rule {
    /// Every rule, for the generator.
    pub const ALL: [Rule; 6] = [
        Rule::Retry409,
        Rule::Stop503,
        Rule::WaitOnClosed,
        Rule::StopOnConnect,
        Rule::RetryFirstSuccess,
        Rule::Defer,
    ];

    /// The wait of [`Rule::WaitOnClosed`].
    pub const CLOSED_WAIT: Duration = Duration::from_millis(50);
}

/// One position in a call's redirect chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hop {
    /// Where the request of this hop goes.
    pub target: Target,
    /// The n-th arrival at this hop gets the n-th behaviour; the last one repeats. Empty for a
    /// target that is not a server.
    pub script: Vec<Behaviour>,
}

/// The retry settings, as the model reads them: `RetrySettings` without jitter and budget.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Seconds; the wait before retry n is `factor × 2^(n−2)`.
    pub backoff_factor: f64,
    /// Statuses retried.
    pub status_forcelist: Vec<u16>,
    /// Methods retried once the request may have reached a server.
    pub allowed_methods: Vec<Method>,
    /// Exhausted on a forced status: an error holding the response.
    pub raise_on_status: bool,
    /// Any final status >= 400: an error holding the response.
    pub error_for_status: bool,
    /// Cap of the backoff.
    pub backoff_max: Duration,
    /// Whether `Retry-After` is honoured.
    pub respect_retry_after_header: bool,
    /// A longer `Retry-After` ends the retries.
    pub retry_after_max: Duration,
    /// Limit of the whole call.
    pub total_timeout: Option<Duration>,
    /// Limit of each attempt.
    pub attempt_timeout: Option<Duration>,
    /// `Idempotency-Key` on POST and PATCH calls that may be retried.
    pub idempotency_key: bool,
    /// A host's `Retry-After` holds back the session's other calls to it.
    pub share_retry_after: bool,
    /// `retry-after-ms` read like `Retry-After`.
    pub respect_retry_after_ms: bool,
    /// `should_retry_header = "x-should-retry"`.
    pub should_retry_header: bool,
    /// `rate_limit_reset`: [`RESET`] in delta seconds, [`REMAINING`], on [`RATE_LIMITED`].
    pub rate_limit_reset: bool,
    /// POST and PATCH retried after reaching the server exactly when they carry a key.
    pub keyed_retries: bool,
    /// A classifier.
    pub classify: Option<Rule>,
    /// How much of a response's body the classifier sees.
    pub classify_body_bytes: usize,
    /// How much of a streaming body a call keeps to send again.
    pub replay_limit: usize,
}

/// One call of a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The method of the call.
    pub method: Method,
    /// The body of the call.
    pub body: Body,
    /// The request's own `.timeout(..)`.
    pub request_timeout: Option<Duration>,
    /// Per-request settings (`.retry_settings(..)`), instead of the session's.
    pub own_settings: Option<Settings>,
    /// An `ftp://` URL that cannot be sent: no hop is used.
    pub unbuildable: bool,
    /// The caller sets its own `Idempotency-Key` ([`Call::caller_key`]).
    pub own_key: bool,
    /// The redirect chain: hop 0 is where the call is sent; a redirect at hop k goes to k + 1.
    pub hops: Vec<Hop>,
}

/// A whole scenario: one session, its servers, and calls made one after the other.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// The seed that generated it, which replays it.
    pub seed: u64,
    /// The front end its calls go through.
    pub front: Front,
    /// How many scripted servers (origins) it uses.
    pub servers: usize,
    /// `Session::builder().timeout(..)`.
    pub session_timeout: Option<Duration>,
    /// The session's settings.
    pub settings: Settings,
    /// The calls, in order.
    pub calls: Vec<Call>,
}

impl Call {
    /// The settings this call runs with.
    pub fn settings<'a>(&'a self, scenario: &'a Scenario) -> &'a Settings {
        self.own_settings.as_ref().unwrap_or(&scenario.settings)
    }

    /// The path of hop `hop` of call `call`: each hop position is its own path, so a server
    /// counts arrivals per hop.
    pub fn path(call: usize, hop: usize) -> String {
        format!("/c{call}/h{hop}")
    }

    /// The `Idempotency-Key` the caller sets on call `call` of the scenario of `seed`.
    pub fn caller_key(seed: u64, call: usize) -> String {
        format!("caller-{seed:x}-{call}")
    }
}
