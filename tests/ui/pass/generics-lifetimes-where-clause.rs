// Type and const parameters, lifetimes and a where-clause carry over to the impl.
use std::fmt::Debug;

use api_toolkit::{ApiConnector, Connector, Session};

#[derive(Connector)]
#[retry(max_retries = 2)]
struct Client<'a, T: ?Sized, U, const N: usize>
where
    T: Debug,
    U: Clone + 'a,
{
    name: &'a T,
    extra: [U; N],
    session: Session,
}

fn settings_of<C: ApiConnector>(_: &C) -> u32 {
    C::default_retry_settings().max_retries
}

fn main() {
    let name = String::from("shop");
    let client = Client::<str, u8, 2> {
        name: &name,
        extra: [1, 2],
        session: Session::builder().build().unwrap(),
    };
    assert_eq!(settings_of(&client), 2);
    assert_eq!(client.session().retry_settings().max_retries, 0);
    assert_eq!((client.name, client.extra), ("shop", [1, 2]));
}
