// `#[retry()]` sets nothing: the defaults are `RetrySettings::default()`.
use api_toolkit::{ApiConnector, Connector, RetrySettings, Session};

#[derive(Connector)]
#[retry()]
struct Plain {
    session: Session,
}

fn main() {
    assert_eq!(Plain::default_retry_settings(), RetrySettings::default());
}
