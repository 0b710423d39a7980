use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(throttling(window = 0))]
struct Shop {
    session: Session,
}

fn main() {}
