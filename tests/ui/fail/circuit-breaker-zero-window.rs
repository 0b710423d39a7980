use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(circuit_breaker(window = 0, break_duration = 0, min_attempts = 0))]
struct Shop {
    session: Session,
}

fn main() {}
