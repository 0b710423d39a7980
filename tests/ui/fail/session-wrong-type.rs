use api_toolkit::Connector;

#[derive(Connector)]
struct Shop {
    session: String,
}

fn main() {}
