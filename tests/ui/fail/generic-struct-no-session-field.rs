use api_toolkit::{ApiConnector, Connector};

#[derive(Connector)]
struct Shop<'a, T: Clone>
where
    T: Default,
{
    name: &'a T,
}

fn main() {
    let shop = Shop { name: &1_u8 };
    let _ = (shop.session(), shop.name);
}
