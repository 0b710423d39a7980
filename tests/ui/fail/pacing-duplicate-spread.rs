use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(pacing(spread = true, spread = false))]
struct Shop {
    session: Session,
}

fn main() {}
