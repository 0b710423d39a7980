//! The reqwest-middleware front end (feature `reqwest-middleware`): [`RetryMiddleware`], the
//! session's settings and rules in a `ClientWithMiddleware`.
//!
//! Middleware added after it in the chain runs on every attempt; middleware added before it
//! sees one call. A reqwest-retry user swaps one line:
//!
//! ```no_run
//! use api_toolkit::middleware::RetryMiddleware;
//! use api_toolkit::{reqwest, RetrySettings};
//! use reqwest_middleware::ClientBuilder;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! // was: .with(RetryTransientMiddleware::new_with_policy(ExponentialBackoff::builder().build_with_max_retries(3)))
//! let client = ClientBuilder::new(reqwest::Client::new())
//!     .with(RetryMiddleware::new(RetrySettings { max_retries: 3, ..RetrySettings::default() })?)
//!     .build();
//! let response = client.get("http://127.0.0.1:8080/orders").send().await?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::call::{self, CallSettings, Origin};
use crate::record::RetryEvent;
use crate::session::Shared;
use crate::transport::{Attempted, Failure, Guarded, Handing, Sender, Transport};
use crate::{Result, RetrySettings, Session, SessionBuilder, Stats};

/// A reqwest-middleware [`Middleware`] that retries the rest of the chain as
/// [`RetrySettings`] say: the same engine as [`Session`], with its record on each response
/// and its [`Stats`].
///
/// # Errors it returns
///
/// - A failure that is reqwest's own (connect, timeout, reset) is returned as
///   `reqwest_middleware::Error::Reqwest`, as reqwest-retry and plain reqwest do, so error
///   handling written for them keeps working. The call's [`CallRecord`](crate::CallRecord) is then put in the
///   request's `Extensions` (see `ClientWithMiddleware::execute_with_extensions`).
/// - Any other error (a status with `raise_on_status`, another middleware's error, a panic
///   caught, invalid per-call settings) is `reqwest_middleware::Error::Middleware` holding the
///   crate's [`Error`](crate::Error): downcast it to read its kind, record and response.
///
/// # Cancel safety
///
/// Dropping the future of a call through the chain stops it, as for
/// [`Session::execute`]: no attempt starts afterwards, and the rest of the chain's future in
/// flight is dropped.
///
/// # Examples
///
/// ```
/// use api_toolkit::{middleware::RetryMiddleware, reqwest, CallRecord, RetrySettings};
/// # use std::io::{Read, Write};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let url = format!("http://{}/orders", listener.local_addr()?);
/// # std::thread::spawn(move || {
/// #     for reply in ["503 Service Unavailable", "200 OK"] {
/// #         let (mut stream, _) = listener.accept().unwrap();
/// #         let _ = stream.read(&mut [0; 4096]);
/// #         let head = format!("HTTP/1.1 {reply}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
/// #         stream.write_all(head.as_bytes()).unwrap();
/// #     }
/// # });
///
/// let retry = RetryMiddleware::new(RetrySettings { max_retries: 2, backoff_factor: 0.02, ..RetrySettings::default() })?;
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new()).with(retry.clone()).build();
/// let response = client.get(url).send().await?; // a 503, retried, then a 200
/// assert_eq!(response.status(), 200);
/// assert_eq!(CallRecord::of(&response).retries(), 1);
/// assert_eq!(retry.stats().retries(), 1); // clones share the counters
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RetryMiddleware {
    session: Session,
}

impl RetryMiddleware {
    /// A middleware with these settings.
    ///
    /// # Errors
    ///
    /// An [`InvalidSettings`](crate::ErrorKind::InvalidSettings) error naming the first bad
    /// field and value.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{middleware::RetryMiddleware, RetrySettings};
    ///
    /// let retry = RetryMiddleware::new(RetrySettings::idempotent())?;
    /// assert_eq!(retry.retry_settings().max_retries, 3);
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn new(settings: RetrySettings) -> Result<RetryMiddleware> {
        RetryMiddleware::over(Session::builder().retry_settings(settings))
    }

    /// A middleware with these settings and a hook called before each wait for a retry, as
    /// [`SessionBuilder::on_retry`](crate::SessionBuilder::on_retry).
    ///
    /// # Errors
    ///
    /// As [`new`](RetryMiddleware::new).
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{middleware::RetryMiddleware, RetrySettings};
    ///
    /// let retry = RetryMiddleware::with_on_retry(RetrySettings { max_retries: 2, ..RetrySettings::default() }, |event| {
    ///     eprintln!("retrying {} in {:?}", event.url().path(), event.wait());
    /// })?;
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn with_on_retry<F>(settings: RetrySettings, hook: F) -> Result<RetryMiddleware>
    where
        F: Fn(&RetryEvent<'_>) + Send + Sync + 'static,
    {
        RetryMiddleware::over(Session::builder().retry_settings(settings).on_retry(hook))
    }

    /// A middleware with these settings whose hosts' state is shared with the other workers of
    /// `fleet` (feature `redis`), as [`SessionBuilder::fleet`](crate::SessionBuilder::fleet).
    ///
    /// # Errors
    ///
    /// As [`new`](RetryMiddleware::new).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use api_toolkit::{middleware::RetryMiddleware, Fleet, RetrySettings};
    ///
    /// # async fn run() -> api_toolkit::Result<()> {
    /// let fleet = Fleet::redis("redis://127.0.0.1:6379/").name("payments").connect().await?;
    /// let retry = RetryMiddleware::with_fleet(RetrySettings::idempotent(), &fleet)?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "redis")]
    pub fn with_fleet(settings: RetrySettings, fleet: &crate::Fleet) -> Result<RetryMiddleware> {
        RetryMiddleware::over(Session::builder().retry_settings(settings).fleet(fleet))
    }

    /// The middleware whose calls `builder`'s session runs: it sends through each call's chain.
    fn over(builder: SessionBuilder) -> Result<RetryMiddleware> {
        let session = builder.sender(Sender::Caller).build()?;
        Ok(RetryMiddleware { session })
    }

    /// A copy of the settings in force.
    pub fn retry_settings(&self) -> RetrySettings {
        self.session.retry_settings()
    }

    /// Replaces the settings for every clone of this middleware, for calls started afterwards.
    ///
    /// # Errors
    ///
    /// An [`InvalidSettings`](crate::ErrorKind::InvalidSettings) error; the previous settings
    /// then stay in force.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{middleware::RetryMiddleware, RetrySettings};
    ///
    /// let retry = RetryMiddleware::new(RetrySettings::default())?;
    /// let in_chain = retry.clone(); // given to ClientBuilder::with
    /// retry.set_retry_settings(RetrySettings { max_retries: 1, ..RetrySettings::default() })?;
    /// assert_eq!(in_chain.retry_settings().max_retries, 1);
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn set_retry_settings(&self, settings: RetrySettings) -> Result<()> {
        self.session.set_retry_settings(settings)
    }

    /// A snapshot of the counters shared by this middleware's clones.
    pub fn stats(&self) -> Stats {
        self.session.stats()
    }
}

impl fmt::Debug for RetryMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryMiddleware")
            .field("retry_settings", &self.retry_settings())
            .finish()
    }
}

// Written out as `#[async_trait]` would declare it, without its `async` block: the call's own
// future is the boxed one, and makes the middleware's result itself (`Chain::finish`). An
// `async` block around it would hold the request and the call's future once more, and move
// both into place on every call.
impl Middleware for RetryMiddleware {
    fn handle<'s, 'e, 'n, 'f>(
        &'s self,
        request: Request,
        extensions: &'e mut Extensions,
        next: Next<'n>,
    ) -> Pin<Box<dyn Future<Output = reqwest_middleware::Result<Response>> + Send + 'f>>
    where
        's: 'f,
        'e: 'f,
        'n: 'f,
        Self: 'f,
    {
        Box::pin(call::run(
            &self.session,
            Chain { next, extensions },
            Ok(request),
            Origin::Ready,
            CallSettings::Session,
        ))
    }
}

/// The rest of the chain, called once per attempt with the call's extensions.
struct Chain<'n> {
    next: Next<'n>,
    extensions: &'n mut Extensions,
}

impl<'n> Transport for Chain<'n> {
    type Sent<'a>
        = Guarded<Link<'a>>
    where
        Self: 'a;
    type Output = reqwest_middleware::Result<Response>;

    fn send<'a>(
        &'a mut self,
        _: &'a Shared,
        request: Request,
        limit: Option<Duration>,
    ) -> Guarded<Link<'a>> {
        let link = Link(self.next.clone().run(request, &mut *self.extensions));
        Guarded::new(link, limit)
    }

    // Inlined, its failure out of line: a response is only moved through.
    #[inline]
    fn finish(self, result: Result<Response>) -> reqwest_middleware::Result<Response> {
        result.map_err(|error| failed(error, self.extensions))
    }
}

/// A failed call's record goes in the call's extensions, and its error becomes
/// reqwest-middleware's (reqwest's own error stays reqwest's).
#[cold]
fn failed(error: crate::Error, extensions: &mut Extensions) -> reqwest_middleware::Error {
    extensions.insert(error.record().clone());
    match error.into_reqwest() {
        Ok(error) => reqwest_middleware::Error::Reqwest(error),
        Err(error) => reqwest_middleware::Error::Middleware(anyhow::Error::new(error)),
    }
}

/// One attempt down the chain.
struct Link<'a>(Pin<Box<dyn Future<Output = reqwest_middleware::Result<Response>> + Send + 'a>>);

impl Future for Link<'_> {
    type Output = Attempted;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Attempted> {
        self.0.as_mut().poll(cx).map_err(|error| match error {
            reqwest_middleware::Error::Reqwest(error) => Failure::Reqwest(error),
            reqwest_middleware::Error::Middleware(error) => Failure::from_box(error.into()),
        })
    }
}

impl Handing for Link<'_> {
    /// The chain is called as the attempt starts.
    fn handed(&self) -> bool {
        true
    }
}
