use api_toolkit::{Connector, Session};

#[derive(Connector)]
struct Mirror {
    session: (Session, Session),
}

fn main() {}
