use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(status_forcelist = ["500", 502, StatusCode::GATEWAY_TIMEOUT, 500..="599"])]
struct Shop {
    session: Session,
}

fn main() {}
