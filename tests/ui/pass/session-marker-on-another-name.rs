// `#[session]` marks a field with another name; it wins over a field named `session`.
use api_toolkit::{ApiConnector, Connector, RetrySettings, Session};

#[derive(Connector)]
struct Shop {
    #[session]
    http: Session,
}

#[derive(Connector)]
struct Mirror {
    session: Session,
    #[session]
    primary: Session,
}

fn main() {
    let shop = Shop {
        http: Shop::new_session().unwrap(),
    };
    shop.set_retry_settings(RetrySettings {
        max_retries: 2,
        ..RetrySettings::default()
    })
    .unwrap();
    assert_eq!(shop.http.retry_settings().max_retries, 2);

    let mirror = Mirror {
        session: Session::builder().build().unwrap(),
        primary: Mirror::new_session().unwrap(),
    };
    mirror
        .set_retry_settings(RetrySettings {
            max_retries: 5,
            ..RetrySettings::default()
        })
        .unwrap();
    assert_eq!(mirror.primary.retry_settings().max_retries, 5);
    assert_eq!(mirror.session.retry_settings().max_retries, 0);
}
