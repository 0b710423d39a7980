use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(max_retries = "3")]
struct Shop {
    session: Session,
}

fn main() {}
