use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[connector(crate = 1)]
struct Shop {
    session: Session,
}

fn main() {}
