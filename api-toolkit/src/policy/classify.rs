//! The user's own retry rule: a [`Classifier`] sees an [`Attempt`] and answers a [`Verdict`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};

use crate::idempotency::IDEMPOTENCY_KEY;
use crate::AttemptOutcome;

/// What a [`Classifier`] answers about an attempt.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use api_toolkit::{Attempt, Verdict};
///
/// fn quota_rules(attempt: &Attempt<'_>) -> Verdict {
///     match attempt.status().map(|s| s.as_u16()) {
///         Some(402) => Verdict::Stop, // out of credit: retrying will not help
///         Some(420) => Verdict::RetryAfter(Duration::from_secs(1)), // an old "slow down"
///         Some(409) => Verdict::Retry, // with the wait the rules would choose
///         _ => Verdict::Defer,
///     }
/// }
/// # let url = "https://api.example/".parse().unwrap();
/// # let headers = api_toolkit::reqwest::header::HeaderMap::new();
/// # let attempt = Attempt::response(&api_toolkit::Method::GET, &url, &headers, api_toolkit::StatusCode::PAYMENT_REQUIRED, &headers, b"");
/// # assert_eq!(quota_rules(&attempt), Verdict::Stop);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Let the built-in rules decide (`status_forcelist`, `allowed_methods`, the server hints).
    Defer,
    /// Retry, after the wait the built-in rules would choose: the server's `Retry-After` (or
    /// another wait hint that is on) if it sent one, else the computed backoff.
    Retry,
    /// Retry after this wait. Like a `Retry-After`, a wait beyond `retry_after_max` ends the
    /// retries at once.
    RetryAfter(Duration),
    /// Do not retry: return the outcome as it is, a response as `Ok` (even with
    /// `raise_on_status`; with `error_for_status`, a status of 400 or more as an `Err` holding
    /// it), an error as `Err`.
    Stop,
}

/// The signature of a classifier written as a function, as `#[retry(classify = path)]` takes it.
///
/// # Examples
///
/// ```
/// use api_toolkit::{Attempt, Classifier, ClassifyFn, Verdict};
///
/// fn never(_: &Attempt<'_>) -> Verdict {
///     Verdict::Stop
/// }
/// const RULE: ClassifyFn = never;
/// assert_eq!(Classifier::from_fn(RULE), Classifier::from_fn(never));
/// ```
pub type ClassifyFn = fn(&Attempt<'_>) -> Verdict;

/// A rule of your own, asked after every attempt before the built-in rules: it sees the request
/// and what the attempt produced, and answers a [`Verdict`].
///
/// Set it in [`RetrySettings::classify`](crate::RetrySettings::classify) (or
/// [`SessionBuilder::classify`](crate::SessionBuilder::classify),
/// [`RequestBuilder::classify`](crate::RequestBuilder::classify),
/// `#[retry(classify = path::to::function)]`).
///
/// The safety rails stay above it: at most `1 + max_retries` attempts, never a wait past
/// `total_timeout` or beyond `retry_after_max`, never a streaming body sent twice, the retry
/// budget. Unlike the built-in rules, it may retry a method outside `allowed_methods` after the
/// request may have reached the server: that is its purpose (a POST that carries an
/// `Idempotency-Key`), and the record says that the classifier decided
/// ([`Decider::Classifier`](crate::Decider::Classifier)). A classifier that panics ends the
/// call with an error of [its own kind](crate::ErrorKind::Classifier); nothing is sent again.
///
/// Two classifiers are equal when they are the same function, or clones of one closure.
///
/// # Examples
///
/// ```
/// use api_toolkit::{Attempt, Classifier, RetrySettings, Verdict};
///
/// /// A 409 `lock_timeout` is retried; a 413 is never retried, `Retry-After` or not.
/// fn shop_rules(attempt: &Attempt<'_>) -> Verdict {
///     match attempt.status().map(|s| s.as_u16()) {
///         Some(409) if attempt.body().windows(12).any(|w| w == b"lock_timeout") => Verdict::Retry,
///         Some(413) => Verdict::Stop,
///         _ => Verdict::Defer,
///     }
/// }
///
/// let settings = RetrySettings {
///     max_retries: 3,
///     classify: Some(Classifier::from_fn(shop_rules)),
///     classify_body_bytes: 1024,
///     ..RetrySettings::default()
/// };
/// assert!(settings.validate().is_ok());
/// ```
#[derive(Clone)]
pub struct Classifier(Rule);

#[derive(Clone)]
enum Rule {
    Fn(ClassifyFn),
    Closure(Arc<dyn Fn(&Attempt<'_>) -> Verdict + Send + Sync>),
}

impl Classifier {
    /// A classifier from a closure, for a rule that captures values (a function is
    /// [`from_fn`](Classifier::from_fn)).
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{Classifier, RetrySettings, Verdict};
    ///
    /// let busy = 409; // read from configuration
    /// let classifier = Classifier::new(move |attempt| match attempt.status() {
    ///     Some(status) if status.as_u16() == busy => Verdict::Retry,
    ///     _ => Verdict::Defer,
    /// });
    /// assert_eq!(classifier.clone(), classifier); // clones of one closure are equal
    /// let settings = RetrySettings { classify: Some(classifier), ..RetrySettings::default() };
    /// ```
    pub fn new<F>(rule: F) -> Self
    where
        F: Fn(&Attempt<'_>) -> Verdict + Send + Sync + 'static,
    {
        Classifier(Rule::Closure(Arc::new(rule)))
    }

    /// A classifier from a function: what `#[retry(classify = path)]` writes. `const`, so it
    /// can live in a `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{Attempt, Classifier, Verdict};
    ///
    /// fn shop_rules(attempt: &Attempt<'_>) -> Verdict {
    ///     if attempt.body().starts_with(b"{\"error\":\"lock_timeout\"") { Verdict::Retry } else { Verdict::Defer }
    /// }
    /// static SHOP_RULES: Classifier = Classifier::from_fn(shop_rules);
    /// assert_eq!(SHOP_RULES, Classifier::from_fn(shop_rules));
    /// ```
    pub const fn from_fn(rule: ClassifyFn) -> Self {
        Classifier(Rule::Fn(rule))
    }

    /// Asks the rule about `attempt`: how a classifier is tested.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::reqwest::header::HeaderMap;
    /// use api_toolkit::{Attempt, AttemptOutcome, Classifier, Method, Verdict};
    ///
    /// // Retry a POST whose connection was cut after sending: this API dedupes by request id.
    /// let classifier = Classifier::new(|attempt| match attempt.outcome() {
    ///     AttemptOutcome::Closed if attempt.request_headers().contains_key("x-request-id") => Verdict::Retry,
    ///     _ => Verdict::Defer,
    /// });
    /// let url = "https://api.example/charges".parse().unwrap();
    /// let mut headers = HeaderMap::new();
    /// headers.insert("x-request-id", "r-1".parse().unwrap());
    /// let closed = Attempt::failure(&Method::POST, &url, &headers, AttemptOutcome::Closed);
    /// assert_eq!(classifier.classify(&closed), Verdict::Retry);
    /// ```
    pub fn classify(&self, attempt: &Attempt<'_>) -> Verdict {
        match &self.0 {
            Rule::Fn(rule) => rule(attempt),
            Rule::Closure(rule) => rule(attempt),
        }
    }
}

impl PartialEq for Classifier {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Rule::Fn(a), Rule::Fn(b)) => std::ptr::fn_addr_eq(*a, *b),
            (Rule::Closure(a), Rule::Closure(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl fmt::Debug for Classifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Rule::Fn(_) => "Classifier(fn)",
            Rule::Closure(_) => "Classifier(closure)",
        })
    }
}

/// What a [`Classifier`] sees of one attempt: the request, and the response or the error.
///
/// The request is the call's as built (its headers include an `Idempotency-Key` the call added,
/// not the client's default headers).
///
/// # Examples
///
/// A classifier is a plain function, tested without a server:
///
/// ```
/// use api_toolkit::reqwest::header::{HeaderMap, HeaderValue};
/// use api_toolkit::{Attempt, Method, StatusCode, Verdict};
///
/// fn keyed_posts(attempt: &Attempt<'_>) -> Verdict {
///     let server_error = attempt.status().is_some_and(|s| s.is_server_error());
///     if attempt.method() == Method::POST && server_error && attempt.idempotency_key().is_some() {
///         Verdict::Retry
///     } else {
///         Verdict::Defer
///     }
/// }
///
/// let url = "https://api.example/charges".parse().unwrap();
/// let mut keyed = HeaderMap::new();
/// keyed.insert("idempotency-key", HeaderValue::from_static("k-1"));
/// let empty = HeaderMap::new();
/// let attempt = Attempt::response(&Method::POST, &url, &keyed, StatusCode::BAD_GATEWAY, &empty, b"");
/// assert_eq!(keyed_posts(&attempt), Verdict::Retry);
/// let unkeyed = Attempt::response(&Method::POST, &url, &empty, StatusCode::BAD_GATEWAY, &empty, b"");
/// assert_eq!(keyed_posts(&unkeyed), Verdict::Defer);
/// ```
#[derive(Clone, Copy)]
pub struct Attempt<'a> {
    pub(crate) method: &'a Method,
    pub(crate) url: &'a Url,
    pub(crate) request_headers: &'a HeaderMap,
    pub(crate) number: u32,
    pub(crate) replayable: bool,
    pub(crate) outcome: AttemptOutcome,
    pub(crate) response_headers: Option<&'a HeaderMap>,
    pub(crate) body: &'a [u8],
}

impl<'a> Attempt<'a> {
    /// A first attempt that received a response: for testing a classifier.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::reqwest::header::HeaderMap;
    /// use api_toolkit::{Attempt, Method, StatusCode};
    ///
    /// let url = "https://api.example/orders".parse().unwrap();
    /// let (request_headers, response_headers) = (HeaderMap::new(), HeaderMap::new());
    /// let attempt = Attempt::response(&Method::GET, &url, &request_headers, StatusCode::CONFLICT, &response_headers, b"busy");
    /// assert_eq!((attempt.status(), attempt.body(), attempt.number()), (Some(StatusCode::CONFLICT), &b"busy"[..], 1));
    /// ```
    pub fn response(
        method: &'a Method,
        url: &'a Url,
        request_headers: &'a HeaderMap,
        status: StatusCode,
        response_headers: &'a HeaderMap,
        body: &'a [u8],
    ) -> Self {
        Attempt {
            response_headers: Some(response_headers),
            body,
            ..Attempt::failure(method, url, request_headers, AttemptOutcome::Status(status))
        }
    }

    /// A first attempt that failed without a response (`outcome` is not a
    /// [`Status`](AttemptOutcome::Status)): for testing a classifier.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::reqwest::header::HeaderMap;
    /// use api_toolkit::{Attempt, AttemptOutcome, Method};
    ///
    /// let url = "https://api.example/orders".parse().unwrap();
    /// let headers = HeaderMap::new();
    /// let timeout = Attempt::failure(&Method::GET, &url, &headers, AttemptOutcome::Timeout);
    /// assert_eq!((timeout.status(), timeout.response_headers()), (None, None));
    /// ```
    pub fn failure(
        method: &'a Method,
        url: &'a Url,
        request_headers: &'a HeaderMap,
        outcome: AttemptOutcome,
    ) -> Self {
        Attempt {
            method,
            url,
            request_headers,
            number: 1,
            replayable: true,
            outcome,
            response_headers: None,
            body: &[],
        }
    }

    /// The same attempt with another number (1 for the first): for testing a rule that
    /// depends on it.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::reqwest::header::HeaderMap;
    /// use api_toolkit::{Attempt, AttemptOutcome, Method, Verdict};
    ///
    /// // One retry for a timeout, whatever max_retries allows.
    /// let rule = |attempt: &Attempt<'_>| match attempt.outcome() {
    ///     AttemptOutcome::Timeout if attempt.number() >= 2 => Verdict::Stop,
    ///     _ => Verdict::Defer,
    /// };
    /// let url = "https://api.example/".parse().unwrap();
    /// let headers = HeaderMap::new();
    /// let first = Attempt::failure(&Method::GET, &url, &headers, AttemptOutcome::Timeout);
    /// assert_eq!((rule(&first), rule(&first.with_number(2))), (Verdict::Defer, Verdict::Stop));
    /// ```
    #[must_use]
    pub fn with_number(self, number: u32) -> Self {
        Attempt { number, ..self }
    }

    /// The request's method.
    pub fn method(&self) -> &'a Method {
        self.method
    }

    /// The request's URL (the first one, before any redirect).
    pub fn url(&self) -> &'a Url {
        self.url
    }

    /// The request's headers.
    pub fn request_headers(&self) -> &'a HeaderMap {
        self.request_headers
    }

    /// The request's `Idempotency-Key`, the caller's or the one the call generated.
    pub fn idempotency_key(&self) -> Option<&'a HeaderValue> {
        self.request_headers.get(IDEMPOTENCY_KEY)
    }

    /// Which attempt this is: 1 for the first, 2 for the first retry.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// Whether the request's body is one that can always be sent again (false for a stream,
    /// which is never retried whatever the verdict, unless `replay_limit` kept it whole or
    /// the attempt never read it).
    pub fn body_replayable(&self) -> bool {
        self.replayable
    }

    /// What the attempt produced: a status, or the kind of failure
    /// ([`Connect`](AttemptOutcome::Connect): the connection was never established;
    /// [`Timeout`](AttemptOutcome::Timeout); [`Closed`](AttemptOutcome::Closed) after sending;
    /// [`Other`](AttemptOutcome::Other)).
    pub fn outcome(&self) -> AttemptOutcome {
        self.outcome
    }

    /// The response's status, if a response arrived.
    pub fn status(&self) -> Option<StatusCode> {
        match self.outcome {
            AttemptOutcome::Status(status) => Some(status),
            _ => None,
        }
    }

    /// The response's headers, if a response arrived.
    pub fn response_headers(&self) -> Option<&'a HeaderMap> {
        self.response_headers
    }

    /// The first bytes of the response's body: at most
    /// [`classify_body_bytes`](crate::RetrySettings::classify_body_bytes) (empty by default).
    /// The caller still receives the whole body.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }
}

impl fmt::Debug for Attempt<'_> {
    /// Without header values, the URL's query or credentials: it may end up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attempt")
            .field("method", self.method)
            .field("url", &crate::redact::redacted(self.url).as_str())
            .field("number", &self.number)
            .field("outcome", &self.outcome)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}
