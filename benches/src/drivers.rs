//! The Rust clients under test, each behind [`Driver`]: one call = one logical request whose
//! body is read to the end. All use reqwest's default client (same pool, same features).

use std::future::Future;
use std::time::Duration;

use api_toolkit::middleware::RetryMiddleware;
use api_toolkit::tower::{RetryLayer, RetryService};
use api_toolkit::{ApiConnector, Connector, Method, RetrySettings, Session};
use reqwest_middleware::ClientWithMiddleware;
use reqwest_retry::policies::ExponentialBackoff;
use reqwest_retry::{Jitter, RetryTransientMiddleware};
use tower::ServiceExt;

/// Up to three retries without waiting, for every retrying driver.
pub(crate) const MAX_RETRIES: u32 = 3;

/// A client that makes calls. Each driver writes its call out in full, as a user would: a
/// shared `async` helper for reading the response adds a future layer whose cost differs by
/// driver (about 240 instructions per call for raw reqwest, 80 for api-toolkit), which would
/// shift what is measured.
pub(crate) trait Driver: Send + Sync + 'static {
    /// GETs `url` and reads the body; true when the final status is 200.
    fn call(&self, url: &str) -> impl Future<Output = bool> + Send;
}

/// `reqwest::Client`, no retries: the baseline.
pub(crate) struct Raw(pub(crate) reqwest::Client);

impl Raw {
    pub(crate) fn new() -> Raw {
        Raw(reqwest::Client::new())
    }
}

impl Driver for Raw {
    async fn call(&self, url: &str) -> bool {
        match self.0.get(url).send().await {
            Ok(response) => {
                let ok = response.status() == reqwest::StatusCode::OK;
                response.bytes().await.is_ok() && ok
            }
            Err(_) => false,
        }
    }
}

/// An api-toolkit connector, as a user would write one: `#[derive(Connector)]` with retries on
/// the default `status_forcelist` (503 among them), no backoff.
#[derive(Connector)]
#[retry(max_retries = 3, backoff_factor = 0)]
pub(crate) struct Toolkit {
    session: Session,
}

impl Toolkit {
    pub(crate) fn new() -> api_toolkit::Result<Toolkit> {
        let toolkit = Toolkit {
            session: Toolkit::new_session()?,
        };
        debug_assert_eq!(toolkit.get_retry_settings().max_retries, MAX_RETRIES);
        Ok(toolkit)
    }
}

impl Driver for Toolkit {
    async fn call(&self, url: &str) -> bool {
        match self.session().get(url).send().await {
            Ok(response) => {
                let ok = response.status() == reqwest::StatusCode::OK;
                response.bytes().await.is_ok() && ok
            }
            Err(_) => false,
        }
    }
}

/// The same connector with a classifier that defers to the built-in rules: what a user's own
/// rule costs when it has nothing to say (measured by `benches/instructions.sh raw classified`).
pub(crate) struct Classified(Toolkit);

impl Classified {
    pub(crate) fn new() -> api_toolkit::Result<Classified> {
        let toolkit = Toolkit::new()?;
        let defer = |_: &api_toolkit::Attempt<'_>| api_toolkit::Verdict::Defer;
        toolkit.set_retry_settings(api_toolkit::RetrySettings {
            classify: Some(api_toolkit::Classifier::from_fn(defer)),
            ..toolkit.get_retry_settings()
        })?;
        Ok(Classified(toolkit))
    }
}

impl Driver for Classified {
    async fn call(&self, url: &str) -> bool {
        self.0.call(url).await
    }
}

/// reqwest-middleware + reqwest-retry: the same three retries, with an exponential backoff
/// bounded to zero and no jitter (its default strategy retries 5xx, 408, 429 and
/// connection failures).
pub(crate) struct Middleware(ClientWithMiddleware);

impl Middleware {
    pub(crate) fn new() -> Middleware {
        let policy = ExponentialBackoff::builder()
            .retry_bounds(Duration::ZERO, Duration::ZERO)
            .jitter(Jitter::None)
            .build_with_max_retries(MAX_RETRIES);
        let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(RetryTransientMiddleware::new_with_policy(policy))
            .build();
        Middleware(client)
    }
}

impl Driver for Middleware {
    async fn call(&self, url: &str) -> bool {
        match self.0.get(url).send().await {
            Ok(response) => {
                let ok = response.status() == reqwest::StatusCode::OK;
                response.bytes().await.is_ok() && ok
            }
            Err(_) => false,
        }
    }
}

/// The settings of [`Toolkit`], for the front ends that take settings rather than a derive.
fn toolkit_settings() -> RetrySettings {
    let settings = Toolkit::default_retry_settings();
    debug_assert_eq!(settings.max_retries, MAX_RETRIES);
    settings
}

/// A [`Session`] over a tower service (`Session::from_service`): reqwest's client as the
/// service, so the difference from [`Toolkit`] is the boxed service and its attempt.
pub(crate) struct Service(Session);

impl Service {
    pub(crate) fn new() -> api_toolkit::Result<Service> {
        Session::from_service(reqwest::Client::new(), toolkit_settings()).map(Service)
    }
}

impl Driver for Service {
    async fn call(&self, url: &str) -> bool {
        match self.0.get(url).send().await {
            Ok(response) => {
                let ok = response.status() == reqwest::StatusCode::OK;
                response.bytes().await.is_ok() && ok
            }
            Err(_) => false,
        }
    }
}

/// `RetryLayer` in a tower stack over reqwest's client, called as tower's users do: a clone
/// of the service per call, `oneshot` with a `reqwest::Request`.
pub(crate) struct Layer(RetryService<reqwest::Client>);

impl Layer {
    pub(crate) fn new() -> api_toolkit::Result<Layer> {
        let service = tower::ServiceBuilder::new()
            .layer(RetryLayer::new(toolkit_settings())?)
            .service(reqwest::Client::new());
        Ok(Layer(service))
    }
}

impl Driver for Layer {
    async fn call(&self, url: &str) -> bool {
        let Ok(url) = url.parse() else {
            return false;
        };
        let request = reqwest::Request::new(Method::GET, url);
        match self.0.clone().oneshot(request).await {
            Ok(response) => {
                let ok = response.status() == reqwest::StatusCode::OK;
                response.bytes().await.is_ok() && ok
            }
            Err(_) => false,
        }
    }
}

/// api-toolkit's `RetryMiddleware` in reqwest-middleware: the same shape as [`Middleware`]
/// (reqwest-retry), so that the two compare.
pub(crate) struct ToolkitMiddleware(ClientWithMiddleware);

impl ToolkitMiddleware {
    pub(crate) fn new() -> api_toolkit::Result<ToolkitMiddleware> {
        let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(RetryMiddleware::new(toolkit_settings())?)
            .build();
        Ok(ToolkitMiddleware(client))
    }
}

impl Driver for ToolkitMiddleware {
    async fn call(&self, url: &str) -> bool {
        match self.0.get(url).send().await {
            Ok(response) => {
                let ok = response.status() == reqwest::StatusCode::OK;
                response.bytes().await.is_ok() && ok
            }
            Err(_) => false,
        }
    }
}
