// In a tuple struct, the session is the field marked `#[session]`.
use api_toolkit::{ApiConnector, Connector, RetrySettings, Session};

#[derive(Connector)]
#[retry(max_retries = 1)]
struct Shop(String, #[session] Session);

fn main() {
    let shop = Shop("shop".to_owned(), Shop::new_session().unwrap());
    shop.set_retry_settings(RetrySettings {
        max_retries: 7,
        ..RetrySettings::default()
    })
    .unwrap();
    assert_eq!(shop.1.retry_settings().max_retries, 7);
    assert_eq!(shop.0, "shop");
}
