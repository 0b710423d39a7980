use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[connector]
struct Shop {
    session: Session,
}

fn main() {}
