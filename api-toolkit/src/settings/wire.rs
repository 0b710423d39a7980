//! The serde form of [`RetrySettings`]: methods as strings, durations as seconds.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{validate, RetryBudget, RetrySettings, SettingsError};

/// Field order is the Python `get_retry_settings()` dict's, then the later fields.
#[derive(Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct WireSettings {
    max_retries: u32,
    backoff_factor: f64,
    status_forcelist: Vec<u16>,
    allowed_methods: Vec<String>,
    raise_on_status: bool,
    backoff_max: f64,
    respect_retry_after_header: bool,
    retry_after_max: f64,
    total_timeout: Option<f64>,
    attempt_timeout: Option<f64>,
    backoff_jitter: f64,
    idempotency_key: bool,
    retry_budget: Option<WireBudget>,
    share_retry_after: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct WireBudget {
    ratio: f64,
    min_per_second: u32,
    window: f64,
}

impl Default for WireBudget {
    fn default() -> Self {
        RetryBudget::default().into()
    }
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

impl TryFrom<WireBudget> for RetryBudget {
    type Error = SettingsError;

    fn try_from(w: WireBudget) -> Result<Self, SettingsError> {
        Ok(RetryBudget {
            ratio: w.ratio,
            min_per_second: w.min_per_second,
            window: seconds("retry_budget.window", w.window)?,
        })
    }
}

impl Default for WireSettings {
    fn default() -> Self {
        RetrySettings::default().into()
    }
}

impl From<RetrySettings> for WireSettings {
    fn from(s: RetrySettings) -> Self {
        WireSettings {
            max_retries: s.max_retries,
            backoff_factor: s.backoff_factor,
            status_forcelist: s.status_forcelist,
            allowed_methods: s
                .allowed_methods
                .iter()
                .map(|m| m.as_str().to_owned())
                .collect(),
            raise_on_status: s.raise_on_status,
            backoff_max: s.backoff_max.as_secs_f64(),
            respect_retry_after_header: s.respect_retry_after_header,
            retry_after_max: s.retry_after_max.as_secs_f64(),
            total_timeout: s.total_timeout.map(|t| t.as_secs_f64()),
            attempt_timeout: s.attempt_timeout.map(|t| t.as_secs_f64()),
            backoff_jitter: s.backoff_jitter.as_secs_f64(),
            idempotency_key: s.idempotency_key,
            retry_budget: s.retry_budget.map(WireBudget::from),
            share_retry_after: s.share_retry_after,
        }
    }
}

impl TryFrom<WireSettings> for RetrySettings {
    type Error = SettingsError;

    fn try_from(w: WireSettings) -> Result<Self, SettingsError> {
        let settings = RetrySettings {
            max_retries: w.max_retries,
            backoff_factor: w.backoff_factor,
            status_forcelist: w.status_forcelist,
            allowed_methods: w
                .allowed_methods
                .iter()
                .map(|name| validate::parse_method(name))
                .collect::<Result<_, _>>()?,
            raise_on_status: w.raise_on_status,
            backoff_max: seconds("backoff_max", w.backoff_max)?,
            respect_retry_after_header: w.respect_retry_after_header,
            retry_after_max: seconds("retry_after_max", w.retry_after_max)?,
            total_timeout: w
                .total_timeout
                .map(|t| seconds("total_timeout", t))
                .transpose()?,
            attempt_timeout: w
                .attempt_timeout
                .map(|t| seconds("attempt_timeout", t))
                .transpose()?,
            backoff_jitter: seconds("backoff_jitter", w.backoff_jitter)?,
            idempotency_key: w.idempotency_key,
            retry_budget: w.retry_budget.map(RetryBudget::try_from).transpose()?,
            share_retry_after: w.share_retry_after,
        };
        settings.validate()?;
        Ok(settings)
    }
}

fn seconds(field: &'static str, secs: f64) -> Result<Duration, SettingsError> {
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
    fn unknown_field_rejected() {
        let err = from_json(r#"{"max_retry": 2}"#).unwrap_err();
        assert!(err.contains("unknown field `max_retry`"), "{err}");
    }
}
