//! Settings: the seed's defaults, their JSON, validation with the previous settings kept, and
//! sharing between clones.

use std::time::Duration;

use api_toolkit::{Method, RetrySettings, Session};
use testkit::{Reply, TestServer};

#[test]
fn default_settings_are_the_seed_defaults() {
    let settings = RetrySettings::default();
    assert_eq!(settings.max_retries, 0);
    assert_eq!(settings.backoff_factor, 1.0);
    assert_eq!(
        settings.status_forcelist,
        [408, 413, 429, 500, 502, 503, 504, 521, 522, 524]
    );
    let methods = [
        Method::HEAD,
        Method::GET,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
        Method::TRACE,
        Method::POST,
        Method::PATCH,
    ];
    assert_eq!(settings.allowed_methods, methods);
    assert!(!settings.raise_on_status);
    assert_eq!(settings.backoff_max, Duration::from_secs(120));
    assert!(settings.respect_retry_after_header);
    assert_eq!(settings.retry_after_max, Duration::from_secs(120));
}

#[test]
fn default_settings_json_matches_seed_get_retry_settings() {
    // The seed's `get_retry_settings()` dict, as JSON: same five keys, values and order first.
    let seed = r#"{"max_retries": 0, "backoff_factor": 1, "status_forcelist": [408, 413, 429, 500, 502, 503, 504, 521, 522, 524], "allowed_methods": ["HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE", "POST", "PATCH"], "raise_on_status": false}"#;
    let ours = serde_json::to_string(&RetrySettings::default()).unwrap();
    let seed_compact = seed
        .replace(", ", ",")
        .replace(": ", ":")
        .replace(":1,", ":1.0,");
    let seed_fields = seed_compact.trim_end_matches('}');
    assert!(ours.starts_with(&format!("{seed_fields},")), "{ours}");
    assert_eq!(
        ours[seed_fields.len()..],
        *r#","backoff_max":120.0,"respect_retry_after_header":true,"retry_after_max":120.0,"total_timeout":null,"attempt_timeout":null,"backoff_jitter":0.0,"idempotency_key":false,"retry_budget":null,"share_retry_after":false}"#
    );
    assert_eq!(
        serde_json::from_str::<RetrySettings>(seed).unwrap(),
        RetrySettings::default()
    );
}

#[test]
fn deserialization_rejects_bad_values_naming_field_and_value() {
    let error =
        serde_json::from_str::<RetrySettings>(r#"{"status_forcelist": [500, 999]}"#).unwrap_err();
    assert!(
        error.to_string().contains("`status_forcelist` = 999"),
        "{error}"
    );
}

#[test]
fn session_new_rejects_invalid_settings() {
    let error = Session::new(RetrySettings {
        backoff_factor: f64::NAN,
        ..RetrySettings::default()
    })
    .unwrap_err();
    assert!(error.is_invalid_settings());
    let refused = error.settings_error().unwrap();
    assert_eq!(
        (refused.field(), refused.value()),
        ("backoff_factor", "NaN")
    );
}

#[test]
fn rejected_settings_leave_previous_in_force() {
    let session = Session::new(RetrySettings {
        max_retries: 2,
        ..RetrySettings::default()
    })
    .unwrap();
    let bad = RetrySettings {
        max_retries: 9,
        allowed_methods: vec![],
        ..RetrySettings::default()
    };
    let error = session.set_retry_settings(bad).unwrap_err();
    assert_eq!(error.settings_error().unwrap().field(), "allowed_methods");
    assert_eq!(
        session.retry_settings(),
        RetrySettings {
            max_retries: 2,
            ..RetrySettings::default()
        }
    );
    let lowercase = RetrySettings {
        allowed_methods: vec![Method::from_bytes(b"get").unwrap()],
        ..RetrySettings::default()
    };
    let error = session.set_retry_settings(lowercase).unwrap_err();
    assert!(
        error.to_string().contains("did you mean \"GET\"?"),
        "{error}"
    );
    assert_eq!(session.retry_settings().max_retries, 2);
}

#[tokio::test]
async fn settings_shared_by_clones() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let session = Session::new(RetrySettings {
        backoff_factor: 0.0,
        ..RetrySettings::default()
    })
    .unwrap();
    let clone = session.clone();
    clone
        .set_retry_settings(RetrySettings {
            max_retries: 2,
            ..clone.retry_settings()
        })
        .unwrap();
    assert_eq!(session.retry_settings().max_retries, 2);
    session.get(server.url("/")).send().await.unwrap();
    assert_eq!(
        server.count(),
        3,
        "the original session retries with the clone's settings"
    );
}

#[tokio::test]
async fn calls_in_flight_keep_the_settings_they_started_with() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let settings = RetrySettings {
        max_retries: 2,
        backoff_factor: 0.4,
        ..RetrySettings::default()
    };
    let session = Session::new(settings).unwrap();
    let call = tokio::spawn(session.get(server.url("/")).send());
    tokio::time::sleep(Duration::from_millis(100)).await; // the call is in its first wait
    session
        .set_retry_settings(RetrySettings {
            max_retries: 0,
            ..session.retry_settings()
        })
        .unwrap();
    call.await.unwrap().unwrap();
    assert_eq!(server.count(), 3, "the call started with max_retries = 2");
    session.get(server.url("/")).send().await.unwrap();
    assert_eq!(server.count(), 4, "a new call uses max_retries = 0");
}

#[tokio::test]
async fn a_replacement_made_on_another_thread_applies_to_the_next_call_here() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let session = Session::new(RetrySettings {
        max_retries: 1,
        backoff_factor: 0.0,
        ..RetrySettings::default()
    })
    .unwrap();
    // Read here first, so that this thread holds the settings in its cache.
    session.get(server.url("/")).send().await.unwrap();
    assert_eq!(server.count(), 2);
    let elsewhere = session.clone();
    std::thread::spawn(move || {
        elsewhere
            .set_retry_settings(RetrySettings {
                max_retries: 3,
                ..elsewhere.retry_settings()
            })
            .unwrap();
    })
    .join()
    .unwrap();
    session.get(server.url("/")).send().await.unwrap();
    assert_eq!(server.count(), 6, "the next call retries 3 times");
}

#[test]
fn lower_case_standard_methods_rejected_at_run_time_as_by_the_derive() {
    for name in ["connect", "get", "Post", "patch", "trace"] {
        let json = format!(r#"{{"allowed_methods": ["{name}"]}}"#);
        let error = serde_json::from_str::<RetrySettings>(&json).unwrap_err();
        assert!(
            error.to_string().contains("allowed_methods"),
            "{name}: {error}"
        );
        let method = api_toolkit::Method::from_bytes(name.as_bytes()).unwrap();
        let settings = RetrySettings {
            allowed_methods: vec![method],
            ..RetrySettings::default()
        };
        let refused = settings.validate().unwrap_err();
        assert_eq!(refused.value(), format!("{name:?}"));
    }
    assert!(serde_json::from_str::<RetrySettings>(r#"{"allowed_methods": ["CONNECT"]}"#).is_ok());
}
