use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(max_retries = 2, hedging = 5)]
struct Shop {
    session: Session,
}

fn main() {}
