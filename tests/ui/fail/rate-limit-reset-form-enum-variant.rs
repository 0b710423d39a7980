use api_toolkit::{Connector, Session};

#[derive(Connector)]
#[retry(rate_limit_reset(form = ResetForm::DeltaSeconds))]
struct Shop {
    session: Session,
}

fn main() {}
