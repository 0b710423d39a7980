use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(status_forcelist = ["5xx"])]
struct Shop {
    session: Session,
}

fn main() {}
