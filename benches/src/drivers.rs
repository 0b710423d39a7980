//! The Rust clients under test, each behind [`Driver`]: one call = one logical request whose
//! body is read to the end. All use reqwest's default client (same pool, same features).

use std::future::Future;
use std::time::Duration;

use api_toolkit::{ApiConnector, Connector, Session};
use reqwest_middleware::ClientWithMiddleware;
use reqwest_retry::policies::ExponentialBackoff;
use reqwest_retry::{Jitter, RetryTransientMiddleware};

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

/// The same connector with one opt-in setting on, none of which changes the answer to a
/// call that succeeds: what that setting costs on the success path (instruction counts only,
/// `benches/instructions.sh raw classified breaker`).
pub(crate) struct Adjusted(Toolkit);

impl Adjusted {
    /// A classifier that defers to the built-in rules: what a user's own rule costs when it has
    /// nothing to say.
    pub(crate) fn classified() -> api_toolkit::Result<Adjusted> {
        let defer = |_: &api_toolkit::Attempt<'_>| api_toolkit::Verdict::Defer;
        Adjusted::with(|settings| settings.classify = Some(api_toolkit::Classifier::from_fn(defer)))
    }

    /// The default circuit breaker: an admission and a count per attempt.
    pub(crate) fn breaker() -> api_toolkit::Result<Adjusted> {
        Adjusted::with(|settings| settings.circuit_breaker = Some(Default::default()))
    }

    /// Default adaptive throttling: an admission and an accept per attempt, each under the
    /// host's lock.
    pub(crate) fn throttled() -> api_toolkit::Result<Adjusted> {
        Adjusted::with(|settings| settings.throttling = Some(Default::default()))
    }

    fn with(change: impl FnOnce(&mut api_toolkit::RetrySettings)) -> api_toolkit::Result<Adjusted> {
        let toolkit = Toolkit::new()?;
        let mut settings = toolkit.get_retry_settings();
        change(&mut settings);
        toolkit.set_retry_settings(settings)?;
        Ok(Adjusted(toolkit))
    }
}

impl Driver for Adjusted {
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
