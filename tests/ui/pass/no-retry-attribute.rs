// Without `#[retry(...)]`, the defaults are `RetrySettings::default()`.
use api_toolkit::{ApiConnector, Connector, RetrySettings, Session};

#[derive(Connector)]
struct Plain {
    session: Session,
}

fn main() {
    assert_eq!(Plain::default_retry_settings(), RetrySettings::default());
    let plain = Plain {
        session: Plain::new_session().unwrap(),
    };
    assert_eq!(plain.get_retry_settings(), RetrySettings::default());
}
