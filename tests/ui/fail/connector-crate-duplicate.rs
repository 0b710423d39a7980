use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[connector(crate = api_toolkit, crate = api_toolkit)]
struct Shop {
    session: Session,
}

fn main() {}
