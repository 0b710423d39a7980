//! `#[derive(Connector)]` end to end: the README's connector against a loopback server.

use api_toolkit::{ApiConnector, Connector, Method, RetrySettings, Session};
use testkit::{Reply, TestServer};

/// The README's connector.
#[derive(Connector)]
#[retry(max_retries = 3, backoff_factor = 0.5, status_forcelist = [500, 503],
        allowed_methods = ["GET", "PUT"], raise_on_status = true)]
pub struct Shop {
    session: Session,
    base_url: String,
}

impl Shop {
    /// A client of the shop at `base_url`.
    pub fn new(base_url: &str) -> api_toolkit::Result<Self> {
        Ok(Self {
            session: Self::new_session()?,
            base_url: base_url.to_owned(),
        })
    }

    /// Fetches an order.
    pub async fn order(&self, id: u64) -> api_toolkit::Result<api_toolkit::reqwest::Response> {
        self.session()
            .get(format!("{}/orders/{id}", self.base_url))
            .send()
            .await
    }
}

#[derive(Connector)]
struct Plain {
    #[session]
    http: Session,
}

fn shop_defaults() -> RetrySettings {
    RetrySettings {
        max_retries: 3,
        backoff_factor: 0.5,
        status_forcelist: vec![500, 503],
        allowed_methods: vec![Method::GET, Method::PUT],
        raise_on_status: true,
        ..RetrySettings::default()
    }
}

#[test]
fn derive_overrides_only_the_given_keys() {
    assert_eq!(Shop::default_retry_settings(), shop_defaults());
    assert_eq!(Plain::default_retry_settings(), RetrySettings::default());
}

#[test]
fn new_session_uses_the_type_defaults() {
    let shop = Shop::new("http://127.0.0.1:1").unwrap();
    assert_eq!(shop.get_retry_settings(), shop_defaults());
    let plain = Plain {
        http: Plain::new_session().unwrap(),
    };
    assert_eq!(plain.get_retry_settings(), RetrySettings::default());
}

#[test]
fn struct_update_overrides_type_defaults() {
    let custom = Session::new(RetrySettings {
        max_retries: 5,
        ..Shop::default_retry_settings()
    })
    .unwrap();
    assert_eq!(
        custom.retry_settings(),
        RetrySettings {
            max_retries: 5,
            ..shop_defaults()
        }
    );
}

#[test]
fn set_retry_settings_through_the_connector() {
    let shop = Shop::new("http://127.0.0.1:1").unwrap();
    shop.set_retry_settings(RetrySettings {
        max_retries: 0,
        ..shop.get_retry_settings()
    })
    .unwrap();
    assert_eq!(shop.get_retry_settings().max_retries, 0);
    let error = shop.set_retry_settings(RetrySettings {
        status_forcelist: vec![42],
        ..shop.get_retry_settings()
    });
    assert_eq!(error.unwrap_err().settings_error().unwrap().value(), "42");
    assert_eq!(
        shop.get_retry_settings().status_forcelist,
        [500, 503],
        "previous settings kept"
    );
}

#[tokio::test]
async fn derived_connector_retries_with_its_defaults() {
    let server =
        TestServer::start(vec![Reply::status(503), Reply::status(200).body("order 7")]).await;
    let shop = Shop::new(&server.url("")).unwrap();
    shop.set_retry_settings(RetrySettings {
        backoff_factor: 0.0,
        ..shop.get_retry_settings()
    })
    .unwrap();
    let response = shop.order(7).await.unwrap();
    assert_eq!(response.text().await.unwrap(), "order 7");
    let paths: Vec<String> = server.received().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/orders/7", "/orders/7"]);
}

#[tokio::test]
async fn derived_connector_raises_on_status_when_exhausted() {
    let server = TestServer::start(vec![Reply::status(500).body("down")]).await;
    let shop = Shop::new(&server.url("")).unwrap();
    shop.set_retry_settings(RetrySettings {
        backoff_factor: 0.0,
        ..shop.get_retry_settings()
    })
    .unwrap();
    let error = shop.order(1).await.unwrap_err();
    assert_eq!(error.attempt_count(), 4);
    assert_eq!(error.into_response().unwrap().text().await.unwrap(), "down");
    assert_eq!(server.count(), 4);
}
