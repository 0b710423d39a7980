//! The front ends' drivers (feature `front-ends`): a Session over a service, `RetryLayer` and
//! `RetryMiddleware`, each written out in full as the drivers of `drivers.rs` are.

use api_toolkit::middleware::RetryMiddleware;
use api_toolkit::tower::{RetryLayer, RetryService};
use api_toolkit::{ApiConnector, Method, RetrySettings, Session};
use reqwest_middleware::ClientWithMiddleware;
use tower::ServiceExt;

use crate::drivers::{Driver, Toolkit, MAX_RETRIES};

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

/// api-toolkit's `RetryMiddleware` in reqwest-middleware: the same shape as [`Middleware`](crate::drivers::Middleware)
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
