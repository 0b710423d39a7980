use api_toolkit::{ApiConnector, Connector, Session};

fn rules(status: u16) -> bool {
    status == 409
}

#[derive(Connector)]
#[retry(max_retries = 2, classify = rules)]
struct Shop {
    session: Session,
}

fn main() {
    let shop = Shop {
        session: Shop::new_session().unwrap(),
    };
    let _ = shop.session().get("http://127.0.0.1:9");
    let _ = rules(200);
}
