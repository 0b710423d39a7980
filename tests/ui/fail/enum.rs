use api_toolkit::{ApiConnector, Connector, Session};

#[derive(Connector)]
#[retry(max_retries = 3)]
enum Shop {
    Live { session: Session },
    Offline,
}

fn main() {
    let _ = Shop::new_session();
    let _ = Shop::Offline.session();
}
