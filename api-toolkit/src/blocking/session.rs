//! The blocking [`Session`]: an async session and the runtime its calls run on.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::Method;

use super::{RequestBuilder, Response};
use crate::{Classifier, IntoUrl, Result, RetryEvent, RetrySettings, Stats};

/// The runtime's worker threads: they run each call (the retry loop, the classifier, the hook)
/// beside the connections and timers they drive, while the caller waits. One is enough: against
/// a loopback server on two cores, one thread calling in sequence and eight calling at once made
/// as many calls a second with one worker as with two (within the runs' spread), and each
/// session (so each connector) costs one thread, not two.
const WORKER_THREADS: usize = 1;

/// A blocking retrying HTTP session: the async [`crate::Session`] and a runtime that drives its
/// calls.
///
/// Cheap to clone: clones share the async session (its connection pool, settings and
/// counters) and the runtime, so [`set_retry_settings`](Session::set_retry_settings) on any
/// clone applies to all of them. It can be sent to and used from many threads at once; each
/// call blocks only the thread that makes it.
///
/// Each call is bounded by the settings, not by the caller: see [the module
/// docs](crate::blocking#how-long-a-call-may-block) and set `total_timeout`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use api_toolkit::blocking::Session;
/// use api_toolkit::RetrySettings;
///
/// let session = Session::new(RetrySettings {
///     max_retries: 2,
///     total_timeout: Some(Duration::from_secs(30)),
///     ..RetrySettings::default()
/// })?;
/// let clone = session.clone();
/// clone.set_retry_settings(RetrySettings { max_retries: 5, ..session.retry_settings() })?;
/// assert_eq!(session.retry_settings().max_retries, 5);
/// # Ok::<(), api_toolkit::Error>(())
/// ```
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

/// What the clones of a blocking session, and the responses of its calls, share.
pub(super) struct Inner {
    session: crate::Session,
    /// Always `Some` until dropped: taken out in [`Drop`] to shut it down without blocking.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Inner {
    /// Runs `future` to its end on the calling thread (a body's read, after the call).
    ///
    /// # Panics
    ///
    /// Inside an async runtime, as tokio's `block_on` does.
    pub(super) fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime().block_on(future)
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.runtime
            .as_ref()
            .expect("the runtime lives as long as the session")
    }

    /// Runs a call on the runtime's thread, beside the connections it drives, and waits for
    /// it: the wake-ups between the call and its connection then stay on one thread, which
    /// made blocking calls about 6% faster than polling the call on the caller's thread
    /// (BENCHMARKS.md, "Front ends"). The caller's span and subscriber go with it.
    pub(super) fn run<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        use tracing::instrument::{Instrument, WithSubscriber};
        let runtime = self.runtime();
        let future = future
            .instrument(tracing::Span::current())
            .with_current_subscriber();
        match runtime.block_on(runtime.spawn(future)) {
            Ok(output) => output,
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        }
    }
}

impl Drop for Inner {
    // Dropping a runtime waits for its threads, which tokio refuses (with a panic) inside an
    // async context; a session dropped there must not panic. Nothing can be waiting on the
    // runtime any more: every call and response holds this value.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Session {
    /// A session with these settings and reqwest's default client.
    ///
    /// # Errors
    ///
    /// See [`crate::Session::new`].
    ///
    /// # Panics
    ///
    /// If the runtime's thread cannot be started, as `std::thread::spawn` panics.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use api_toolkit::{blocking::Session, RetrySettings};
    ///
    /// let session = Session::new(RetrySettings { total_timeout: Some(Duration::from_secs(30)), ..RetrySettings::default() })?;
    /// assert!(Session::new(RetrySettings { max_retries: 2, backoff_factor: -1.0, ..RetrySettings::default() }).is_err());
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn new(settings: RetrySettings) -> Result<Session> {
        Session::builder().retry_settings(settings).build()
    }

    /// A session over a `reqwest::Client` the application already has; see
    /// [`crate::Session::from_client`].
    ///
    /// # Errors
    ///
    /// See [`crate::Session::from_client`].
    ///
    /// # Panics
    ///
    /// If the runtime's thread cannot be started, as `std::thread::spawn` panics.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{blocking::Session, reqwest, RetrySettings};
    ///
    /// let client = reqwest::Client::new(); // the application's, async
    /// let session = Session::from_client(client, RetrySettings::idempotent())?;
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn from_client(client: reqwest::Client, settings: RetrySettings) -> Result<Session> {
        Session::builder()
            .retry_settings(settings)
            .client(client)
            .build()
    }

    /// A builder for the client options, as [`crate::Session::builder`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use api_toolkit::blocking::Session;
    /// use api_toolkit::RetrySettings;
    ///
    /// let session = Session::builder()
    ///     .retry_settings(RetrySettings {
    ///         attempt_timeout: Some(Duration::from_secs(10)),
    ///         total_timeout: Some(Duration::from_secs(30)),
    ///         ..RetrySettings::default()
    ///     })
    ///     .user_agent("shop-client/1.0")
    ///     .build()?;
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn builder() -> SessionBuilder {
        SessionBuilder {
            inner: crate::Session::builder(),
        }
    }

    /// A blocking session over this async one, with a runtime of its own.
    fn over(session: crate::Session) -> Session {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKER_THREADS)
            .thread_name("api-toolkit-blocking")
            .enable_all()
            .build()
            .expect("the blocking session's runtime starts");
        Session {
            inner: Arc::new(Inner {
                session,
                runtime: Some(runtime),
            }),
        }
    }

    /// The async session this one sends through: its clones share the settings, the connection
    /// pool and the counters with this one, for code that has both.
    ///
    /// Its calls are awaited on the caller's own runtime; the connections they open are driven
    /// there.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{blocking::Session, RetrySettings};
    ///
    /// let blocking = Session::new(RetrySettings::default())?;
    /// let session = blocking.as_async().clone(); // for the async part of the program
    /// session.set_retry_settings(RetrySettings { max_retries: 2, ..RetrySettings::default() })?;
    /// assert_eq!(blocking.retry_settings().max_retries, 2); // one settings value
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn as_async(&self) -> &crate::Session {
        &self.inner.session
    }

    /// A copy of the settings in force.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{blocking::Session, RetrySettings};
    ///
    /// let session = Session::new(RetrySettings::idempotent())?;
    /// assert_eq!(session.retry_settings(), RetrySettings::idempotent());
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn retry_settings(&self) -> RetrySettings {
        self.inner.session.retry_settings()
    }

    /// Replaces the settings for every clone of this session, for calls started afterwards.
    ///
    /// # Errors
    ///
    /// See [`crate::Session::set_retry_settings`]: on error the previous settings stay in
    /// force.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{blocking::Session, RetrySettings};
    ///
    /// let session = Session::new(RetrySettings::default())?;
    /// session.set_retry_settings(RetrySettings { max_retries: 4, ..session.retry_settings() })?;
    /// assert!(session.set_retry_settings(RetrySettings { status_forcelist: vec![99], ..session.retry_settings() }).is_err());
    /// assert_eq!(session.retry_settings().max_retries, 4);
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn set_retry_settings(&self, settings: RetrySettings) -> Result<()> {
        self.inner.session.set_retry_settings(settings)
    }

    /// A snapshot of the counters shared by this session's clones (and its async session's).
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{blocking::Session, RetrySettings};
    /// # use std::io::{Read, Write};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("http://{}/orders", listener.local_addr()?);
    /// # std::thread::spawn(move || {
    /// #     for reply in ["503 Service Unavailable", "200 OK"] {
    /// #         let (mut stream, _) = listener.accept().unwrap();
    /// #         let _ = stream.read(&mut [0; 4096]);
    /// #         let body = if reply.starts_with("200") { "" } else { "" };
    /// #         let head = format!("HTTP/1.1 {reply}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
    /// #         stream.write_all(format!("{head}{body}").as_bytes()).unwrap();
    /// #     }
    /// # });
    ///
    /// let session = Session::new(RetrySettings { max_retries: 2, backoff_factor: 0.02, ..RetrySettings::default() })?;
    /// session.get(url).send()?;
    /// let stats = session.stats();
    /// assert_eq!((stats.calls, stats.attempts, stats.retries()), (1, 2, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&self) -> Stats {
        self.inner.session.stats()
    }

    /// Starts a request with any method.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{blocking::Session, Method};
    ///
    /// let session = Session::new(Default::default())?;
    /// let request = session.request(Method::OPTIONS, "http://127.0.0.1:8080/orders").build()?;
    /// assert_eq!(request.method(), Method::OPTIONS);
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn request<U: IntoUrl>(&self, method: Method, url: U) -> RequestBuilder {
        RequestBuilder::new(
            Arc::clone(&self.inner),
            self.inner.session.request(method, url),
        )
    }

    /// Starts a GET request.
    ///
    /// # Examples
    ///
    /// ```
    /// let session = api_toolkit::blocking::Session::new(Default::default())?;
    /// let request = session.get("http://127.0.0.1:8080/orders").build()?;
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
    /// let session = api_toolkit::blocking::Session::new(Default::default())?;
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
    /// let session = api_toolkit::blocking::Session::new(Default::default())?;
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
    /// let session = api_toolkit::blocking::Session::new(Default::default())?;
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
    /// let session = api_toolkit::blocking::Session::new(Default::default())?;
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
    /// let session = api_toolkit::blocking::Session::new(Default::default())?;
    /// let request = session.head("http://127.0.0.1:8080/health").build()?;
    /// assert_eq!(request.method(), api_toolkit::Method::HEAD);
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn head<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::HEAD, url)
    }

    /// Sends a ready `reqwest::Request`, retrying it as the settings say, and blocks until the
    /// call ends; see [`crate::Session::execute`].
    ///
    /// # Errors
    ///
    /// See [`crate::Session::execute`].
    ///
    /// # Panics
    ///
    /// Inside an async runtime: "Cannot start a runtime from within a runtime" (see [the module
    /// docs](crate::blocking#panics)).
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{blocking::Session, reqwest, Method, RetrySettings};
    /// # use std::io::{Read, Write};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("http://{}/orders", listener.local_addr()?);
    /// # std::thread::spawn(move || {
    /// #     for reply in ["200 OK"] {
    /// #         let (mut stream, _) = listener.accept().unwrap();
    /// #         let _ = stream.read(&mut [0; 4096]);
    /// #         let body = if reply.starts_with("200") { "pong" } else { "" };
    /// #         let head = format!("HTTP/1.1 {reply}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
    /// #         stream.write_all(format!("{head}{body}").as_bytes()).unwrap();
    /// #     }
    /// # });
    ///
    /// let session = Session::new(RetrySettings { max_retries: 2, ..RetrySettings::default() })?;
    /// let request = reqwest::Request::new(Method::GET, url.parse()?); // built elsewhere
    /// assert_eq!(session.execute(request)?.text()?, "pong");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn execute(&self, request: reqwest::Request) -> Result<Response> {
        let response = self.inner.run(self.inner.session.execute(request))?;
        Ok(Response::new(response, Arc::clone(&self.inner)))
    }

    /// A response of the async session, wrapped to be read without `.await`: for the response
    /// of a [`Status`](crate::ErrorKind::Status) error ([`Error::into_response`](crate::Error::into_response)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(session: api_toolkit::blocking::Session) -> Result<(), Box<dyn std::error::Error>> {
    /// match session.get("http://127.0.0.1:8080/orders").send() {
    ///     Ok(response) => println!("{}", response.text()?),
    ///     Err(error) if error.is_status() => {
    ///         let response = session.response(error.into_response().expect("a status error holds its response"));
    ///         eprintln!("gave up on {}: {}", response.status(), response.text()?);
    ///     }
    ///     Err(error) => return Err(error.into()),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn response(&self, response: reqwest::Response) -> Response {
        Response::new(response, Arc::clone(&self.inner))
    }
}

impl fmt::Debug for Session {
    // The async session's Debug shows the settings, never header values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("blocking::Session")
            .field(&self.inner.session)
            .finish()
    }
}

/// Configures a blocking [`Session`]: the async [`SessionBuilder`](crate::SessionBuilder)'s
/// options, forwarded.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use api_toolkit::blocking::Session;
///
/// let session = Session::builder()
///     .connect_timeout(Duration::from_secs(2))
///     .on_retry(|event| eprintln!("retrying in {:?}", event.wait()))
///     .build()?;
/// # Ok::<(), api_toolkit::Error>(())
/// ```
#[must_use]
pub struct SessionBuilder {
    inner: crate::SessionBuilder,
}

impl SessionBuilder {
    /// Applies one of the async builder's methods.
    fn map(self, f: impl FnOnce(crate::SessionBuilder) -> crate::SessionBuilder) -> Self {
        SessionBuilder {
            inner: f(self.inner),
        }
    }

    /// The retry settings: see [`crate::SessionBuilder::retry_settings`].
    pub fn retry_settings(self, settings: RetrySettings) -> Self {
        self.map(|inner| inner.retry_settings(settings))
    }

    /// The classifier of the session's settings: see [`crate::SessionBuilder::classify`].
    pub fn classify(self, classifier: Classifier) -> Self {
        self.map(|inner| inner.classify(classifier))
    }

    /// The limit for each attempt: see [`crate::SessionBuilder::timeout`].
    #[deprecated(
        since = "0.1.0",
        note = "use `RetrySettings::attempt_timeout`: the same limit, declared with the other settings"
    )]
    pub fn timeout(self, timeout: Duration) -> Self {
        #[allow(deprecated)]
        self.map(|inner| inner.timeout(timeout))
    }

    /// How redirects are followed: see [`crate::SessionBuilder::redirect`].
    pub fn redirect(self, policy: reqwest::redirect::Policy) -> Self {
        self.map(|inner| inner.redirect(policy))
    }

    /// The limit for establishing a connection: see [`crate::SessionBuilder::connect_timeout`].
    pub fn connect_timeout(self, timeout: Duration) -> Self {
        self.map(|inner| inner.connect_timeout(timeout))
    }

    /// The limit for each read of the response: see [`crate::SessionBuilder::read_timeout`].
    pub fn read_timeout(self, timeout: Duration) -> Self {
        self.map(|inner| inner.read_timeout(timeout))
    }

    /// Headers sent with every request: see [`crate::SessionBuilder::default_headers`].
    pub fn default_headers(self, headers: HeaderMap) -> Self {
        self.map(|inner| inner.default_headers(headers))
    }

    /// The `User-Agent` header: see [`crate::SessionBuilder::user_agent`].
    pub fn user_agent<V>(self, value: V) -> Self
    where
        V: TryInto<HeaderValue>,
        V::Error: Into<http::Error>,
    {
        self.map(|inner| inner.user_agent(value))
    }

    /// A client builder configured by hand: see [`crate::SessionBuilder::client_builder`].
    pub fn client_builder(self, builder: reqwest::ClientBuilder) -> Self {
        self.map(|inner| inner.client_builder(builder))
    }

    /// A client built elsewhere: see [`crate::SessionBuilder::client`].
    pub fn client(self, client: reqwest::Client) -> Self {
        self.map(|inner| inner.client(client))
    }

    /// A tower service to send each attempt through (feature `tower`): see
    /// [`crate::SessionBuilder::service`].
    #[cfg(feature = "tower")]
    pub fn service<S>(self, service: S) -> Self
    where
        S: tower_service::Service<reqwest::Request, Response = reqwest::Response>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        S::Future: Send + 'static,
    {
        self.map(|inner| inner.service(service))
    }

    /// A hook called before each wait for a retry: see [`crate::SessionBuilder::on_retry`]. It
    /// runs on the session's runtime thread, inside the caller's span.
    pub fn on_retry<F>(self, hook: F) -> Self
    where
        F: Fn(&RetryEvent<'_>) + Send + Sync + 'static,
    {
        self.map(|inner| inner.on_retry(hook))
    }

    /// Builds the session and starts its runtime.
    ///
    /// # Errors
    ///
    /// See [`crate::SessionBuilder::build`].
    ///
    /// # Panics
    ///
    /// If the runtime's thread cannot be started, as `std::thread::spawn` panics.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use api_toolkit::{blocking::Session, reqwest, RetrySettings};
    ///
    /// let session = Session::builder()
    ///     .retry_settings(RetrySettings { total_timeout: Some(Duration::from_secs(30)), ..RetrySettings::default() })
    ///     .read_timeout(Duration::from_secs(10))
    ///     .build()?;
    ///
    /// // A client built elsewhere takes no client options.
    /// let error = Session::builder().client(reqwest::Client::new()).read_timeout(Duration::from_secs(1)).build().unwrap_err();
    /// assert!(error.is_invalid_settings());
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn build(self) -> Result<Session> {
        self.inner.build().map(Session::over)
    }
}

impl fmt::Debug for SessionBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("blocking::SessionBuilder")
            .field(&self.inner)
            .finish()
    }
}
