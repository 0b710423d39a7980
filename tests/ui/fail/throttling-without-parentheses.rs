use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(throttling = true)]
struct Shop {
    session: Session,
}

fn main() {}
