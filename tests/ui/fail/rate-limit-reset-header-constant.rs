use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(rate_limit_reset = headers::X_RATELIMIT_RESET)]
struct Shop {
    session: Session,
}

fn main() {}
