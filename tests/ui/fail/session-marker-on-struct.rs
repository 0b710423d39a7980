use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[session]
struct Shop {
    session: Session,
}

fn main() {}
