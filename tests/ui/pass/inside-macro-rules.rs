// Derived inside `macro_rules!`, with the name, field and settings passed in.
use api_toolkit::{ApiConnector, Connector, Session};

macro_rules! connector {
    ($name:ident, $field:ident, $retries:literal) => {
        #[derive(Connector)]
        #[retry(max_retries = $retries, allowed_methods = ["GET"])]
        struct $name {
            #[session]
            $field: Session,
        }
    };
}

macro_rules! plain_connector {
    ($name:ident) => {
        #[derive(Connector)]
        #[retry(backoff_factor = 0.25)]
        struct $name {
            session: Session,
        }
    };
}

connector!(Shop, http, 4);
plain_connector!(Bank);

fn main() {
    assert_eq!(Shop::default_retry_settings().max_retries, 4);
    assert_eq!(Bank::default_retry_settings().backoff_factor, 0.25);
    let shop = Shop { http: Shop::new_session().unwrap() };
    assert_eq!(shop.get_retry_settings().max_retries, 4);
    let bank = Bank { session: Bank::new_session().unwrap() };
    assert_eq!(bank.get_retry_settings().backoff_factor, 0.25);
}
