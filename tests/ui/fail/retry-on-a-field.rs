use api_toolkit::{Connector, Session};

#[derive(Connector)]
struct Shop {
    #[retry(max_retries = 3)]
    session: Session,
}

fn main() {}
