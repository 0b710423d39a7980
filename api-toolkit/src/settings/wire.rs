//! The serde form of [`RetrySettings`] as written: methods as strings, durations as seconds.
//! It is read by [`RetrySettingsPatch`](super::RetrySettingsPatch), which names the field in
//! every error.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{
    validate, CircuitBreaker, Hedging, Pacing, RateLimitReset, RetryBudget, RetrySettings,
    SettingsError, Throttling,
};

/// Field order is the Python `get_retry_settings()` dict's, then the later fields.
#[derive(Serialize)]
pub(super) struct WireSettings {
    max_retries: u32,
    backoff_factor: f64,
    status_forcelist: Vec<WireStatus>,
    allowed_methods: Vec<String>,
    raise_on_status: bool,
    // Written only when set, as the fields of issue 14 below.
    #[serde(skip_serializing_if = "is_false")]
    error_for_status: bool,
    backoff_max: f64,
    respect_retry_after_header: bool,
    retry_after_max: f64,
    total_timeout: Option<f64>,
    attempt_timeout: Option<f64>,
    backoff_jitter: f64,
    idempotency_key: bool,
    retry_budget: Option<WireBudget>,
    share_retry_after: bool,
    // The fields of issue 14 are written only when set: the JSON of settings that do not use
    // them is what it was.
    #[serde(skip_serializing_if = "is_false")]
    respect_retry_after_ms: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    should_retry_header: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rate_limit_reset: Option<WireReset>,
    #[serde(skip_serializing_if = "is_false")]
    keyed_retries: bool,
    #[serde(skip_serializing_if = "is_zero")]
    classify_body_bytes: usize,
    // Issue 17: written only when set, as the fields of issue 14.
    #[serde(skip_serializing_if = "is_zero")]
    replay_limit: usize,
    // Issue 18: written only when set, as the fields of issue 14.
    #[serde(skip_serializing_if = "Option::is_none")]
    circuit_breaker: Option<WireBreaker>,
    #[serde(skip_serializing_if = "Option::is_none")]
    throttling: Option<WireThrottling>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pacing: Option<WirePacing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hedging: Option<WireHedging>,
}

// serde's `skip_serializing_if` takes a reference.
fn is_false(flag: &bool) -> bool {
    !flag
}

fn is_zero(bytes: &usize) -> bool {
    *bytes == 0
}

/// A status (any integer, so that a wrong one is reported by the check that names the field)
/// or a range written `"500..=599"` (or `"500-599"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub(super) enum WireStatus {
    Code(i64),
    Range(String),
}

#[derive(Serialize)]
struct WireReset {
    header: String,
    form: String,
    remaining_header: String,
    statuses: Vec<u16>,
}

impl From<RateLimitReset> for WireReset {
    fn from(r: RateLimitReset) -> Self {
        WireReset {
            header: r.header.as_str().to_owned(),
            form: r.form.as_str().to_owned(),
            remaining_header: r.remaining_header.as_str().to_owned(),
            statuses: r.statuses,
        }
    }
}

/// The statuses of a wire list: as given when it holds codes only (the seed's form), sorted and
/// deduplicated when it holds a range.
pub(super) fn statuses(wire: Vec<WireStatus>) -> Result<Vec<u16>, SettingsError> {
    let has_range = wire.iter().any(|s| matches!(s, WireStatus::Range(_)));
    let mut list = Vec::with_capacity(wire.len());
    for status in wire {
        match status {
            WireStatus::Code(code) => list.push(u16::try_from(code).map_err(|_| {
                SettingsError::new(
                    "status_forcelist",
                    code,
                    "expected HTTP status codes in 100..=599",
                )
            })?),
            WireStatus::Range(text) => {
                let range = super::statuses::parse_range(&text).ok_or_else(|| {
                    SettingsError::new(
                        "status_forcelist",
                        format!("{text:?}"),
                        "expected a status code or a range such as \"500..=599\"",
                    )
                })?;
                list.extend(range);
            }
        }
    }
    if has_range {
        list.sort_unstable();
        list.dedup();
    }
    Ok(list)
}

#[derive(Serialize)]
struct WireBudget {
    ratio: f64,
    min_per_second: u32,
    window: f64,
}

impl From<RetryBudget> for WireBudget {
    fn from(b: RetryBudget) -> Self {
        WireBudget {
            ratio: b.ratio,
            min_per_second: b.min_per_second,
            window: b.window.as_secs_f64(),
        }
    }
}

#[derive(Serialize)]
struct WireBreaker {
    failure_ratio: f64,
    min_attempts: u32,
    window: f64,
    break_duration: f64,
    half_open_probes: u32,
    count_statuses: bool,
    count_connection_failures: bool,
    count_timeouts: bool,
}

impl From<CircuitBreaker> for WireBreaker {
    fn from(b: CircuitBreaker) -> Self {
        WireBreaker {
            failure_ratio: b.failure_ratio,
            min_attempts: b.min_attempts,
            window: b.window.as_secs_f64(),
            break_duration: b.break_duration.as_secs_f64(),
            half_open_probes: b.half_open_probes,
            count_statuses: b.count_statuses,
            count_connection_failures: b.count_connection_failures,
            count_timeouts: b.count_timeouts,
        }
    }
}

#[derive(Serialize)]
struct WireThrottling {
    k: f64,
    window: f64,
    count_statuses: bool,
    count_connection_failures: bool,
    count_timeouts: bool,
}

impl From<Throttling> for WireThrottling {
    fn from(t: Throttling) -> Self {
        WireThrottling {
            k: t.k,
            window: t.window.as_secs_f64(),
            count_statuses: t.count_statuses,
            count_connection_failures: t.count_connection_failures,
            count_timeouts: t.count_timeouts,
        }
    }
}

#[derive(Serialize)]
struct WireHedging {
    delay: f64,
    max_hedged: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    quantile: Option<f64>,
}

impl From<Hedging> for WireHedging {
    fn from(h: Hedging) -> Self {
        WireHedging {
            delay: h.delay.as_secs_f64(),
            max_hedged: h.max_hedged,
            quantile: h.quantile,
        }
    }
}

#[derive(Serialize)]
struct WirePacing {
    spread: bool,
}

impl From<Pacing> for WirePacing {
    fn from(p: Pacing) -> Self {
        WirePacing { spread: p.spread }
    }
}

impl From<RetrySettings> for WireSettings {
    fn from(s: RetrySettings) -> Self {
        WireSettings {
            max_retries: s.max_retries,
            backoff_factor: s.backoff_factor,
            status_forcelist: s
                .status_forcelist
                .into_iter()
                .map(|code| WireStatus::Code(code.into()))
                .collect(),
            allowed_methods: s
                .allowed_methods
                .iter()
                .map(|m| m.as_str().to_owned())
                .collect(),
            raise_on_status: s.raise_on_status,
            error_for_status: s.error_for_status,
            backoff_max: s.backoff_max.as_secs_f64(),
            respect_retry_after_header: s.respect_retry_after_header,
            retry_after_max: s.retry_after_max.as_secs_f64(),
            total_timeout: s.total_timeout.map(|t| t.as_secs_f64()),
            attempt_timeout: s.attempt_timeout.map(|t| t.as_secs_f64()),
            backoff_jitter: s.backoff_jitter.as_secs_f64(),
            idempotency_key: s.idempotency_key,
            retry_budget: s.retry_budget.map(WireBudget::from),
            share_retry_after: s.share_retry_after,
            respect_retry_after_ms: s.respect_retry_after_ms,
            should_retry_header: s.should_retry_header.map(|h| h.as_str().to_owned()),
            rate_limit_reset: s.rate_limit_reset.map(WireReset::from),
            keyed_retries: s.keyed_retries,
            classify_body_bytes: s.classify_body_bytes,
            replay_limit: s.replay_limit,
            circuit_breaker: s.circuit_breaker.map(WireBreaker::from),
            throttling: s.throttling.map(WireThrottling::from),
            pacing: s.pacing.map(WirePacing::from),
            hedging: s.hedging.map(WireHedging::from),
        }
    }
}

/// `secs` as a duration, refused (naming `field`) when negative or not finite.
pub(super) fn seconds(field: &'static str, secs: f64) -> Result<Duration, SettingsError> {
    Duration::try_from_secs_f64(secs).map_err(|_| {
        SettingsError::new(
            field,
            validate::Number(secs),
            "expected a finite number of seconds >= 0",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ResetForm;

    fn from_json(json: &str) -> Result<RetrySettings, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn round_trips() {
        let settings = RetrySettings {
            max_retries: 4,
            backoff_max: Duration::from_millis(1500),
            ..Default::default()
        };
        let json = serde_json::to_string(&settings).unwrap();
        assert_eq!(from_json(&json).unwrap(), settings);
    }

    #[test]
    fn missing_fields_take_defaults() {
        let settings = from_json(r#"{"max_retries": 2}"#).unwrap();
        assert_eq!(
            settings,
            RetrySettings {
                max_retries: 2,
                ..Default::default()
            }
        );
    }

    #[test]
    fn bad_values_name_field_and_value() {
        let cases = [
            (r#"{"backoff_factor": -2}"#, "`backoff_factor` = -2"),
            (r#"{"status_forcelist": [700]}"#, "`status_forcelist` = 700"),
            (r#"{"allowed_methods": []}"#, "`allowed_methods` = []"),
            (r#"{"allowed_methods": ["get"]}"#, "did you mean \"GET\"?"),
            (
                r#"{"allowed_methods": ["GE T"]}"#,
                "`allowed_methods` = \"GE T\"",
            ),
            (r#"{"backoff_max": -1}"#, "`backoff_max` = -1"),
            (r#"{"retry_after_max": 1e300}"#, "`retry_after_max` = 1e300"),
            (r#"{"total_timeout": 0}"#, "`total_timeout` = 0"),
            (
                r#"{"retry_budget": {"ratio": -1}}"#,
                "`retry_budget.ratio` = -1",
            ),
            (
                r#"{"retry_budget": {"window": 0.5}}"#,
                "`retry_budget.window` = 0.5",
            ),
            (
                r#"{"circuit_breaker": {"failure_ratio": 1.5}}"#,
                "`circuit_breaker.failure_ratio` = 1.5",
            ),
            (
                r#"{"circuit_breaker": {"window": 0}}"#,
                "`circuit_breaker.window` = 0",
            ),
            (
                r#"{"circuit_breaker": {"break_duration": "0s"}}"#,
                "`circuit_breaker.break_duration` = 0",
            ),
            (
                r#"{"circuit_breaker": {"min_attempts": 0}}"#,
                "`circuit_breaker.min_attempts` = 0",
            ),
            (
                r#"{"circuit_breaker": {"half_open_probes": -1}}"#,
                "`circuit_breaker.half_open_probes`: invalid value",
            ),
            (r#"{"throttling": {"k": 0.5}}"#, "`throttling.k` = 0.5"),
            (
                r#"{"throttling": {"window": 0}}"#,
                "`throttling.window` = 0",
            ),
            (
                r#"{"throttling": {"count_timeouts": 1}}"#,
                "`throttling.count_timeouts`: invalid type",
            ),
            (r#"{"hedging": {"delay": 0}}"#, "`hedging.delay` = 0"),
            (r#"{"hedging": {"delay": "0ms"}}"#, "`hedging.delay` = 0"),
            (r#"{"hedging": {"delay": 7200}}"#, "`hedging.delay` = 7200"),
            (
                r#"{"hedging": {"quantile": 1.5}}"#,
                "`hedging.quantile` = 1.5",
            ),
            (
                r#"{"hedging": {"max_hedged": 0}}"#,
                "`hedging.max_hedged` = 0",
            ),
            (
                r#"{"hedging": {"max_hedged": 1000}}"#,
                "`hedging.max_hedged` = 1000",
            ),
            (
                r#"{"hedging": {"max_hedged": "two"}}"#,
                "`hedging.max_hedged`: invalid type",
            ),
            (
                r#"{"hedging": {"delay_ms": 5}}"#,
                "unknown retry setting `hedging.delay_ms`",
            ),
        ];
        for (json, needle) in cases {
            let err = from_json(json).unwrap_err();
            assert!(err.contains(needle), "{json}: {err}");
        }
    }

    #[test]
    fn engine_fields_round_trip() {
        let settings = RetrySettings {
            total_timeout: Some(Duration::from_secs(30)),
            attempt_timeout: Some(Duration::from_millis(2500)),
            backoff_jitter: Duration::from_millis(100),
            idempotency_key: true,
            retry_budget: Some(RetryBudget::default()),
            share_retry_after: true,
            ..Default::default()
        };
        let json = serde_json::to_string(&settings).unwrap();
        assert!(
            json.contains(r#""retry_budget":{"ratio":0.2,"min_per_second":10,"window":10.0}"#),
            "{json}"
        );
        assert_eq!(from_json(&json).unwrap(), settings);
        assert_eq!(
            from_json(r#"{"retry_budget": {}}"#).unwrap().retry_budget,
            Some(RetryBudget::default())
        );
    }

    #[test]
    fn the_circuit_breaker_is_written_only_when_set_and_round_trips() {
        let json = serde_json::to_string(&RetrySettings::default()).unwrap();
        assert!(!json.contains("circuit_breaker"), "{json}");
        let settings = RetrySettings {
            circuit_breaker: Some(CircuitBreaker {
                window: Duration::from_millis(2500),
                count_timeouts: false,
                ..CircuitBreaker::default()
            }),
            ..Default::default()
        };
        let json = serde_json::to_string(&settings).unwrap();
        assert!(
            json.contains(
                r#""circuit_breaker":{"failure_ratio":0.5,"min_attempts":20,"window":2.5,"break_duration":5.0,"half_open_probes":1,"count_statuses":true,"count_connection_failures":true,"count_timeouts":false}"#
            ),
            "{json}"
        );
        assert_eq!(from_json(&json).unwrap(), settings);
        assert_eq!(
            from_json(r#"{"circuit_breaker": {}}"#)
                .unwrap()
                .circuit_breaker,
            Some(CircuitBreaker::default())
        );
    }

    #[test]
    fn throttling_is_written_only_when_set_and_round_trips() {
        let json = serde_json::to_string(&RetrySettings::default()).unwrap();
        assert!(!json.contains("throttling"), "{json}");
        let settings = RetrySettings {
            throttling: Some(Throttling {
                k: 1.5,
                count_statuses: false,
                ..Throttling::default()
            }),
            ..Default::default()
        };
        let json = serde_json::to_string(&settings).unwrap();
        assert!(
            json.contains(
                r#""throttling":{"k":1.5,"window":30.0,"count_statuses":false,"count_connection_failures":true,"count_timeouts":true}"#
            ),
            "{json}"
        );
        assert_eq!(from_json(&json).unwrap(), settings);
        assert_eq!(
            from_json(r#"{"throttling": {}}"#).unwrap().throttling,
            Some(Throttling::default())
        );
    }

    #[test]
    fn pacing_is_written_only_when_set_and_round_trips() {
        let json = serde_json::to_string(&RetrySettings::default()).unwrap();
        assert!(!json.contains("pacing"), "{json}");
        let settings = RetrySettings {
            pacing: Some(Pacing { spread: true }),
            ..Default::default()
        };
        let json = serde_json::to_string(&settings).unwrap();
        assert!(json.contains(r#""pacing":{"spread":true}"#), "{json}");
        assert_eq!(from_json(&json).unwrap(), settings);
        assert_eq!(
            from_json(r#"{"pacing": {}}"#).unwrap().pacing,
            Some(Pacing::default())
        );
        assert_eq!(from_json(r#"{"pacing": null}"#).unwrap().pacing, None);
        for (json, needle) in [
            (
                r#"{"pacing": {"spread": 1}}"#,
                "`pacing.spread`: invalid type",
            ),
            (
                r#"{"pacing": {"even": true}}"#,
                "unknown retry setting `pacing.even`",
            ),
            (r#"{"pacing": true}"#, "`pacing`: invalid type"),
        ] {
            let err = from_json(json).unwrap_err();
            assert!(err.contains(needle), "{json}: {err}");
        }
    }

    #[test]
    fn hedging_is_written_only_when_set_and_round_trips() {
        let json = serde_json::to_string(&RetrySettings::default()).unwrap();
        assert!(!json.contains("hedging"), "{json}");
        let settings = RetrySettings {
            hedging: Some(Hedging {
                delay: Duration::from_millis(5),
                max_hedged: 2,
                quantile: None,
            }),
            ..Default::default()
        };
        let json = serde_json::to_string(&settings).unwrap();
        assert!(
            json.ends_with(r#""hedging":{"delay":0.005,"max_hedged":2}}"#),
            "{json}"
        );
        assert_eq!(from_json(&json).unwrap(), settings);
        assert_eq!(
            from_json(r#"{"hedging": {"delay": "20ms"}}"#)
                .unwrap()
                .hedging,
            Some(Hedging {
                delay: Duration::from_millis(20),
                ..Hedging::default()
            })
        );
        assert_eq!(
            from_json(r#"{"hedging": {}}"#).unwrap().hedging,
            Some(Hedging::default())
        );
        assert_eq!(from_json(r#"{"hedging": null}"#).unwrap().hedging, None);
        let adaptive = RetrySettings {
            hedging: Some(Hedging {
                quantile: Some(0.95),
                ..Hedging::default()
            }),
            ..Default::default()
        };
        let json = serde_json::to_string(&adaptive).unwrap();
        assert!(
            json.ends_with(r#""hedging":{"delay":0.1,"max_hedged":1,"quantile":0.95}}"#),
            "{json}"
        );
        assert_eq!(from_json(&json).unwrap(), adaptive);
    }

    #[test]
    fn hint_fields_round_trip_and_ranges_expand() {
        let settings = from_json(
            r#"{"status_forcelist": [503, "500..=502", 429, 501], "respect_retry_after_ms": true,
                "should_retry_header": "x-should-retry", "keyed_retries": true,
                "rate_limit_reset": {"form": "delta_seconds", "statuses": [429]},
                "classify_body_bytes": 512, "replay_limit": 1048576}"#,
        )
        .unwrap();
        assert_eq!(settings.status_forcelist, [429, 500, 501, 502, 503]);
        assert_eq!(
            settings.should_retry_header.as_ref().unwrap(),
            "x-should-retry"
        );
        let reset = settings.rate_limit_reset.clone().unwrap();
        assert_eq!(reset.form, ResetForm::DeltaSeconds);
        assert_eq!(
            reset.header, "x-ratelimit-reset",
            "missing fields are GitHub's"
        );
        assert!(settings.keyed_retries && settings.respect_retry_after_ms);
        assert_eq!(settings.replay_limit, 1 << 20);
        let json = serde_json::to_string(&settings).unwrap();
        assert_eq!(from_json(&json).unwrap(), settings);
        // A list of codes only is kept as written, as before.
        assert_eq!(
            from_json(r#"{"status_forcelist": [503, 500]}"#)
                .unwrap()
                .status_forcelist,
            [503, 500]
        );
    }

    #[test]
    fn bad_hint_values_name_field_and_value() {
        let cases = [
            (
                r#"{"should_retry_header": "X-Should-Retry"}"#,
                "`should_retry_header` = \"X-Should-Retry\"",
            ),
            (
                r#"{"should_retry_header": "x should"}"#,
                "`should_retry_header` = \"x should\"",
            ),
            (
                r#"{"rate_limit_reset": {"header": "Reset"}}"#,
                "`rate_limit_reset.header` = \"Reset\"",
            ),
            (
                r#"{"rate_limit_reset": {"form": "epoch"}}"#,
                "`rate_limit_reset.form` = \"epoch\"",
            ),
            (
                r#"{"rate_limit_reset": {"statuses": []}}"#,
                "`rate_limit_reset.statuses` = []",
            ),
            (
                r#"{"status_forcelist": ["5xx"]}"#,
                "`status_forcelist` = \"5xx\"",
            ),
            (
                r#"{"status_forcelist": ["500..=600"]}"#,
                "`status_forcelist` = 600",
            ),
            (r#"{"status_forcelist": [-1]}"#, "`status_forcelist` = -1"),
            (
                r#"{"status_forcelist": [70000]}"#,
                "`status_forcelist` = 70000",
            ),
            (
                r#"{"classify_body_bytes": 70000}"#,
                "`classify_body_bytes` = 70000",
            ),
            (
                r#"{"replay_limit": 268435457}"#,
                "`replay_limit` = 268435457: expected at most 268435456 bytes (256 MiB)",
            ),
            (r#"{"replay_limit": -1}"#, "`replay_limit`: invalid value"),
        ];
        for (json, needle) in cases {
            let err = from_json(json).unwrap_err();
            assert!(err.contains(needle), "{json}: {err}");
        }
    }

    #[test]
    fn unknown_field_rejected() {
        let err = from_json(r#"{"max_retry": 2}"#).unwrap_err();
        assert!(err.contains("unknown retry setting `max_retry`"), "{err}");
    }
}

/// Deserialization never panics, whatever the input; what it accepts is valid and reads back.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use serde_json::{json, Map, Value};

    use super::*;

    const KEYS: [&str; 15] = [
        "max_retries",
        "backoff_factor",
        "status_forcelist",
        "allowed_methods",
        "raise_on_status",
        "backoff_max",
        "respect_retry_after_header",
        "retry_after_max",
        "total_timeout",
        "attempt_timeout",
        "backoff_jitter",
        "idempotency_key",
        "retry_budget",
        "share_retry_after",
        "max_retry", // unknown
    ];

    /// Numbers at the edges: negative, zero, fractions, past `u32`, `u64` and `Duration`.
    fn number() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (0u32..700).prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            (0.0..1e20f64).prop_map(Value::from),
            Just(json!(18_446_744_073_709_551_615.0_f64)),
            Just(json!(1e300)),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            number(),
            proptest::sample::select(vec!["GET", "get", "POST", "PURGE", "GE T", "", "\u{e9}"])
                .prop_map(Value::from),
            "\\PC{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(
                    proptest::sample::select(vec!["ratio", "min_per_second", "window", "x"]),
                    inner,
                    0..4,
                )
                .prop_map(|m| Value::Object(
                    m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
                )),
            ]
        })
    }

    /// A value of the key's type, most of the time, at the edges of its range.
    fn plausible(key: &'static str) -> BoxedStrategy<Value> {
        let seconds = prop_oneof![(0.0..5.0f64).prop_map(Value::from), number()];
        let typed = match key {
            "max_retries" => prop_oneof![(0u32..10).prop_map(Value::from), number()].boxed(),
            "status_forcelist" => proptest::collection::vec(0u32..700, 0..5)
                .prop_map(|codes| json!(codes))
                .boxed(),
            "allowed_methods" => proptest::collection::vec(
                proptest::sample::select(vec!["GET", "PUT", "POST", "PURGE", "get", "G T"]),
                0..4,
            )
            .prop_map(|methods| json!(methods))
            .boxed(),
            "raise_on_status" | "respect_retry_after_header" | "idempotency_key"
            | "share_retry_after" => any::<bool>().prop_map(Value::from).boxed(),
            "retry_budget" => (seconds.clone(), 0u32..20, seconds.clone())
                .prop_map(|(ratio, floor, window)| {
                    json!({"ratio": ratio, "min_per_second": floor, "window": window})
                })
                .boxed(),
            "total_timeout" | "attempt_timeout" => {
                prop_oneof![Just(Value::Null), seconds].boxed()
            }
            _ => seconds.boxed(),
        };
        prop_oneof![3 => typed, 1 => value()].boxed()
    }

    fn settings_json() -> impl Strategy<Value = String> {
        proptest::sample::subsequence(KEYS.to_vec(), 0..=KEYS.len())
            .prop_flat_map(|keys| {
                keys.into_iter()
                    .map(|k| (Just(k), plausible(k)))
                    .collect::<Vec<_>>()
            })
            .prop_map(|fields| {
                let object: Map<String, Value> =
                    fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                Value::Object(object).to_string()
            })
    }

    fn modest(s: &RetrySettings) -> bool {
        let century = Duration::from_secs(100 * 365 * 24 * 3600);
        let budget = s.retry_budget.map(|b| b.window);
        [s.backoff_max, s.retry_after_max, s.backoff_jitter]
            .into_iter()
            .chain(s.total_timeout)
            .chain(s.attempt_timeout)
            .chain(budget)
            .all(|d| d < century)
    }

    proptest! {
        #[test]
        fn any_string_deserialized_without_panic(text in "\\PC{0,200}") {
            let _ = serde_json::from_str::<RetrySettings>(&text);
        }

        #[test]
        fn any_bytes_deserialized_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = serde_json::from_slice::<RetrySettings>(&bytes);
        }

        #[test]
        fn accepted_settings_are_valid_and_read_back(json in settings_json()) {
            if let Ok(settings) = serde_json::from_str::<RetrySettings>(&json) {
                prop_assert!(settings.validate().is_ok(), "{json}");
                let again = serde_json::to_string(&settings).unwrap();
                let read_back: RetrySettings = serde_json::from_str(&again)
                    .map_err(|e| TestCaseError::fail(format!("{json} -> {again}: {e}")))?;
                // f64 seconds are exact to the nanosecond only for modest durations; serde_json
                // parses floats to within an ulp, so past about a century a value may move by one.
                if modest(&settings) {
                    prop_assert_eq!(read_back, settings);
                }
            }
        }
    }
}
