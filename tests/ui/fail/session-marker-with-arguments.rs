use api_toolkit::{ApiConnector, Connector, Session};

#[derive(Connector)]
struct Shop {
    #[session(primary)]
    http: Session,
}

fn main() {
    let shop = Shop {
        http: Shop::new_session().unwrap(),
    };
    let _ = shop.session();
}
