// A blocking session (feature `blocking`), directly, behind an `Arc`, and as a generic bound.
use std::sync::Arc;

use api_toolkit::{blocking, ApiConnector, Connector, ConnectorSession};

#[derive(Connector)]
#[retry(max_retries = 2, status_forcelist = [503], total_timeout = 30)]
struct Shop {
    session: blocking::Session,
}

#[derive(Connector)]
struct Shared(#[session] Arc<blocking::Session>);

#[derive(Connector)]
#[retry(max_retries = 1)]
struct Either<S: ConnectorSession> {
    session: S,
}

fn main() {
    let shop = Shop {
        session: Shop::new_session().unwrap(),
    };
    let _: &blocking::Session = shop.session();
    assert_eq!(shop.get_retry_settings().max_retries, 2);
    let shared = Shared(Arc::new(Shared::new_session().unwrap()));
    assert_eq!(shared.get_retry_settings().max_retries, 0);
    let blocking = Either::<blocking::Session> {
        session: Either::<blocking::Session>::new_session().unwrap(),
    };
    let not_blocking = Either::<api_toolkit::Session> {
        session: Either::<api_toolkit::Session>::new_session().unwrap(),
    };
    assert_eq!(blocking.get_retry_settings(), not_blocking.get_retry_settings());
}
