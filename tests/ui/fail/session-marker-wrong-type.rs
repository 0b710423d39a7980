// A marked field may have any type; the compiler's check points at it.
use api_toolkit::Connector;

#[derive(Connector)]
struct Shop {
    #[session]
    http: String,
}

fn main() {}
