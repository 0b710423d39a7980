use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(throttling(k = 0.5))]
struct Shop {
    session: Session,
}

fn main() {}
