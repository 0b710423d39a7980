use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(max_retries = 2, hedging(delay = 0.005, delay_ms = 5))]
struct Shop {
    session: Session,
}

fn main() {}
