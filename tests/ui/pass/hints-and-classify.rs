// Status ranges, `rate_limit_reset` in both forms and `classify` with the paths it takes.
use api_toolkit::reqwest::header::HeaderName;
use api_toolkit::{
    ApiConnector, Attempt, Classifier, Connector, RateLimitReset, ResetForm, RetrySettings,
    Session, Verdict,
};

mod rules {
    use api_toolkit::{Attempt, Verdict};

    pub fn github(_: &Attempt<'_>) -> Verdict {
        Verdict::Retry
    }

    pub fn generic<const STOP: bool>(_: &Attempt<'_>) -> Verdict {
        if STOP {
            Verdict::Stop
        } else {
            Verdict::Defer
        }
    }
}

// A list with a range is sorted and loses its repeats; a list of codes keeps its order.
#[derive(Connector)]
#[retry(status_forcelist = [503, 429, 500..=502, 502, 0x1F4..=500u16])]
#[retry(rate_limit_reset = "ratelimit-reset", classify = crate::rules::github)]
struct Ranges {
    session: Session,
}

#[derive(Connector)]
#[retry(status_forcelist = [503, 429, 503], rate_limit_reset())]
#[retry(classify = rules::generic::<true>)]
struct Codes {
    session: Session,
}

#[derive(Connector)]
#[retry(rate_limit_reset(statuses = [429, 403, 400..=403], remaining_header = "x-left",))]
#[retry(classify = Self::rules, should_retry_header = "x-should-retry")]
struct Inherent {
    session: Session,
}

impl Inherent {
    fn rules(_: &Attempt<'_>) -> Verdict {
        Verdict::Stop
    }
}

// A path passed through `macro_rules!` (as `$path:path`, in an invisible group).
macro_rules! classified {
    ($name:ident, $rule:path) => {
        #[derive(Connector)]
        #[retry(classify = $rule)]
        struct $name {
            session: Session,
        }
    };
}

classified!(Passed, rules::github);

fn main() {
    let ranges = Ranges::default_retry_settings();
    assert_eq!(ranges.status_forcelist, [429, 500, 501, 502, 503]);
    assert_eq!(
        ranges.rate_limit_reset,
        Some(RateLimitReset {
            header: HeaderName::from_static("ratelimit-reset"),
            ..RateLimitReset::github()
        })
    );
    assert_eq!(ranges.classify, Some(Classifier::from_fn(rules::github)));

    let codes = Codes::default_retry_settings();
    assert_eq!(codes.status_forcelist, [503, 429, 503]);
    assert_eq!(codes.rate_limit_reset, Some(RateLimitReset::default()));

    assert_eq!(
        Inherent::default_retry_settings(),
        RetrySettings {
            rate_limit_reset: Some(RateLimitReset {
                header: HeaderName::from_static("x-ratelimit-reset"),
                form: ResetForm::EpochSeconds,
                remaining_header: HeaderName::from_static("x-left"),
                statuses: vec![400, 401, 402, 403, 429],
            }),
            classify: Some(Classifier::from_fn(Inherent::rules)),
            should_retry_header: Some(HeaderName::from_static("x-should-retry")),
            ..RetrySettings::default()
        }
    );
    assert_eq!(
        Passed::default_retry_settings().classify,
        Some(Classifier::from_fn(rules::github))
    );

    for settings in [
        ranges,
        codes,
        Inherent::default_retry_settings(),
        Passed::default_retry_settings(),
    ] {
        assert_eq!(settings.validate(), Ok(()));
    }
    let codes = Codes {
        session: Codes::new_session().unwrap(),
    };
    assert!(codes.get_retry_settings().classify.is_some());
}
