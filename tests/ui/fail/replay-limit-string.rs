use api_toolkit::{ApiConnector, Connector, Session};

#[derive(Connector)]
#[retry(replay_limit = "1MiB")]
struct Shop {
    session: Session,
}

fn main() {
    let shop = Shop {
        session: Shop::new_session().unwrap(),
    };
    let _ = shop.session().get("http://127.0.0.1:9");
}
