use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(allowed_methods = [Method::GET])]
struct Shop {
    session: Session,
}

fn main() {}
