use std::mem::ManuallyDrop;

use api_toolkit::{Connector, Session};

#[derive(Connector)]
union Shop {
    session: ManuallyDrop<Session>,
    id: u64,
}

fn main() {}
