use api_toolkit::{Connector, Session};

#[derive(Connector)]
struct Shop {
    session: Option<Session>,
}

fn main() {}
