use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(throttling(count_timeouts = "no"))]
struct Shop {
    session: Session,
}

fn main() {}
