use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(circuit_breaker(ratio = 0.5))]
struct Shop {
    session: Session,
}

fn main() {}
