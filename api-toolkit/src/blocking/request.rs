//! The blocking [`RequestBuilder`]: the async builder's methods, and a `send` that blocks.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Body, Version};
use serde::Serialize;

use super::session::Inner;
use super::Response;
use crate::{Classifier, Result, RetrySettings};

/// A request being built, from [`Session::get`](super::Session::get),
/// [`Session::request`](super::Session::request) and friends: the methods of the async
/// [`RequestBuilder`](crate::RequestBuilder), and a [`send`](RequestBuilder::send) that blocks.
///
/// A mistake (an invalid header, a body that does not serialize) is kept until `send` reports
/// it, as in reqwest.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use api_toolkit::blocking::Session;
///
/// let session = Session::new(Default::default())?;
/// let request = session
///     .post("http://127.0.0.1:8080/orders")
///     .header("x-request-id", "42")
///     .json(&serde_json::json!({ "sku": 7 }))
///     .timeout(Duration::from_secs(5))
///     .build()?; // or .send()?, which blocks until the call ends
/// assert_eq!(request.headers()["content-type"], "application/json");
/// # Ok::<(), api_toolkit::Error>(())
/// ```
#[must_use = "a request does nothing until it is sent"]
pub struct RequestBuilder {
    session: Arc<Inner>,
    inner: crate::RequestBuilder,
}

impl RequestBuilder {
    pub(super) fn new(session: Arc<Inner>, inner: crate::RequestBuilder) -> Self {
        RequestBuilder { session, inner }
    }

    /// Applies one of the async builder's methods.
    fn map(mut self, f: impl FnOnce(crate::RequestBuilder) -> crate::RequestBuilder) -> Self {
        self.inner = f(self.inner);
        self
    }

    /// Retries this call with these settings instead of the session's: see
    /// [`crate::RequestBuilder::retry_settings`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(session: api_toolkit::blocking::Session) -> api_toolkit::Result<()> {
    /// use api_toolkit::RetrySettings;
    ///
    /// let patient = RetrySettings { max_retries: 8, ..session.retry_settings() };
    /// let report = session.get("http://127.0.0.1:8080/report").retry_settings(patient).send()?;
    /// # Ok(()) }
    /// ```
    pub fn retry_settings(self, settings: RetrySettings) -> Self {
        self.map(|inner| inner.retry_settings(settings))
    }

    /// Sends this call once, whatever the settings say.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn demo(session: api_toolkit::blocking::Session) -> api_toolkit::Result<()> {
    /// let response = session.post("http://127.0.0.1:8080/transfers").body("{\"cents\": 500}").no_retry().send()?;
    /// # Ok(()) }
    /// ```
    pub fn no_retry(self) -> Self {
        self.map(crate::RequestBuilder::no_retry)
    }

    /// Sends this call whatever the host's circuit breaker says: see
    /// [`crate::RequestBuilder::no_circuit_breaker`].
    pub fn no_circuit_breaker(self) -> Self {
        self.map(crate::RequestBuilder::no_circuit_breaker)
    }

    /// Sends this call whatever adaptive throttling of its host says: see
    /// [`crate::RequestBuilder::no_throttling`].
    pub fn no_throttling(self) -> Self {
        self.map(crate::RequestBuilder::no_throttling)
    }

    /// Sends this call whatever pacing says of the host's quota: see
    /// [`crate::RequestBuilder::no_pacing`].
    pub fn no_pacing(self) -> Self {
        self.map(crate::RequestBuilder::no_pacing)
    }

    /// Sends no hedged copy of this call's attempts: see
    /// [`crate::RequestBuilder::no_hedging`].
    pub fn no_hedging(self) -> Self {
        self.map(crate::RequestBuilder::no_hedging)
    }

    /// Decides this call's retries with this classifier: see
    /// [`crate::RequestBuilder::classify`].
    pub fn classify(self, classifier: Classifier) -> Self {
        self.map(|inner| inner.classify(classifier))
    }

    /// Adds a header.
    pub fn header<K, V>(self, key: K, value: V) -> Self
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: Into<http::Error>,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: Into<http::Error>,
    {
        self.map(|inner| inner.header(key, value))
    }

    /// Adds headers, replacing those of the same names.
    pub fn headers(self, headers: HeaderMap) -> Self {
        self.map(|inner| inner.headers(headers))
    }

    /// Sets `Authorization: Bearer <token>`, marked sensitive.
    pub fn bearer_auth<T: fmt::Display>(self, token: T) -> Self {
        self.map(|inner| inner.bearer_auth(token))
    }

    /// Sets `Authorization: Basic …`, marked sensitive.
    pub fn basic_auth<U: fmt::Display, P: fmt::Display>(
        self,
        username: U,
        password: Option<P>,
    ) -> Self {
        self.map(|inner| inner.basic_auth(username, password))
    }

    /// Appends URL query pairs, serialized with `serde_urlencoded`.
    pub fn query<T: Serialize + ?Sized>(self, query: &T) -> Self {
        self.map(|inner| inner.query(query))
    }

    /// Sets a JSON body and `Content-Type: application/json`.
    pub fn json<T: Serialize + ?Sized>(self, json: &T) -> Self {
        self.map(|inner| inner.json(json))
    }

    /// Sets a URL-encoded form body and its `Content-Type`.
    pub fn form<T: Serialize + ?Sized>(self, form: &T) -> Self {
        self.map(|inner| inner.form(form))
    }

    /// Sets the body: see [`crate::RequestBuilder::body`].
    pub fn body<T: Into<Body>>(self, body: T) -> Self {
        self.map(|inner| inner.body(body))
    }

    /// The limit for each attempt of this request: see [`crate::RequestBuilder::timeout`].
    pub fn timeout(self, timeout: Duration) -> Self {
        self.map(|inner| inner.timeout(timeout))
    }

    /// The HTTP version to use.
    pub fn version(self, version: Version) -> Self {
        self.map(|inner| inner.version(version))
    }

    /// Builds the request without sending it.
    ///
    /// # Errors
    ///
    /// See [`crate::RequestBuilder::build`].
    ///
    /// # Examples
    ///
    /// ```
    /// let session = api_toolkit::blocking::Session::new(Default::default())?;
    /// let request = session.get("http://127.0.0.1:8080/orders").query(&[("page", "2")]).build()?;
    /// assert_eq!(request.url().query(), Some("page=2"));
    /// assert!(session.get("not a url").build().unwrap_err().is_builder());
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn build(self) -> Result<reqwest::Request> {
        self.inner.build()
    }

    /// Sends the request, retrying as the settings say, and blocks until the call ends: the
    /// async [`send`](crate::RequestBuilder::send), run on the session's runtime thread while
    /// this one waits.
    ///
    /// The call is bounded by its settings (`total_timeout`, `attempt_timeout`, `timeout`),
    /// not by the caller, who cannot drop it: see [the module
    /// docs](crate::blocking#how-long-a-call-may-block).
    ///
    /// # Errors
    ///
    /// See [`crate::RequestBuilder::send`].
    ///
    /// # Panics
    ///
    /// Inside an async runtime: "Cannot start a runtime from within a runtime", as with
    /// `reqwest::blocking` (see [the module docs](crate::blocking#panics)).
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::blocking::Session;
    /// # use std::io::{Read, Write};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("http://{}/orders", listener.local_addr()?);
    /// # std::thread::spawn(move || {
    /// #     let (mut stream, _) = listener.accept().unwrap();
    /// #     let _ = stream.read(&mut [0; 4096]);
    /// #     stream.write_all(b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n").unwrap();
    /// # });
    ///
    /// let session = Session::new(Default::default())?;
    /// let response = session.post(url).bearer_auth("token").body("{\"sku\": 7}").send()?;
    /// assert_eq!(response.status(), 201);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send(self) -> Result<Response> {
        let response = self.session.run(self.inner.send())?;
        Ok(Response::new(response, self.session))
    }
}

impl fmt::Debug for RequestBuilder {
    // The async builder's Debug shows no header values (credentials among them).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("blocking::RequestBuilder")
            .field(&self.inner)
            .finish()
    }
}
