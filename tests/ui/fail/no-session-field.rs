use api_toolkit::{ApiConnector, Connector};

#[derive(Connector)]
#[retry(max_retries = 3)]
struct Shop {
    base_url: String,
}

fn main() {
    // No cascade: the fallback impl keeps these calls compiling.
    let shop = Shop {
        base_url: String::new(),
    };
    let _ = shop.session().get(shop.base_url.as_str());
    let _ = Shop::new_session();
}
