use api_toolkit::{Connector, Session};

#[derive(Connector)]
struct Shop(Session);

fn main() {}
