use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(allowed_methods = [Method::GET, "PUT", Method::POST, DELETE])]
struct Shop {
    session: Session,
}

fn main() {}
