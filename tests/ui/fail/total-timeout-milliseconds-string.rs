use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(total_timeout = "1500ms")]
struct Shop {
    session: Session,
}

fn main() {}
