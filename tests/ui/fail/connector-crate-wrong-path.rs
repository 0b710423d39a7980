// The expansion goes through the path given: one that does not lead to api_toolkit fails there.
use api_toolkit::{Connector, Session};

mod my_sdk {}

#[derive(Connector)]
#[connector(crate = my_sdk::api_toolkit)]
struct Shop {
    session: Session,
}

fn main() {}
