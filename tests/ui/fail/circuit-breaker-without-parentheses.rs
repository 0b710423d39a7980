use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(circuit_breaker = true)]
struct Shop {
    session: Session,
}

fn main() {}
