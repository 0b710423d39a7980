use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(circuit_breaker(failure_ratio = 1.5))]
struct Shop {
    session: Session,
}

fn main() {}
