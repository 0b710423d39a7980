// A session behind a type alias: `#[session]` takes the field as it is, and the compiler checks
// its type.
use std::sync::Arc;

use api_toolkit::{ApiConnector, Connector, Session};

type Http = Session;

#[derive(Connector)]
struct Shop {
    #[session]
    session: Http,
}

#[derive(Connector)]
struct Shared {
    #[session]
    http: Arc<Http>,
}

fn main() {
    let shop = Shop {
        session: Shop::new_session().unwrap(),
    };
    let _: &Session = shop.session();
    let shared = Shared {
        http: Arc::new(Shared::new_session().unwrap()),
    };
    let _: &Session = shared.session();
}
