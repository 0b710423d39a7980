use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(pacing(spread = 1))]
struct Shop {
    session: Session,
}

fn main() {}
