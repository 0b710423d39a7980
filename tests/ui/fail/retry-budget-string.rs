use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(retry_budget = "0.2")]
struct Shop {
    session: Session,
}

fn main() {}
