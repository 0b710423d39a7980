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

// Values passed as `$x:expr` reach the derive wrapped in invisible groups.
macro_rules! plain_connector {
    ($name:ident, $factor:expr, $status:expr) => {
        #[derive(Connector)]
        #[retry(backoff_factor = $factor, status_forcelist = [$status])]
        struct $name {
            session: Session,
        }
    };
}

connector!(Shop, http, 4);
plain_connector!(Bank, 0.25, 429);

fn main() {
    assert_eq!(Shop::default_retry_settings().max_retries, 4);
    assert_eq!(Bank::default_retry_settings().backoff_factor, 0.25);
    assert_eq!(Bank::default_retry_settings().status_forcelist, [429]);
    let shop = Shop {
        http: Shop::new_session().unwrap(),
    };
    assert_eq!(shop.get_retry_settings().max_retries, 4);
    let bank = Bank {
        session: Bank::new_session().unwrap(),
    };
    assert_eq!(bank.get_retry_settings().backoff_factor, 0.25);
}
