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

/// The [`Toolkit`] connector with its session in a fleet (feature `fleet`), over a
/// redis-server of its own: what the fleet costs a call that succeeds (instruction counts only,
/// `benches/instructions.sh raw toolkit fleet fleet-all`). The server answers 200 without a
/// quota, so no call waits for Redis: only the retry budget's calls are added to the fleet's,
/// in the background, every 100 ms.
#[cfg(feature = "fleet")]
pub(crate) struct InFleet {
    // Dropped in this order: the session, the fleet (which stops its tasks), the server.
    toolkit: Toolkit,
    _fleet: api_toolkit::Fleet,
    _redis: crate::redis::RedisServer,
}

#[cfg(feature = "fleet")]
impl InFleet {
    /// `all`: with every setting the fleet shares on (a `Retry-After` pause, pacing, the
    /// circuit breaker, the retry budget); else the connector's default settings.
    async fn start(all: bool) -> Result<InFleet, String> {
        let redis = crate::redis::RedisServer::start().await?;
        let fleet = api_toolkit::Fleet::redis(redis.url())
            .name("bench")
            .connect()
            .await
            .map_err(|e| format!("the fleet does not connect to {}: {e}", redis.url()))?;
        let mut settings = Toolkit::default_retry_settings();
        if all {
            settings = api_toolkit::RetrySettings {
                share_retry_after: true,
                pacing: Some(api_toolkit::Pacing::default()),
                circuit_breaker: Some(api_toolkit::CircuitBreaker::default()),
                retry_budget: Some(api_toolkit::RetryBudget::default()),
                ..settings
            };
        }
        let session = Toolkit::session_builder()
            .retry_settings(settings)
            .fleet(&fleet)
            .build()
            .map_err(|e| format!("the fleet's session does not build: {e}"))?;
        Ok(InFleet {
            toolkit: Toolkit { session },
            _fleet: fleet,
            _redis: redis,
        })
    }
}

#[cfg(feature = "fleet")]
impl Driver for InFleet {
    async fn call(&self, url: &str) -> bool {
        self.toolkit.call(url).await
    }
}

/// A fleet driver, started on first use on the bench's runtime (the fleet's tasks run there,
/// as the calls do) and kept for the rest of the run; its redis-server is killed with it.
#[cfg(feature = "fleet")]
pub(crate) struct LazyFleet {
    all: bool,
    driver: tokio::sync::OnceCell<std::sync::Arc<InFleet>>,
}

#[cfg(feature = "fleet")]
impl LazyFleet {
    /// The connector's default settings in a fleet (`fleet`).
    pub(crate) fn defaults() -> LazyFleet {
        LazyFleet {
            all: false,
            driver: tokio::sync::OnceCell::new(),
        }
    }

    /// Every setting the fleet shares on, in a fleet (`fleet-all`).
    pub(crate) fn all() -> LazyFleet {
        LazyFleet {
            all: true,
            ..LazyFleet::defaults()
        }
    }

    /// The driver; exits with the reason when it cannot start (no redis-server, above all).
    pub(crate) async fn get(&self) -> &std::sync::Arc<InFleet> {
        let started = self
            .driver
            .get_or_try_init(|| async { InFleet::start(self.all).await.map(std::sync::Arc::new) });
        match started.await {
            Ok(driver) => driver,
            Err(message) => {
                eprintln!("{message}");
                std::process::exit(1);
            }
        }
    }
}
