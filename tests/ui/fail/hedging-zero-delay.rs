use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(max_retries = 2, hedging(delay_ms = 0))]
struct Shop {
    session: Session,
}

fn main() {}
