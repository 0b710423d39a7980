use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[connector(crate)]
struct Shop {
    session: Session,
}

fn main() {}
