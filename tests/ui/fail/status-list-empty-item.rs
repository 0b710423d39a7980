use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(status_forcelist = [500,, 503])]
struct Shop {
    session: Session,
}

fn main() {}
