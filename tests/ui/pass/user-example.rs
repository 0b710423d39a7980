// The example of the crate docs, as a user would write it.
use api_toolkit::{ApiConnector, Connector, Method, RetrySettings, Session};

#[derive(Connector)]
#[retry(max_retries = 3, backoff_factor = 0.5, status_forcelist = [500, 503],
        allowed_methods = ["GET", "PUT"], raise_on_status = true)]
pub struct Shop {
    session: Session,
    base_url: String,
}

impl Shop {
    pub fn new(base_url: &str) -> api_toolkit::Result<Self> {
        Ok(Self {
            session: Self::new_session()?,
            base_url: base_url.to_owned(),
        })
    }

    pub async fn order(&self, id: u64) -> api_toolkit::Result<api_toolkit::reqwest::Response> {
        self.session()
            .get(format!("{}/orders/{id}", self.base_url))
            .send()
            .await
    }
}

fn main() {
    let expected = RetrySettings {
        max_retries: 3,
        backoff_factor: 0.5,
        status_forcelist: vec![500, 503],
        allowed_methods: vec![Method::GET, Method::PUT],
        raise_on_status: true,
        ..RetrySettings::default()
    };
    assert_eq!(Shop::default_retry_settings(), expected);

    let shop = Shop::new("http://127.0.0.1:9").unwrap();
    assert_eq!(shop.get_retry_settings(), expected);
    drop(shop.order(1)); // a future: building it sends nothing
}
