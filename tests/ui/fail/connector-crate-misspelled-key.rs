use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[connector(krate = api_toolkit)]
struct Shop {
    session: Session,
}

fn main() {}
