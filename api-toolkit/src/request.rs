//! [`RequestBuilder`]: reqwest's request builder methods, and a `send` that retries.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Body, Request, Response, Version};
use serde::Serialize;

use crate::call::{self, CallSettings, Skip};
use crate::{Classifier, Error, Result, RetrySettings, Session};

/// A request being built, from [`Session::get`], [`Session::request`] and friends.
///
/// The methods are reqwest's; a mistake (an invalid header, a body that does not serialize) is
/// kept until [`send`](RequestBuilder::send) reports it, as in reqwest.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use api_toolkit::{CallRecord, RetrySettings, Session};
/// # use std::io::{Read, Write};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let url = format!("http://{}/orders", listener.local_addr()?);
/// # std::thread::spawn(move || {
/// #     for reply in ["503 Service Unavailable", "201 Created"] {
/// #         let (mut stream, _) = listener.accept().unwrap();
/// #         let _ = stream.read(&mut [0; 4096]);
/// #         let head = format!("HTTP/1.1 {reply}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
/// #         stream.write_all(head.as_bytes()).unwrap();
/// #     }
/// # });
///
/// let session = Session::new(RetrySettings { max_retries: 2, backoff_factor: 0.1, ..RetrySettings::default() })?;
/// let response = session
///     .post(url)
///     .bearer_auth("t0ken")
///     .json(&serde_json::json!({ "sku": 7 }))
///     .timeout(Duration::from_secs(5))
///     .send()
///     .await?; // a 503, retried, then a 201
/// assert_eq!(response.status(), 201);
/// assert_eq!(CallRecord::of(&response).attempt_count(), 2);
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is sent"]
pub struct RequestBuilder {
    session: Session,
    // The request itself rather than a `reqwest::RequestBuilder`, whose clone of the client
    // would cost every call two atomic read-modify-writes.
    request: reqwest::Result<Request>,
    retry: CallSettings,
}

impl RequestBuilder {
    pub(crate) fn new(session: Session, request: reqwest::Result<Request>) -> Self {
        RequestBuilder {
            session,
            request,
            retry: CallSettings::Session,
        }
    }

    /// Applies one of reqwest's builder methods, which keeps its first mistake as reqwest does.
    fn map(mut self, f: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder) -> Self {
        // After a mistake reqwest's methods change nothing.
        if let Ok(request) = self.request {
            self.request = match self.session.shared().builder_client() {
                Ok(client) => {
                    f(reqwest::RequestBuilder::from_parts(client, request))
                        .build_split()
                        .1
                }
                Err(error) => Err(error),
            };
        }
        self
    }

    /// Changes the request in place, for the setters that cannot fail.
    fn set(mut self, f: impl FnOnce(&mut Request)) -> Self {
        if let Ok(request) = &mut self.request {
            f(request);
        }
        self
    }

    /// Retries this call with these settings instead of the session's; other calls are not
    /// affected. Invalid settings are reported by [`send`](RequestBuilder::send).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(session: api_toolkit::Session) -> api_toolkit::Result<()> {
    /// use api_toolkit::RetrySettings;
    ///
    /// let patient = RetrySettings { max_retries: 8, ..session.retry_settings() };
    /// let report = session.get("http://127.0.0.1:8080/report").retry_settings(patient).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn retry_settings(mut self, mut settings: RetrySettings) -> Self {
        if let CallSettings::Adjusted {
            classifier, skip, ..
        } = self.retry
        {
            if let Some(classifier) = classifier {
                settings.classify = Some(*classifier);
            }
            skip.apply(&mut settings);
        }
        self.retry = CallSettings::Own(Box::new(settings));
        self
    }

    /// Sends this call once, whatever the settings say: for a request that must not be
    /// repeated, on a session that retries.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(session: api_toolkit::Session) -> api_toolkit::Result<()> {
    /// let response = session.post("http://127.0.0.1:8080/transfers").body("{\"cents\": 500}").no_retry().send().await?;
    /// # Ok(()) }
    /// ```
    pub fn no_retry(mut self) -> Self {
        self.retry = match self.retry {
            CallSettings::Adjusted {
                classifier, skip, ..
            } => CallSettings::Adjusted {
                classifier,
                once: true,
                skip,
            },
            _ => CallSettings::Once,
        };
        self
    }

    /// Sends this call whatever the host's circuit breaker says, and leaves its outcomes out of
    /// the breaker's count: for a health check that must reach the host, or a call that must
    /// be tried. The other settings stay in force (the session's, or this call's own).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(session: api_toolkit::Session) -> api_toolkit::Result<()> {
    /// // Is the host back? Ask it, even while the breaker keeps other calls away.
    /// let health = session.get("http://127.0.0.1:8080/health").no_circuit_breaker().send().await?;
    /// # Ok(()) }
    /// ```
    pub fn no_circuit_breaker(self) -> Self {
        self.skipping(Skip {
            breaker: true,
            ..Skip::default()
        })
    }

    /// Sends this call whatever adaptive throttling of its host says, and leaves it out of the
    /// throttle's counts: for a call that must be tried even while the host keeps refusing.
    /// The other settings stay in force (the session's, or this call's own).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(session: api_toolkit::Session) -> api_toolkit::Result<()> {
    /// // A refund must reach the API even while its other calls are shed.
    /// let refund = session.post("http://127.0.0.1:8080/refunds").body("{\"cents\": 500}").no_throttling().send().await?;
    /// # Ok(()) }
    /// ```
    pub fn no_throttling(self) -> Self {
        self.skipping(Skip {
            throttling: true,
            ..Skip::default()
        })
    }

    /// Sends this call whatever pacing says of the host's quota: it is neither held nor
    /// refused, and its responses are not read for pacing. For a call that must be tried
    /// (a health check, a call whose quota is another's). The other settings stay in force
    /// (the session's, or this call's own).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(session: api_toolkit::Session) -> api_toolkit::Result<()> {
    /// // The rate-limit status endpoint does not count against the quota: ask it now.
    /// let status = session.get("http://127.0.0.1:8080/rate_limit").no_pacing().send().await?;
    /// # Ok(()) }
    /// ```
    pub fn no_pacing(self) -> Self {
        self.skipping(Skip {
            pacing: true,
            ..Skip::default()
        })
    }

    /// Sends no hedged copy of this call's attempts ([`Hedging`](crate::Hedging)), whatever
    /// the settings say: for a request that the server should receive once at most per
    /// attempt, or a call whose latency does not matter. The other settings stay in force
    /// (the session's, or this call's own).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(session: api_toolkit::Session) -> api_toolkit::Result<()> {
    /// // A report that is slow anyway: no copy after `hedging.delay`.
    /// let report = session.get("http://127.0.0.1:8080/report").no_hedging().send().await?;
    /// # Ok(()) }
    /// ```
    pub fn no_hedging(self) -> Self {
        self.skipping(Skip {
            hedging: true,
            ..Skip::default()
        })
    }

    /// Leaves `more` out of this call, besides what it already leaves out.
    fn skipping(mut self, more: Skip) -> Self {
        self.retry = match self.retry {
            CallSettings::Own(mut settings) => {
                more.apply(&mut settings);
                CallSettings::Own(settings)
            }
            CallSettings::Adjusted {
                classifier,
                once,
                skip,
            } => CallSettings::Adjusted {
                classifier,
                once,
                skip: skip.and(more),
            },
            which => CallSettings::Adjusted {
                classifier: None,
                once: matches!(which, CallSettings::Once),
                skip: more,
            },
        };
        self
    }

    /// Decides this call's retries with this classifier (see [`Classifier`]) instead of the
    /// settings' one; the other settings stay the session's (or this call's own, given with
    /// [`retry_settings`](RequestBuilder::retry_settings) before or after).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(session: api_toolkit::Session) -> api_toolkit::Result<()> {
    /// use api_toolkit::{Classifier, Verdict};
    ///
    /// // This upload's 409 means "still processing": retry it.
    /// let processing = Classifier::new(|attempt| match attempt.status().map(|s| s.as_u16()) {
    ///     Some(409) => Verdict::Retry,
    ///     _ => Verdict::Defer,
    /// });
    /// let response = session.put("http://127.0.0.1:8080/upload/7").classify(processing).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn classify(mut self, classifier: Classifier) -> Self {
        let classifier = Some(Box::new(classifier));
        self.retry = match self.retry {
            CallSettings::Own(mut settings) => {
                settings.classify = classifier.map(|c| *c);
                CallSettings::Own(settings)
            }
            CallSettings::Once => CallSettings::Adjusted {
                classifier,
                once: true,
                skip: Skip::default(),
            },
            CallSettings::Session => CallSettings::Adjusted {
                classifier,
                once: false,
                skip: Skip::default(),
            },
            CallSettings::Adjusted { once, skip, .. } => CallSettings::Adjusted {
                classifier,
                once,
                skip,
            },
        };
        self
    }

    /// Adds a header. An invalid name or value is reported by [`send`](RequestBuilder::send).
    ///
    /// # Examples
    ///
    /// ```
    /// let session = api_toolkit::Session::new(Default::default())?;
    /// let request = session.get("http://127.0.0.1:8080/orders").header("x-request-id", "42").build()?;
    /// assert_eq!(request.headers()["x-request-id"], "42");
    /// assert!(session.get("http://127.0.0.1:8080/").header("bad name", "1").build().unwrap_err().is_builder());
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::reqwest::header::{HeaderMap, HeaderValue, ACCEPT};
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    /// let session = api_toolkit::Session::new(Default::default())?;
    /// let request = session.get("http://127.0.0.1:8080/").headers(headers).build()?;
    /// assert_eq!(request.headers()[ACCEPT], "application/json");
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn headers(self, headers: HeaderMap) -> Self {
        self.map(|inner| inner.headers(headers))
    }

    /// Sets `Authorization: Bearer <token>`, marked sensitive.
    ///
    /// # Examples
    ///
    /// ```
    /// let session = api_toolkit::Session::new(Default::default())?;
    /// let request = session.get("http://127.0.0.1:8080/me").bearer_auth("t0ken").build()?;
    /// assert!(request.headers()["authorization"].is_sensitive());
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn bearer_auth<T: fmt::Display>(self, token: T) -> Self {
        self.map(|inner| inner.bearer_auth(token))
    }

    /// Sets `Authorization: Basic …`, marked sensitive.
    ///
    /// # Examples
    ///
    /// ```
    /// let session = api_toolkit::Session::new(Default::default())?;
    /// let request = session.get("http://127.0.0.1:8080/me").basic_auth("me", Some("pw")).build()?;
    /// assert_eq!(request.headers()["authorization"], "Basic bWU6cHc=");
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn basic_auth<U: fmt::Display, P: fmt::Display>(
        self,
        username: U,
        password: Option<P>,
    ) -> Self {
        self.map(|inner| inner.basic_auth(username, password))
    }

    /// Appends URL query pairs, serialized with `serde_urlencoded`.
    ///
    /// # Examples
    ///
    /// ```
    /// let session = api_toolkit::Session::new(Default::default())?;
    /// let request = session.get("http://127.0.0.1:8080/orders").query(&[("page", "2"), ("sort", "date")]).build()?;
    /// assert_eq!(request.url().query(), Some("page=2&sort=date"));
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn query<T: Serialize + ?Sized>(self, query: &T) -> Self {
        self.map(|inner| inner.query(query))
    }

    /// Sets a JSON body and `Content-Type: application/json`. The bytes are serialized once
    /// and replayed on every attempt.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::BTreeMap;
    ///
    /// let session = api_toolkit::Session::new(Default::default())?;
    /// let order = BTreeMap::from([("sku", 7)]);
    /// let request = session.post("http://127.0.0.1:8080/orders").json(&order).build()?;
    /// assert_eq!(request.headers()["content-type"], "application/json");
    /// assert_eq!(request.body().and_then(|body| body.as_bytes()), Some(&b"{\"sku\":7}"[..]));
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn json<T: Serialize + ?Sized>(self, json: &T) -> Self {
        self.map(|inner| inner.json(json))
    }

    /// Sets a URL-encoded form body and its `Content-Type`.
    ///
    /// # Examples
    ///
    /// ```
    /// let session = api_toolkit::Session::new(Default::default())?;
    /// let request = session.post("http://127.0.0.1:8080/login").form(&[("user", "me")]).build()?;
    /// assert_eq!(request.body().and_then(|body| body.as_bytes()), Some(&b"user=me"[..]));
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn form<T: Serialize + ?Sized>(self, form: &T) -> Self {
        self.map(|inner| inner.form(form))
    }

    /// Sets the body. Bytes and strings are replayed on every attempt. A streaming body is
    /// sent once and never retried, unless the settings' `replay_limit` lets the call keep it
    /// as it is sent: a retry then sends the kept bytes if the whole stream fit, or the stream
    /// itself if the attempt never read it (see [`RetrySettings::replay_limit`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let session = api_toolkit::Session::new(Default::default())?;
    /// let request = session.put("http://127.0.0.1:8080/notes/1").body("buy milk").build()?;
    /// assert_eq!(request.body().and_then(|body| body.as_bytes()), Some(&b"buy milk"[..]));
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn body<T: Into<Body>>(self, body: T) -> Self {
        self.set(|request| *request.body_mut() = Some(body.into()))
    }

    /// A limit for each attempt of this request. The shortest limit applies: this one, the
    /// settings' `attempt_timeout` and the time left before `total_timeout` (see
    /// [the timeouts](crate#timeouts-what-bounds-what)). A timeout counts as a failure after
    /// sending, retried only for `allowed_methods`, unless it cut the connect.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let session = api_toolkit::Session::new(Default::default())?;
    /// let request = session.get("http://127.0.0.1:8080/slow").timeout(Duration::from_secs(2)).build()?;
    /// assert_eq!(request.timeout(), Some(&Duration::from_secs(2)));
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn timeout(self, timeout: Duration) -> Self {
        self.set(|request| *request.timeout_mut() = Some(timeout))
    }

    /// The HTTP version to use.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::reqwest::Version;
    ///
    /// let session = api_toolkit::Session::new(Default::default())?;
    /// let request = session.get("http://127.0.0.1:8080/").version(Version::HTTP_11).build()?;
    /// assert_eq!(request.version(), Version::HTTP_11);
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn version(self, version: Version) -> Self {
        self.set(|request| *request.version_mut() = version)
    }

    /// Builds the request without sending it.
    ///
    /// # Errors
    ///
    /// Any mistake kept by the builder (an invalid URL or header, a body that did not
    /// serialize), as a [`Request`](crate::ErrorKind::Request) error with no attempts.
    ///
    /// # Examples
    ///
    /// ```
    /// let session = api_toolkit::Session::new(Default::default())?;
    /// let request = session.delete("http://127.0.0.1:8080/orders/7").build()?;
    /// assert_eq!((request.method().as_str(), request.url().path()), ("DELETE", "/orders/7"));
    ///
    /// let error = session.get("not a url").build().unwrap_err();
    /// assert!(error.is_builder() && error.attempt_count() == 0);
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn build(self) -> Result<reqwest::Request> {
        self.request.map_err(Error::not_sent)
    }

    /// Sends the request, retrying as the session's settings say; see [`Session::execute`].
    ///
    /// As with reqwest, the request is built here; the call starts when the returned future
    /// is first polled, and reads the settings then.
    ///
    /// # Errors
    ///
    /// A builder mistake or invalid per-request settings (no attempt made), or what
    /// [`Session::execute`] returns.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future stops the call, whether it is waiting between attempts or in the
    /// middle of one: no attempt starts after the drop, and an attempt in flight is dropped
    /// with its connection (the server may still have received it). Nothing runs in the
    /// background. A blocking call (feature `blocking`) cannot be dropped: `total_timeout`
    /// bounds it (see [the timeouts](crate#timeouts-what-bounds-what)).
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{RetrySettings, Session};
    /// # use std::io::{Read, Write};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("http://{}/orders/7", listener.local_addr()?);
    /// # std::thread::spawn(move || {
    /// #     let (mut stream, _) = listener.accept().unwrap();
    /// #     let _ = stream.read(&mut [0; 4096]);
    /// #     stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\norder 7").unwrap();
    /// # });
    ///
    /// let session = Session::new(RetrySettings { max_retries: 3, ..RetrySettings::default() })?;
    /// let response = session.get(url).send().await?;
    /// assert_eq!(response.text().await?, "order 7");
    /// # Ok(()) }
    /// ```
    // Inlined into the caller's crate with `call::run`: the call's future is built in place.
    #[inline]
    pub fn send(self) -> impl Future<Output = Result<Response>> + Send + 'static {
        call::run(
            self.session,
            crate::transport::Own,
            self.request,
            call::Origin::Builder,
            self.retry,
        )
    }
}

impl fmt::Debug for RequestBuilder {
    // reqwest's Debug would show header values (credentials among them).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBuilder").finish_non_exhaustive()
    }
}
