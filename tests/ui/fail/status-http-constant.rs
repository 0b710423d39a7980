use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(status_forcelist = [429, StatusCode::SERVICE_UNAVAILABLE])]
struct Shop {
    session: Session,
}

fn main() {}
