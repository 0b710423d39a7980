// The accepted types are named through the crate path given.
use api_toolkit::Connector;

mod my_sdk {
    pub use api_toolkit;
}

#[derive(Connector)]
#[connector(crate = my_sdk::api_toolkit)]
struct Shop {
    session: String,
}

fn main() {}
