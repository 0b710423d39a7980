use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(rate_limit_reset(statuses = ["403", "429"]))]
struct Shop {
    session: Session,
}

fn main() {}
