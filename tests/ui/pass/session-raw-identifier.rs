// A field written `r#session` is the field named `session`.
use api_toolkit::{ApiConnector, Connector, Session};

#[derive(Connector)]
#[retry(max_retries = 2)]
struct Shop {
    r#session: Session,
}

fn main() {
    let shop = Shop {
        r#session: Shop::new_session().unwrap(),
    };
    assert_eq!(shop.get_retry_settings().max_retries, 2);
    assert_eq!(shop.session().retry_settings().max_retries, 2);
}
