//! The tower front end (feature `tower`): [`RetryLayer`], the session's settings and rules
//! around any `Service<reqwest::Request, Response = reqwest::Response>`.
//!
//! A [`RetryService`] is a [`Session`] over the service it wraps
//! ([`SessionBuilder::service`](crate::SessionBuilder::service)): the same engine, the same
//! record on each response, the same [`Stats`](crate::Stats). Layers inside it (below it in a
//! `ServiceBuilder`) run on every attempt; layers outside it see one call.
//!
//! # Examples
//!
//! ```no_run
//! use api_toolkit::tower::RetryLayer;
//! use api_toolkit::{reqwest, RetrySettings};
//! use tower::{Service, ServiceBuilder, ServiceExt};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let mut service = ServiceBuilder::new()
//!     .layer(RetryLayer::new(RetrySettings { max_retries: 3, ..RetrySettings::default() })?)
//!     // inside the retries: runs on every attempt
//!     .map_request(|request: reqwest::Request| request)
//!     .service(reqwest::Client::new());
//! let request = reqwest::Request::new(reqwest::Method::GET, "http://127.0.0.1:8080/orders".parse()?);
//! let response = service.ready().await?.call(request).await?;
//! println!("{}", response.status());
//! # Ok(()) }
//! ```

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use reqwest::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::record::RetryEvent;
use crate::session::RetryHook;
use crate::transport::{service, BoxError, Sender};
use crate::{Error, Result, RetrySettings, Session};

/// A tower [`Layer`] that retries the service it wraps as [`RetrySettings`] say.
///
/// Each service it wraps gets its own [`Session`]: its own retry budget, `Retry-After` gate
/// and stats, shared by that service's clones.
///
/// # Examples
///
/// ```
/// use api_toolkit::{reqwest, tower::RetryLayer, RetrySettings};
/// use tower::ServiceBuilder;
///
/// let service = ServiceBuilder::new()
///     .layer(RetryLayer::new(RetrySettings { max_retries: 3, ..RetrySettings::default() })?)
///     .service(reqwest::Client::new());
/// assert_eq!(service.session().retry_settings().max_retries, 3);
/// # Ok::<(), api_toolkit::Error>(())
/// ```
#[derive(Clone)]
pub struct RetryLayer {
    settings: RetrySettings,
    on_retry: Option<RetryHook>,
    fleet: Option<crate::fleet::Link>,
}

impl RetryLayer {
    /// A layer with these settings, checked now.
    ///
    /// # Errors
    ///
    /// An [`InvalidSettings`](crate::ErrorKind::InvalidSettings) error naming the first bad
    /// field and value.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{tower::RetryLayer, RetrySettings};
    ///
    /// let layer = RetryLayer::new(RetrySettings::idempotent())?;
    /// assert!(RetryLayer::new(RetrySettings { backoff_factor: -1.0, ..RetrySettings::default() }).is_err());
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn new(settings: RetrySettings) -> Result<RetryLayer> {
        settings.validate()?;
        Ok(RetryLayer {
            settings,
            on_retry: None,
            fleet: None,
        })
    }

    /// A hook called before each wait for a retry, as
    /// [`SessionBuilder::on_retry`](crate::SessionBuilder::on_retry).
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{tower::RetryLayer, RetrySettings};
    ///
    /// let layer = RetryLayer::new(RetrySettings { max_retries: 2, ..RetrySettings::default() })?
    ///     .on_retry(|event| eprintln!("{} {}: retrying in {:?}", event.method(), event.url().path(), event.wait()));
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    #[must_use]
    pub fn on_retry<F>(mut self, hook: F) -> Self
    where
        F: Fn(&RetryEvent<'_>) + Send + Sync + 'static,
    {
        self.on_retry = Some(Arc::new(hook));
        self
    }

    /// Shares the state of the hosts the layer's services call with the other workers of
    /// `fleet` (feature `redis`), as [`SessionBuilder::fleet`](crate::SessionBuilder::fleet).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use api_toolkit::{tower::RetryLayer, Fleet, RetrySettings};
    ///
    /// # async fn run() -> api_toolkit::Result<()> {
    /// let fleet = Fleet::redis("redis://127.0.0.1:6379/").name("payments").connect().await?;
    /// let layer = RetryLayer::new(RetrySettings::idempotent())?.fleet(&fleet);
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "redis")]
    #[must_use]
    pub fn fleet(mut self, fleet: &crate::Fleet) -> Self {
        self.fleet = Some(fleet.link());
        self
    }
}

impl fmt::Debug for RetryLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryLayer")
            .field("retry_settings", &self.settings)
            .field("on_retry", &self.on_retry.is_some())
            .finish()
    }
}

impl<S> Layer<S> for RetryLayer
where
    S: Service<Request, Response = Response> + Clone + Send + Sync + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Service = RetryService<S>;

    fn layer(&self, inner: S) -> RetryService<S> {
        let session = Session::builder()
            .retry_settings(self.settings.clone())
            .on_retry_shared(self.on_retry.clone())
            .fleet_link(self.fleet.clone())
            .sender(Sender::Service(service::boxed(inner)))
            .build()
            .expect(
                "the layer's settings were checked when it was made, and it sets no client option",
            );
        RetryService {
            session,
            inner: PhantomData,
        }
    }
}

/// The service of a [`RetryLayer`]: a [`Session`] over the service `S`.
///
/// Always ready: each attempt waits for the inner service's readiness itself, within the
/// attempt's limit. A call is [`Session::execute`], with its errors.
///
/// # Cancel safety
///
/// Dropping the future of `call` stops the call, as for [`Session::execute`]: no attempt
/// starts afterwards, and the inner service's future in flight is dropped.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::sync::Arc;
/// use api_toolkit::{reqwest, tower::RetryLayer, CallRecord, RetrySettings};
/// use tower::{Layer, Service, ServiceExt};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
///
/// // A stand-in for the network: a 503, then 200s.
/// let sent = Arc::new(AtomicU32::new(0));
/// let inner = tower::service_fn(move |_: reqwest::Request| {
///     let status = if sent.fetch_add(1, Ordering::Relaxed) == 0 { 503 } else { 200 };
///     async move { Ok::<_, reqwest::Error>(reqwest::Response::from(http::Response::builder().status(status).body("").unwrap())) }
/// });
/// let settings = RetrySettings { max_retries: 2, backoff_factor: 0.0, ..RetrySettings::default() };
/// let mut service = RetryLayer::new(settings)?.layer(inner);
///
/// let request = reqwest::Request::new(reqwest::Method::GET, "http://api.example/orders".parse()?);
/// let response = service.ready().await?.call(request).await?;
/// assert_eq!(response.status(), 200);
/// assert_eq!(CallRecord::of(&response).attempt_count(), 2);
/// # Ok(()) }
/// ```
pub struct RetryService<S> {
    session: Session,
    inner: PhantomData<fn() -> S>,
}

impl<S> RetryService<S> {
    /// The session behind this service: its settings (which can be replaced for every clone)
    /// and its [`Stats`](crate::Stats).
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{reqwest, tower::RetryLayer, RetrySettings};
    /// use tower::Layer;
    ///
    /// let service = RetryLayer::new(RetrySettings::default())?.layer(reqwest::Client::new());
    /// service.session().set_retry_settings(RetrySettings { max_retries: 2, ..RetrySettings::default() })?;
    /// assert_eq!(service.session().stats().calls, 0);
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn session(&self) -> &Session {
        &self.session
    }
}

impl<S> Clone for RetryService<S> {
    fn clone(&self) -> Self {
        RetryService {
            session: self.session.clone(),
            inner: PhantomData,
        }
    }
}

impl<S> fmt::Debug for RetryService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryService")
            .field("session", &self.session)
            .finish()
    }
}

impl<S> Service<Request> for RetryService<S> {
    type Response = Response;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// See [`Session::execute`].
    fn call(&mut self, request: Request) -> Self::Future {
        Box::pin(self.session.execute(request))
    }
}
