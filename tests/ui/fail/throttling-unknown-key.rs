use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(throttling(multiplier = 2.0))]
struct Shop {
    session: Session,
}

fn main() {}
