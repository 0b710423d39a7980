// A type alias is not seen through: the field needs `#[session]`, which leaves the check to the
// compiler.
use api_toolkit::{Connector, Session};

type Http = Session;

#[derive(Connector)]
struct Shop {
    session: Http,
}

fn main() {}
