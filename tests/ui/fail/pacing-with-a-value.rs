use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(pacing = true)]
struct Shop {
    session: Session,
}

fn main() {}
