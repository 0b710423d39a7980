use api_toolkit::Connector;

#[derive(Connector)]
struct Shop {
    session: api_toolkit::reqwest::Client,
}

fn main() {}
