// Every key at once, with seconds as integers and as floats, and several `#[retry]`s merged.
use std::time::Duration;

use api_toolkit::{ApiConnector, Connector, Method, RetrySettings, Session};

#[derive(Connector)]
#[retry(
    max_retries = 5,
    backoff_factor = 2,
    status_forcelist = [429, 503],
    allowed_methods = ["GET", "HEAD", "PURGE", "!#$%&'*+-.^_`|~09azAZ"],
    raise_on_status = true,
    backoff_max = 30,
    respect_retry_after_header = false,
    retry_after_max = 60,
)]
struct Integers {
    session: Session,
}

#[derive(Connector)]
#[retry(max_retries = 100_000, backoff_factor = 0.125, status_forcelist = [])]
#[retry(allowed_methods = ["DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "POST", "PUT"])]
#[retry(
    raise_on_status = false,
    backoff_max = 1.5,
    respect_retry_after_header = true
)]
#[retry(retry_after_max = 0.25)]
struct Floats {
    session: Session,
}

#[derive(Connector)]
#[retry(
    max_retries = 0x10,
    backoff_factor = 1e-3,
    backoff_max = 0.0,
    retry_after_max = 0
)]
struct Odd {
    session: Session,
}

fn main() {
    assert_eq!(
        Integers::default_retry_settings(),
        RetrySettings {
            max_retries: 5,
            backoff_factor: 2.0,
            status_forcelist: vec![429, 503],
            allowed_methods: vec![
                Method::GET,
                Method::HEAD,
                Method::from_bytes(b"PURGE").unwrap(),
                Method::from_bytes(b"!#$%&'*+-.^_`|~09azAZ").unwrap(),
            ],
            raise_on_status: true,
            backoff_max: Duration::from_secs(30),
            respect_retry_after_header: false,
            retry_after_max: Duration::from_secs(60),
        }
    );
    assert_eq!(
        Floats::default_retry_settings(),
        RetrySettings {
            max_retries: 100_000,
            backoff_factor: 0.125,
            status_forcelist: vec![],
            allowed_methods: vec![
                Method::DELETE,
                Method::CONNECT,
                Method::OPTIONS,
                Method::TRACE,
                Method::PATCH,
                Method::POST,
                Method::PUT,
            ],
            raise_on_status: false,
            backoff_max: Duration::from_millis(1500),
            respect_retry_after_header: true,
            retry_after_max: Duration::from_millis(250),
        }
    );
    assert_eq!(
        Odd::default_retry_settings(),
        RetrySettings {
            max_retries: 16,
            backoff_factor: 0.001,
            backoff_max: Duration::ZERO,
            retry_after_max: Duration::ZERO,
            ..RetrySettings::default()
        }
    );
    for settings in [
        Integers::default_retry_settings(),
        Floats::default_retry_settings(),
        Odd::default_retry_settings(),
    ] {
        assert_eq!(settings.validate(), Ok(()));
    }
    let integers = Integers {
        session: Integers::new_session().unwrap(),
    };
    let floats = Floats {
        session: Floats::new_session().unwrap(),
    };
    let odd = Odd {
        session: Odd::new_session().unwrap(),
    };
    assert_eq!(integers.get_retry_settings().max_retries, 5);
    assert_eq!(floats.get_retry_settings().max_retries, 100_000);
    assert_eq!(odd.get_retry_settings().max_retries, 16);
}
