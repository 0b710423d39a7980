//! [`Session`]: a `reqwest::Client` plus retry settings, and the one loop that retries.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, Request, Response};

use crate::budget::BudgetState;
use crate::host_gate::HostGate;
use crate::policy::Active;
use crate::record::RetryEvent;
use crate::settings_cell::SettingsCell;
use crate::state::breaker::HostBreaker;
use crate::state::latency::Latencies;
use crate::state::pacing::HostQuota;
use crate::state::throttle::HostThrottle;
use crate::state::{HostStore, MAX_HOSTS};
use crate::stats::{Counters, Stats};
use crate::transport::{Own, Sender};
use crate::{
    attempt, call, Classifier, Error, IntoUrl, RequestBuilder, Result, RetrySettings, SettingsError,
};

/// A retrying HTTP session: reqwest's connection pool plus [`RetrySettings`].
///
/// Cheap to clone: clones share one connection pool and one settings value, so
/// [`set_retry_settings`](Session::set_retry_settings) on any clone applies to all of them.
/// Each call reads the settings once, when it starts, and keeps them to the end.
///
/// # Examples
///
/// ```
/// use api_toolkit::{RetrySettings, Session};
///
/// let session = Session::new(RetrySettings { max_retries: 2, ..RetrySettings::default() })?;
/// let clone = session.clone();
/// clone.set_retry_settings(RetrySettings { max_retries: 5, ..session.retry_settings() })?;
/// assert_eq!(session.retry_settings().max_retries, 5);
/// # Ok::<(), api_toolkit::Error>(())
/// ```
#[derive(Clone)]
pub struct Session {
    shared: Arc<Shared>,
}

/// What the clones of a session share.
pub(crate) struct Shared {
    pub(crate) sender: Sender,
    // Read once per call without a lock a writer could hold up.
    settings: SettingsCell,
    pub(crate) stats: Counters,
    pub(crate) budget: BudgetState,
    pub(crate) host_gate: HostGate,
    /// The circuit breakers, one per origin; touched only by calls with a breaker.
    pub(crate) breakers: HostStore<HostBreaker>,
    /// The adaptive throttles, one per origin; touched only by calls with throttling.
    pub(crate) throttles: HostStore<HostThrottle>,
    /// What remains of each origin's rate limit; touched only by calls with pacing.
    pub(crate) pacing: HostStore<HostQuota>,
    /// Recent latencies, one ring per origin; touched only by calls with an adaptive hedging
    /// delay.
    pub(crate) latencies: HostStore<Latencies>,
    /// The fleet whose workers share these hosts' state ([`SessionBuilder::fleet`]).
    pub(crate) fleet: Option<crate::fleet::Link>,
    pub(crate) on_retry: Option<RetryHook>,
    /// [`SessionBuilder::timeout`]: kept here too, because a limit written into a request
    /// replaces the client's in reqwest, and an attempt's limit is the shortest of all.
    pub(crate) timeout: Option<Duration>,
    /// Whether the client cuts a connect still pending at its attempt's limit
    /// ([`attempt::ConnectLimitLayer`]): sessions built with a time limit.
    pub(crate) cuts_connects: bool,
    /// Whether the session built its client, and so knows it: it learns which attempts a
    /// server answered with a redirect ([`attempt::noting_answers`]), and the client enforces
    /// the session's `timeout`. Not for a client built elsewhere ([`SessionBuilder::client`]),
    /// nor for a service or a middleware chain.
    pub(crate) own_client: bool,
}

impl Shared {
    /// The settings in force now.
    #[inline]
    pub(crate) fn settings_now(&self) -> Arc<Active> {
        self.settings.load()
    }

    /// The timeout the client enforces by itself: the session's for a client it built, none it
    /// knows of for one built elsewhere.
    #[inline]
    pub(crate) fn client_timeout(&self) -> Option<Duration> {
        self.timeout.filter(|_| self.own_client)
    }

    /// A client for reqwest's request builder, which needs one to hold (it sends nothing): the
    /// session's, or for a session without one, a default client made once for the process.
    pub(crate) fn builder_client(&self) -> reqwest::Result<reqwest::Client> {
        match self.sender.client() {
            Some(client) => Ok(client.clone()),
            None => placeholder_client(),
        }
    }
}

/// The client a session without one gives reqwest's request builder.
#[cold]
fn placeholder_client() -> reqwest::Result<reqwest::Client> {
    static PLACEHOLDER: std::sync::OnceLock<Option<reqwest::Client>> = std::sync::OnceLock::new();
    match PLACEHOLDER.get_or_init(|| reqwest::Client::builder().build().ok()) {
        Some(client) => Ok(client.clone()),
        // Built again for its error, which cannot be kept.
        None => reqwest::Client::builder().build(),
    }
}

/// A hook called before each wait; shared by the sessions a [`RetryLayer`](crate::tower::RetryLayer) makes.
pub(crate) type RetryHook = Arc<dyn Fn(&RetryEvent<'_>) + Send + Sync>;

impl Session {
    /// A session with these settings and reqwest's default client.
    ///
    /// # Errors
    ///
    /// An [`InvalidSettings`](crate::ErrorKind::InvalidSettings) error naming the first bad
    /// field and value; a [`Request`](crate::ErrorKind::Request) error if the TLS backend or
    /// the system configuration cannot be loaded.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{RetrySettings, Session};
    ///
    /// let session = Session::new(RetrySettings { max_retries: 3, ..RetrySettings::default() })?;
    /// assert_eq!(session.retry_settings().max_retries, 3);
    ///
    /// let refused = Session::new(RetrySettings { status_forcelist: vec![600], ..RetrySettings::default() });
    /// assert_eq!(refused.unwrap_err().settings_error().map(|e| e.field()), Some("status_forcelist"));
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn new(settings: RetrySettings) -> Result<Session> {
        Session::builder().retry_settings(settings).build()
    }

    /// A session over a `reqwest::Client` the application already has: its connection pool,
    /// TLS, proxies, default headers and timeouts are shared with it. See
    /// [`SessionBuilder::client`] for what the session cannot know of such a client.
    ///
    /// # Errors
    ///
    /// An [`InvalidSettings`](crate::ErrorKind::InvalidSettings) error naming the first bad
    /// field and value.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{reqwest, RetrySettings, Session};
    ///
    /// let client = reqwest::Client::new(); // the application's
    /// let session = Session::from_client(client.clone(), RetrySettings { max_retries: 2, ..RetrySettings::default() })?;
    /// assert_eq!(session.retry_settings().max_retries, 2);
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn from_client(client: reqwest::Client, settings: RetrySettings) -> Result<Session> {
        Session::builder()
            .retry_settings(settings)
            .client(client)
            .build()
    }

    /// A session that sends each attempt through a tower service: your layers run inside every
    /// attempt. See [`SessionBuilder::service`].
    ///
    /// # Errors
    ///
    /// An [`InvalidSettings`](crate::ErrorKind::InvalidSettings) error naming the first bad
    /// field and value.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{reqwest, RetrySettings, Session};
    ///
    /// let service = tower::ServiceBuilder::new().service(reqwest::Client::new());
    /// let session = Session::from_service(service, RetrySettings::default())?;
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    #[cfg(feature = "tower")]
    pub fn from_service<S>(service: S, settings: RetrySettings) -> Result<Session>
    where
        S: tower_service::Service<Request, Response = Response> + Clone + Send + Sync + 'static,
        S::Error: Into<crate::transport::BoxError>,
        S::Future: Send + 'static,
    {
        Session::builder()
            .retry_settings(settings)
            .service(service)
            .build()
    }

    /// A builder for the client options: timeouts, default headers, user agent, or a whole
    /// `reqwest::ClientBuilder`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use api_toolkit::{RetrySettings, Session};
    ///
    /// let session = Session::builder()
    ///     .retry_settings(RetrySettings { max_retries: 2, ..RetrySettings::default() })
    ///     .connect_timeout(Duration::from_secs(3))
    ///     .user_agent("shop-client/1.0")
    ///     .build()?;
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn builder() -> SessionBuilder {
        SessionBuilder {
            settings: RetrySettings::default(),
            client: reqwest::Client::builder(),
            on_retry: None,
            timeout: None,
            redirect: None,
            classify: None,
            given: None,
            client_options: Vec::new(),
            fleet: None,
        }
    }

    /// A copy of the settings in force.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{RetrySettings, Session};
    ///
    /// let session = Session::new(RetrySettings::idempotent())?;
    /// assert_eq!(session.retry_settings(), RetrySettings::idempotent());
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn retry_settings(&self) -> RetrySettings {
        self.shared.settings.peek().settings.clone()
    }

    /// Replaces the settings for every clone of this session, for calls started afterwards;
    /// calls in flight finish with the settings they started with.
    ///
    /// # Errors
    ///
    /// An [`InvalidSettings`](crate::ErrorKind::InvalidSettings) error naming the field and the
    /// value; the previous settings then stay in force.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{RetrySettings, Session};
    ///
    /// let session = Session::new(RetrySettings::default())?;
    /// session.set_retry_settings(RetrySettings { max_retries: 4, ..session.retry_settings() })?;
    ///
    /// let error = session.set_retry_settings(RetrySettings { backoff_factor: -1.0, ..session.retry_settings() });
    /// assert!(error.unwrap_err().is_invalid_settings());
    /// assert_eq!(session.retry_settings().max_retries, 4); // still in force
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn set_retry_settings(&self, settings: RetrySettings) -> Result<()> {
        settings.validate()?;
        self.shared.settings.store(Active::new(settings));
        Ok(())
    }

    /// The underlying client, for what this crate does not wrap; `None` for a session over a
    /// tower service ([`SessionBuilder::service`]). Requests sent through it directly are not
    /// retried.
    ///
    /// # Examples
    ///
    /// ```
    /// let session = api_toolkit::Session::new(Default::default())?;
    /// let client = session.client().expect("a session builds its own client").clone();
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn client(&self) -> Option<&reqwest::Client> {
        self.shared.sender.client()
    }

    /// Starts a request with any method. An invalid URL is reported by
    /// [`send`](RequestBuilder::send).
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{Method, Session};
    ///
    /// let session = Session::new(Default::default())?;
    /// let purge = Method::from_bytes(b"PURGE").unwrap();
    /// let request = session.request(purge, "http://127.0.0.1:8080/cache/home").build()?;
    /// assert_eq!(request.method().as_str(), "PURGE");
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn request<U: IntoUrl>(&self, method: Method, url: U) -> RequestBuilder {
        let request = match url.plain_url() {
            Ok(url) => Ok(Request::new(method, url)),
            Err(url) => self.through_reqwest(method, url),
        };
        RequestBuilder::new(self.clone(), request)
    }

    /// A request started by reqwest itself, for a URL that is not plain (see [`IntoUrl`]).
    #[cold]
    fn through_reqwest(&self, method: Method, url: impl IntoUrl) -> reqwest::Result<Request> {
        self.shared
            .builder_client()?
            .request(method, url)
            .build_split()
            .1
    }

    /// Starts a GET request.
    ///
    /// # Examples
    ///
    /// ```
    /// let session = api_toolkit::Session::new(Default::default())?;
    /// let request = session.get("http://127.0.0.1:8080/orders?page=2").build()?;
    /// assert_eq!(request.method(), api_toolkit::Method::GET);
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn get<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// Starts a POST request.
    ///
    /// # Examples
    ///
    /// ```
    /// let session = api_toolkit::Session::new(Default::default())?;
    /// let request = session.post("http://127.0.0.1:8080/orders").build()?;
    /// assert_eq!(request.method(), api_toolkit::Method::POST);
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn post<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// Starts a PUT request.
    ///
    /// # Examples
    ///
    /// ```
    /// let session = api_toolkit::Session::new(Default::default())?;
    /// let request = session.put("http://127.0.0.1:8080/notes/1").build()?;
    /// assert_eq!(request.method(), api_toolkit::Method::PUT);
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn put<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    /// Starts a PATCH request.
    ///
    /// # Examples
    ///
    /// ```
    /// let session = api_toolkit::Session::new(Default::default())?;
    /// let request = session.patch("http://127.0.0.1:8080/notes/1").build()?;
    /// assert_eq!(request.method(), api_toolkit::Method::PATCH);
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn patch<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::PATCH, url)
    }

    /// Starts a DELETE request.
    ///
    /// # Examples
    ///
    /// ```
    /// let session = api_toolkit::Session::new(Default::default())?;
    /// let request = session.delete("http://127.0.0.1:8080/notes/1").build()?;
    /// assert_eq!(request.method(), api_toolkit::Method::DELETE);
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn delete<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }

    /// Starts a HEAD request.
    ///
    /// # Examples
    ///
    /// ```
    /// let session = api_toolkit::Session::new(Default::default())?;
    /// let request = session.head("http://127.0.0.1:8080/health").build()?;
    /// assert_eq!(request.method(), api_toolkit::Method::HEAD);
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn head<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::HEAD, url)
    }

    /// Sends a ready `reqwest::Request`, retrying it as the settings say.
    ///
    /// One call makes at most `1 + max_retries` attempts. Every attempt sends the same bytes; a
    /// streaming body, which cannot be replayed, is sent once and never retried.
    ///
    /// # Errors
    ///
    /// - [`Request`](crate::ErrorKind::Request): the last attempt got no response (connect
    ///   failure, timeout, reset), or the failure could not be retried;
    ///   [`Error::attempt_count`] says how many attempts were made.
    /// - [`Status`](crate::ErrorKind::Status): with `raise_on_status`, retries were exhausted on
    ///   a status of `status_forcelist`, or with `error_for_status` the final status was 400 or
    ///   more; [`Error::into_response`] gives the response back.
    /// - [`Classifier`](crate::ErrorKind::Classifier): the classifier panicked.
    /// - [`Service`](crate::ErrorKind::Service): a tower service the session sends through
    ///   failed with an error of its own, or panicked.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future stops the call: an attempt in flight is abandoned (its connection
    /// closed) and no further attempt starts, whether it was dropped mid-request or mid-wait.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{reqwest, Method, RetrySettings, Session};
    /// # use std::io::{Read, Write};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("http://{}/health", listener.local_addr()?);
    /// # std::thread::spawn(move || {
    /// #     let (mut stream, _) = listener.accept().unwrap();
    /// #     let _ = stream.read(&mut [0; 4096]);
    /// #     stream.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
    /// # });
    ///
    /// let session = Session::new(RetrySettings { max_retries: 2, ..RetrySettings::default() })?;
    /// let request = reqwest::Request::new(Method::GET, url.parse()?); // built elsewhere
    /// let response = session.execute(request).await?;
    /// assert_eq!(response.status(), 204);
    /// # Ok(()) }
    /// ```
    pub fn execute(
        &self,
        request: reqwest::Request,
    ) -> impl Future<Output = Result<Response>> + Send + 'static {
        call::run(
            self.clone(),
            Own,
            Ok(request),
            call::Origin::Ready,
            call::CallSettings::Session,
        )
    }

    /// The settings in force, shared, for a call that starts now.
    #[inline]
    pub(crate) fn current_settings(&self) -> Arc<Active> {
        self.shared.settings_now()
    }

    #[inline]
    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// A snapshot of the counters shared by this session's clones: calls, attempts, retries by
    /// reason, give-ups and budget refusals.
    ///
    /// # Examples
    ///
    /// ```
    /// let session = api_toolkit::Session::new(Default::default())?;
    /// assert_eq!(session.stats().calls, 0);
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn stats(&self) -> Stats {
        let mut stats = self.shared.stats.snapshot();
        if let Some(fleet) = &self.shared.fleet {
            stats.fleet_fallbacks = fleet.fallbacks();
        }
        stats
    }
}

impl fmt::Debug for Session {
    // reqwest's Debug would show default header values (credentials among them).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("retry_settings", &self.shared.settings.peek().settings)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Session`]: retry settings and client options, in reqwest's builder style.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use api_toolkit::{RetrySettings, Session};
///
/// let session = Session::builder()
///     .retry_settings(RetrySettings {
///         max_retries: 3,
///         attempt_timeout: Some(Duration::from_secs(10)),
///         ..RetrySettings::default()
///     })
///     .user_agent("shop-client/1.0")
///     .build()?;
/// # Ok::<(), api_toolkit::Error>(())
/// ```
#[must_use]
pub struct SessionBuilder {
    settings: RetrySettings,
    client: reqwest::ClientBuilder,
    on_retry: Option<RetryHook>,
    timeout: Option<Duration>,
    redirect: Option<reqwest::redirect::Policy>,
    classify: Option<Classifier>,
    /// What to send through instead of a client of its own ([`SessionBuilder::client`],
    /// [`SessionBuilder::service`]).
    given: Option<Sender>,
    /// The client options set, which a client built elsewhere cannot take.
    client_options: Vec<&'static str>,
    fleet: Option<crate::fleet::Link>,
}

impl SessionBuilder {
    /// The retry settings (default: [`RetrySettings::default`]), checked by
    /// [`build`](SessionBuilder::build).
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{RetrySettings, Session};
    ///
    /// let session = Session::builder().retry_settings(RetrySettings::idempotent()).build()?;
    /// assert!(session.retry_settings().keyed_retries);
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn retry_settings(mut self, settings: RetrySettings) -> Self {
        self.settings = settings;
        self
    }

    /// The classifier of the session's settings (see [`Classifier`]): the same as setting
    /// [`RetrySettings::classify`] in [`retry_settings`](SessionBuilder::retry_settings), given
    /// before or after.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{Classifier, RetrySettings, Session, Verdict};
    ///
    /// let session = Session::builder()
    ///     .retry_settings(RetrySettings { max_retries: 2, ..RetrySettings::default() })
    ///     .classify(Classifier::new(|attempt| match attempt.status().map(|s| s.as_u16()) {
    ///         Some(413) => Verdict::Stop, // never retried, `Retry-After` or not
    ///         _ => Verdict::Defer,
    ///     }))
    ///     .build()?;
    /// assert!(session.retry_settings().classify.is_some());
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn classify(mut self, classifier: Classifier) -> Self {
        self.classify = Some(classifier);
        self
    }

    /// The limit for each attempt, from connecting to the end of the body: the same limit as
    /// [`RetrySettings::attempt_timeout`], which can also be declared with `#[retry]`, read from
    /// configuration and changed at run time. An attempt's limit is the shortest of this, the
    /// request's own [`timeout`](crate::RequestBuilder::timeout), `attempt_timeout` and the time
    /// left before `total_timeout` (see [the timeouts](crate#timeouts-what-bounds-what)).
    ///
    /// With a client built elsewhere ([`client`](SessionBuilder::client)), the session writes
    /// this limit into each request rather than into the client.
    #[deprecated(
        since = "0.1.0",
        note = "use `RetrySettings::attempt_timeout`: the same limit, declared with the other settings"
    )]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.client = self.client.timeout(timeout);
        self.timeout = Some(timeout);
        self
    }

    /// How redirects are followed (default: reqwest's, at most 10 hops). Set it here rather
    /// than on a `reqwest::ClientBuilder`: the session wraps it to learn whether a server
    /// answered an attempt before a later hop failed (see [`build`](SessionBuilder::build)).
    ///
    /// # Examples
    ///
    /// ```
    /// let session = api_toolkit::Session::builder()
    ///     .redirect(api_toolkit::reqwest::redirect::Policy::none())
    ///     .build()?;
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn redirect(mut self, policy: reqwest::redirect::Policy) -> Self {
        self.client_options.push("redirect");
        self.redirect = Some(policy);
        self
    }

    /// The limit for establishing a connection. A connect timeout is retried for any method.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let session = api_toolkit::Session::builder().connect_timeout(Duration::from_secs(3)).build()?;
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.client_options.push("connect_timeout");
        self.client = self.client.connect_timeout(timeout);
        self
    }

    /// The limit for each read of the response: a server that stalls mid-body fails the
    /// attempt, even without an `attempt_timeout`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let session = api_toolkit::Session::builder().read_timeout(Duration::from_secs(10)).build()?;
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.client_options.push("read_timeout");
        self.client = self.client.read_timeout(timeout);
        self
    }

    /// Headers sent with every request.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
    ///
    /// let mut token = HeaderValue::from_static("Bearer t0ken");
    /// token.set_sensitive(true); // kept out of reqwest's Debug
    /// let session = api_toolkit::Session::builder()
    ///     .default_headers(HeaderMap::from_iter([(AUTHORIZATION, token)]))
    ///     .build()?;
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn default_headers(mut self, headers: HeaderMap) -> Self {
        self.client_options.push("default_headers");
        self.client = self.client.default_headers(headers);
        self
    }

    /// The `User-Agent` header sent with every request. An invalid value is reported by
    /// [`build`](SessionBuilder::build).
    ///
    /// # Examples
    ///
    /// ```
    /// let session = api_toolkit::Session::builder().user_agent("shop-client/1.0").build()?;
    /// assert!(api_toolkit::Session::builder().user_agent("bad\nagent").build().is_err());
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn user_agent<V>(mut self, value: V) -> Self
    where
        V: TryInto<HeaderValue>,
        V::Error: Into<http::Error>,
    {
        self.client_options.push("user_agent");
        self.client = self.client.user_agent(value);
        self
    }

    /// Replaces the client builder with one configured by hand (proxies, TLS, DNS…). Options
    /// set on this builder before are dropped with the builder they were set on; options set
    /// afterwards apply on top of it. Set the redirect policy with
    /// [`redirect`](SessionBuilder::redirect), and the timeout with
    /// [`timeout`](SessionBuilder::timeout): the session cannot read them from a
    /// `reqwest::ClientBuilder`.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{reqwest, Session};
    ///
    /// let builder = reqwest::Client::builder().no_proxy().https_only(true);
    /// let session = Session::builder().client_builder(builder).build()?;
    ///
    /// // A redirect policy hidden in a client builder is refused: the session must wrap it.
    /// let hidden = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    /// let error = Session::builder().client_builder(hidden).build().unwrap_err();
    /// assert_eq!(error.settings_error().map(|e| e.field()), Some("redirect"));
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn client_builder(mut self, builder: reqwest::ClientBuilder) -> Self {
        self.client_options.push("client_builder");
        self.client = builder;
        self.timeout = None;
        self
    }

    /// Sends through this client, built elsewhere, instead of building one: the application's
    /// pool, TLS, proxies, default headers and timeouts are shared
    /// ([`Session::from_client`]).
    ///
    /// What the session cannot know of such a client, and so does on the safe side:
    /// - **Redirects.** It cannot wrap the client's redirect policy, so it cannot tell a
    ///   connection that was never established from one to a redirect's target after a server
    ///   took the request. A connect error is then retried only for `allowed_methods`, like
    ///   any failure after sending; build the client with
    ///   `reqwest::redirect::Policy::none()` and retry-worthy redirects are yours to follow.
    /// - **Its timeout.** A limit the session writes into a request (`attempt_timeout`, the time
    ///   left before `total_timeout`) replaces the client's own timeout for that request, as in
    ///   reqwest. Give it to [`timeout`](SessionBuilder::timeout) too: it then takes part in
    ///   every attempt's limit.
    /// - **Connects cut at a limit** are timeouts, not connect errors (the safe side).
    ///
    /// The client options of this builder (`redirect`, `connect_timeout`, `read_timeout`,
    /// `default_headers`, `user_agent`, `client_builder`) cannot apply to a built client:
    /// [`build`](SessionBuilder::build) refuses them. Set them on the client's own builder.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use api_toolkit::{reqwest, RetrySettings, Session};
    ///
    /// let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    /// // The client's timeout, told to the session so that it takes part in every attempt.
    /// let settings = RetrySettings { attempt_timeout: Some(Duration::from_secs(10)), ..RetrySettings::default() };
    /// let session = Session::builder()
    ///     .client(client)
    ///     .retry_settings(settings)
    ///     .on_retry(|event| eprintln!("retrying in {:?}", event.wait()))
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.given = Some(Sender::Client(client));
        self
    }

    /// Sends each attempt through this tower service instead of a client of its own: your
    /// layers (token refresh, signing, tracing, metrics) run inside every attempt, and the
    /// session's rules, waits and limits around them ([`Session::from_service`]).
    ///
    /// - **Limits.** An attempt's limit (the shortest of [`timeout`](SessionBuilder::timeout),
    ///   the request's own, `attempt_timeout` and the time left before `total_timeout`) is
    ///   written into the request, for the `reqwest::Client` at the bottom, and enforced by the
    ///   session around the whole service too: a service that is never ready, or a layer that
    ///   never answers, cannot hold a call past its limits. An attempt cut before the service
    ///   was ready was never handed the request: it is retried as a connection never
    ///   established would be, for any method.
    /// - **Errors.** reqwest's own error, passed through your layers (boxed or not), keeps its
    ///   meaning. Any other error of the service, or a panic in it, ends the call with an
    ///   [`ErrorKind::Service`](crate::ErrorKind::Service) error and is not retried unless a
    ///   [`Classifier`] says so; the session stays usable.
    /// - **What the session cannot know** of the client at the bottom is as for
    ///   [`client`](SessionBuilder::client): its redirects (a connect error is retried only for
    ///   `allowed_methods`) and its timeout. The client options of this builder are refused.
    ///
    /// Each attempt calls a clone of the service (tower's convention), after `poll_ready`.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{reqwest, RetrySettings, Session};
    /// use tower::ServiceBuilder;
    ///
    /// let client = reqwest::Client::new();
    /// let signed = ServiceBuilder::new()
    ///     .map_request(|mut request: reqwest::Request| {
    ///         // runs on every attempt: a retry carries a fresh signature
    ///         request.headers_mut().insert("x-signed-at", "now".parse().unwrap());
    ///         request
    ///     })
    ///     .service(client);
    /// let session = Session::builder()
    ///     .retry_settings(RetrySettings { max_retries: 2, ..RetrySettings::default() })
    ///     .service(signed)
    ///     .build()?;
    /// assert!(session.client().is_none());
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    #[cfg(feature = "tower")]
    pub fn service<S>(mut self, service: S) -> Self
    where
        S: tower_service::Service<Request, Response = Response> + Clone + Send + Sync + 'static,
        S::Error: Into<crate::transport::BoxError>,
        S::Future: Send + 'static,
    {
        self.given = Some(Sender::Service(crate::transport::service::boxed(service)));
        self
    }

    /// Sends through `sender` (the front ends' own, the simulator's).
    #[cfg(any(
        feature = "tower",
        feature = "reqwest-middleware",
        feature = "test-util"
    ))]
    pub(crate) fn sender(mut self, sender: Sender) -> Self {
        self.given = Some(sender);
        self
    }

    /// The fleet of a layer's sessions ([`fleet`](SessionBuilder::fleet)), if any.
    #[cfg(feature = "tower")]
    pub(crate) fn fleet_link(mut self, fleet: Option<crate::fleet::Link>) -> Self {
        self.fleet = fleet;
        self
    }

    /// The hook of [`on_retry`](SessionBuilder::on_retry), shared.
    #[cfg(feature = "tower")]
    pub(crate) fn on_retry_shared(mut self, hook: Option<RetryHook>) -> Self {
        self.on_retry = hook;
        self
    }

    /// A hook called before each wait for a retry, with the call's attempts so far. It runs on
    /// the calling task: keep it short and never block in it.
    ///
    /// # Examples
    ///
    /// ```
    /// let session = api_toolkit::Session::builder()
    ///     .on_retry(|event| eprintln!("{} {}: retrying in {:?}", event.method(), event.url().path(), event.wait()))
    ///     .build()?;
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn on_retry<F>(mut self, hook: F) -> Self
    where
        F: Fn(&RetryEvent<'_>) + Send + Sync + 'static,
    {
        self.on_retry = Some(Arc::new(hook));
        self
    }

    /// Shares the state of the session's hosts with the other workers of `fleet` (feature
    /// `redis`): a host's `Retry-After` pause, its quota (with pacing), its open circuit
    /// breaker, and the retry budget. The session keeps its own state too, and falls back to it
    /// whenever Redis is slow or down. See the README's "Fleet" section.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use api_toolkit::{Fleet, RetrySettings, Session};
    ///
    /// # async fn run() -> api_toolkit::Result<()> {
    /// let fleet = Fleet::redis("redis://127.0.0.1:6379/").name("payments").connect().await?;
    /// let session = Session::builder().fleet(&fleet).build()?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "redis")]
    pub fn fleet(mut self, fleet: &crate::Fleet) -> Self {
        self.fleet = Some(fleet.link());
        self
    }

    /// Builds the session.
    ///
    /// # Errors
    ///
    /// An [`InvalidSettings`](crate::ErrorKind::InvalidSettings) error naming the first bad
    /// field and value; the same error, for the field `redirect`, when a `reqwest::ClientBuilder`
    /// given to [`client_builder`](SessionBuilder::client_builder) has a redirect policy of its
    /// own (set it with [`redirect`](SessionBuilder::redirect)); the same error, for the field
    /// `client`, naming the option, when a client built elsewhere
    /// ([`client`](SessionBuilder::client)) is given with a client option; or a
    /// [`Request`](crate::ErrorKind::Request) error from reqwest's client builder (an invalid
    /// header, a TLS backend that cannot load).
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{reqwest, Session};
    ///
    /// let session = Session::builder().user_agent("shop-client/1.0").build()?;
    ///
    /// // A client built elsewhere takes no client options: set them on its own builder.
    /// let error = Session::builder().client(reqwest::Client::new()).user_agent("shop-client/1.0").build().unwrap_err();
    /// assert_eq!(error.settings_error().map(|e| (e.field(), e.value())), Some(("client", "user_agent")));
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn build(mut self) -> Result<Session> {
        if let Some(classifier) = self.classify.take() {
            self.settings.classify = Some(classifier);
        }
        self.settings.validate()?;
        let (sender, cuts_connects, own_client) = match self.given.take() {
            Some(sender) => {
                if let Some(option) = self.client_options.first() {
                    let (field, why) = if sender.client().is_some() {
                        ("client", "a client built elsewhere takes no client options: set them on its own builder")
                    } else {
                        ("service", "a session over a service takes no client options: set them on the client at the bottom of the service")
                    };
                    return Err(SettingsError::new(field, option, why).into());
                }
                (sender, false, false)
            }
            None => {
                let (client, cuts_connects) = self.build_client()?;
                (Sender::Client(client), cuts_connects, true)
            }
        };
        let shared = Shared {
            sender,
            settings: SettingsCell::new(Active::new(self.settings)),
            stats: Counters::new(),
            budget: BudgetState::new(),
            host_gate: HostGate::default(),
            breakers: HostStore::new(MAX_HOSTS),
            throttles: HostStore::new(MAX_HOSTS),
            pacing: HostStore::new(MAX_HOSTS),
            latencies: HostStore::new(MAX_HOSTS),
            fleet: self.fleet,
            on_retry: self.on_retry,
            timeout: self.timeout,
            cuts_connects,
            own_client,
        };
        let shared = Arc::new(shared);
        if let Some(fleet) = &shared.fleet {
            let weak = Arc::downgrade(&shared);
            fleet.attach(weak);
        }
        Ok(Session { shared })
    }

    /// The session's own client, and whether it cuts connects at an attempt's limit.
    fn build_client(&mut self) -> Result<(reqwest::Client, bool)> {
        let builder = std::mem::take(&mut self.client);
        // reqwest shows a redirect policy in its builder's Debug only when it is not the
        // default; the session must wrap the policy in force, so it cannot take one it cannot see.
        if format!("{builder:?}").contains("redirect_policy") {
            return Err(SettingsError::new(
                "redirect",
                "a policy set on the reqwest::ClientBuilder",
                "set the redirect policy with SessionBuilder::redirect",
            )
            .into());
        }
        let policy = self.redirect.take().unwrap_or_default();
        let mut builder = builder.redirect(attempt::noting_answers(policy));
        // Any connector layer costs every request about 4,400 instructions in reqwest (the
        // connector is cloned, boxed, per request): only sessions built with a time limit,
        // which asked for it, pay for the connect cut.
        let limited = self.timeout.is_some()
            || self.settings.attempt_timeout.is_some()
            || self.settings.total_timeout.is_some();
        if limited {
            builder = builder.connector_layer(attempt::ConnectLimitLayer);
        }
        Ok((builder.build().map_err(Error::not_sent)?, limited))
    }
}

impl fmt::Debug for SessionBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionBuilder")
            .field("retry_settings", &self.settings)
            .field("on_retry", &self.on_retry.is_some())
            .field("timeout", &self.timeout)
            .field("client", &self.given.is_some())
            .finish_non_exhaustive()
    }
}
