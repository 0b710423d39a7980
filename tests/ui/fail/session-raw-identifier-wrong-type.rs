// `r#session` is the field named `session`.
use api_toolkit::Connector;

#[derive(Connector)]
struct Shop {
    r#session: String,
}

fn main() {}
