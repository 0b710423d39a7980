use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(pacing(even = true))]
struct Shop {
    session: Session,
}

fn main() {}
