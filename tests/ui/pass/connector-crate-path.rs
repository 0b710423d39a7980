// A crate that re-exports api_toolkit: `#[connector(crate = path)]` makes the expansion go
// through that path, with every kind of value.
mod my_sdk {
    pub use api_toolkit;

    pub mod rules {
        use super::api_toolkit::{Attempt, Verdict};

        pub fn shop(_: &Attempt<'_>) -> Verdict {
            Verdict::Defer
        }
    }
}

use my_sdk::api_toolkit::{ApiConnector, Connector, RetrySettings, Session};

#[derive(Connector)]
#[connector(crate = my_sdk::api_toolkit)]
#[retry(max_retries = 3, backoff_factor = 0.5, status_forcelist = [429, 500..=599])]
#[retry(allowed_methods = ["GET", "PURGE"], backoff_max = 1.5, total_timeout = 30)]
#[retry(retry_budget = 0.2, should_retry_header = "x-should-retry")]
#[retry(rate_limit_reset(form = "delta_seconds", statuses = [429]))]
#[retry(classify = my_sdk::rules::shop, classify_body_bytes = 4096)]
struct Shop {
    session: Session,
}

// The path may start with `::` or `crate`, and the attribute may come after `#[retry(...)]`.
#[derive(Connector)]
#[retry(max_retries = 1)]
#[connector(crate = crate::my_sdk::api_toolkit)]
struct Plain {
    #[session]
    http: std::sync::Arc<Session>,
}

#[derive(Connector)]
#[connector(crate = ::api_toolkit)]
struct Direct {
    session: Session,
}

fn main() {
    let settings = Shop::default_retry_settings();
    assert_eq!(settings.max_retries, 3);
    assert_eq!(settings.status_forcelist.len(), 101);
    assert_eq!(settings.retry_budget.map(|budget| budget.ratio), Some(0.2));
    assert!(settings.classify.is_some());
    let shop = Shop {
        session: Shop::new_session().unwrap(),
    };
    assert_eq!(shop.get_retry_settings().max_retries, 3);
    let plain = Plain {
        http: std::sync::Arc::new(Plain::new_session().unwrap()),
    };
    assert_eq!(plain.get_retry_settings().max_retries, 1);
    assert_eq!(Direct::default_retry_settings(), RetrySettings::default());
}
