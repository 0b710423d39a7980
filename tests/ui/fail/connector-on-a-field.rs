use api_toolkit::{Connector, Session};

#[derive(Connector)]
struct Shop {
    #[connector(crate = api_toolkit)]
    session: Session,
}

fn main() {}
