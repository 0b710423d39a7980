// A session behind a smart pointer works too: `&Arc<Session>` derefs to `&Session`.
use std::sync::Arc;

use api_toolkit::{ApiConnector, Connector, Session};

#[derive(Connector)]
#[retry(max_retries = 2)]
struct Shared {
    session: Arc<Session>,
}

#[derive(Connector)]
struct Boxed {
    session: Box<Session>,
}

fn main() {
    let shared = Shared {
        session: Arc::new(Shared::new_session().unwrap()),
    };
    assert_eq!(shared.get_retry_settings().max_retries, 2);
    let boxed = Boxed {
        session: Box::new(Boxed::new_session().unwrap()),
    };
    assert_eq!(boxed.get_retry_settings().max_retries, 0);
}
