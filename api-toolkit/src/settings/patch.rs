//! [`RetrySettingsPatch`]: settings read from configuration and laid over other settings, so
//! that a key missing from a file keeps the value of the settings it is laid over (a
//! connector's own defaults) rather than [`RetrySettings::default`]'s.
//!
//! Deserializing [`RetrySettings`] itself is a patch laid over the defaults: one reader, one
//! set of messages. serde's derive cannot name the field in a type error ("invalid type:
//! string, expected u32" says not which), so the map is read here, field by field.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use super::wire::{self, WireStatus};
use super::{
    validate, CircuitBreaker, Hedging, RateLimitReset, ResetForm, RetryBudget, RetrySettings,
    SettingsError, Throttling,
};

/// Declares a patch: a struct of optional fields and the map reader that fills it, prefixing
/// every error with the field's name (`prefix` names the parent of a nested one).
macro_rules! patch {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident in $prefix:literal { $($field:ident: $wire:ty,)* }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq)]
        $vis struct $name {
            $($field: Option<$wire>,)*
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Fields;

                impl<'de> Visitor<'de> for Fields {
                    type Value = $name;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a map of retry settings")
                    }

                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<$name, A::Error> {
                        const FIELDS: &[&str] = &[$(stringify!($field)),*];
                        let mut patch = $name::default();
                        while let Some(key) = map.next_key::<String>()? {
                            match key.as_str() {
                                $(stringify!($field) => {
                                    let field = concat!($prefix, stringify!($field));
                                    if patch.$field.is_some() {
                                        return Err(de::Error::custom(format_args!(
                                            "invalid retry setting `{field}`: given twice"
                                        )));
                                    }
                                    patch.$field = Some(map.next_value().map_err(|e| {
                                        named::<A::Error>(field, &e)
                                    })?);
                                })*
                                other => {
                                    return Err(de::Error::custom(format_args!(
                                        "unknown retry setting `{}{other}`, expected one of `{}`",
                                        $prefix,
                                        FIELDS.join("`, `"),
                                    )))
                                }
                            }
                        }
                        Ok(patch)
                    }
                }

                deserializer.deserialize_map(Fields)
            }
        }
    };
}

patch! {
    /// Retry settings read from configuration (JSON, TOML, any serde format), to be laid over
    /// other settings with [`apply_to`](RetrySettingsPatch::apply_to): a key that is present
    /// replaces that field, a missing key keeps the value it is laid over.
    ///
    /// Over a connector's own defaults ([`ApiConnector::retry_settings_from`]), a file that
    /// names only `max_retries` keeps every other `#[retry(...)]` default of the type, where
    /// deserializing [`RetrySettings`] would take [`RetrySettings::default`]'s. The keys and
    /// their forms are [`RetrySettings`]' serde form: durations are seconds (`1.5`) or a
    /// string with a unit (`"250ms"`, `"30s"`, `"2m"`, `"1h 30m"`); `null` clears an optional
    /// setting; a nested table (`retry_budget`, `rate_limit_reset`) is laid over the base's
    /// own, or over its default when the base has none. The classifier, which is code, is
    /// kept from the base.
    ///
    /// Every error names the field: a key of the wrong type when read, a value out of range
    /// when applied (a [`SettingsError`], the base then unchanged).
    ///
    /// [`ApiConnector::retry_settings_from`]: crate::ApiConnector::retry_settings_from
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use api_toolkit::{RetrySettings, RetrySettingsPatch};
    ///
    /// let defaults = RetrySettings { max_retries: 5, status_forcelist: vec![503], ..RetrySettings::default() };
    /// let patch: RetrySettingsPatch = serde_json::from_str(r#"{"max_retries": 2, "total_timeout": "30s"}"#)?;
    /// let settings = patch.apply_to(defaults)?;
    /// assert_eq!(settings.max_retries, 2);
    /// assert_eq!(settings.total_timeout, Some(Duration::from_secs(30)));
    /// assert_eq!(settings.status_forcelist, [503], "kept from the base");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub struct RetrySettingsPatch in "" {
        max_retries: u32,
        backoff_factor: f64,
        status_forcelist: Vec<WireStatus>,
        allowed_methods: Vec<String>,
        raise_on_status: bool,
        error_for_status: bool,
        backoff_max: WireDuration,
        respect_retry_after_header: bool,
        retry_after_max: WireDuration,
        total_timeout: Option<WireDuration>,
        attempt_timeout: Option<WireDuration>,
        backoff_jitter: WireDuration,
        idempotency_key: bool,
        retry_budget: Option<BudgetPatch>,
        share_retry_after: bool,
        respect_retry_after_ms: bool,
        should_retry_header: Option<String>,
        rate_limit_reset: Option<ResetPatch>,
        keyed_retries: bool,
        classify_body_bytes: usize,
        replay_limit: usize,
        circuit_breaker: Option<BreakerPatch>,
        throttling: Option<ThrottlingPatch>,
        pacing: Option<PacingPatch>,
        hedging: Option<HedgingPatch>,
    }
}

patch! {
    /// A `throttling` table: laid over the base's throttling.
    pub(super) struct ThrottlingPatch in "throttling." {
        k: f64,
        window: WireDuration,
        count_statuses: bool,
        count_connection_failures: bool,
        count_timeouts: bool,
    }
}

patch! {
    /// A `pacing` table: laid over the base's pacing.
    pub(super) struct PacingPatch in "pacing." {
        spread: bool,
    }
}

patch! {
    /// A `hedging` table: laid over the base's hedging.
    pub(super) struct HedgingPatch in "hedging." {
        delay: WireDuration,
        max_hedged: u32,
        quantile: Option<f64>,
    }
}

patch! {
    /// A `circuit_breaker` table: laid over the base's breaker.
    pub(super) struct BreakerPatch in "circuit_breaker." {
        failure_ratio: f64,
        min_attempts: u32,
        window: WireDuration,
        break_duration: WireDuration,
        half_open_probes: u32,
        count_statuses: bool,
        count_connection_failures: bool,
        count_timeouts: bool,
    }
}

patch! {
    /// A `retry_budget` table: laid over the base's budget.
    pub(super) struct BudgetPatch in "retry_budget." {
        ratio: f64,
        min_per_second: u32,
        window: WireDuration,
    }
}

patch! {
    /// A `rate_limit_reset` table: laid over the base's.
    pub(super) struct ResetPatch in "rate_limit_reset." {
        header: String,
        form: String,
        remaining_header: String,
        statuses: Vec<u16>,
    }
}

impl RetrySettingsPatch {
    /// `base` with the keys of this patch laid over it, checked.
    ///
    /// # Errors
    ///
    /// A [`SettingsError`] naming the field and the value when a value is out of range or
    /// the settings it makes are invalid ([`RetrySettings::validate`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use api_toolkit::{RetrySettings, RetrySettingsPatch};
    ///
    /// let base = RetrySettings { max_retries: 3, ..RetrySettings::default() };
    /// let patch: RetrySettingsPatch = serde_json::from_str(r#"{"attempt_timeout": "2s"}"#)?;
    /// let settings = patch.apply_to(base.clone())?;
    /// assert_eq!((settings.max_retries, settings.attempt_timeout), (3, Some(Duration::from_secs(2))));
    ///
    /// let bad: RetrySettingsPatch = serde_json::from_str(r#"{"backoff_factor": -1}"#)?;
    /// assert_eq!(bad.apply_to(base).unwrap_err().field(), "backoff_factor");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn apply_to(self, base: RetrySettings) -> Result<RetrySettings, SettingsError> {
        let mut s = base;
        let p = self;
        set(&mut s.max_retries, p.max_retries);
        set(&mut s.backoff_factor, p.backoff_factor);
        if let Some(list) = p.status_forcelist {
            s.status_forcelist = wire::statuses(list)?;
        }
        if let Some(names) = p.allowed_methods {
            s.allowed_methods = names
                .iter()
                .map(|name| validate::parse_method(name))
                .collect::<Result<_, _>>()?;
        }
        set(&mut s.raise_on_status, p.raise_on_status);
        set(&mut s.error_for_status, p.error_for_status);
        if let Some(d) = p.backoff_max {
            s.backoff_max = d.into_duration("backoff_max")?;
        }
        set(
            &mut s.respect_retry_after_header,
            p.respect_retry_after_header,
        );
        if let Some(d) = p.retry_after_max {
            s.retry_after_max = d.into_duration("retry_after_max")?;
        }
        if let Some(d) = p.total_timeout {
            s.total_timeout = d.map(|d| d.into_duration("total_timeout")).transpose()?;
        }
        if let Some(d) = p.attempt_timeout {
            s.attempt_timeout = d.map(|d| d.into_duration("attempt_timeout")).transpose()?;
        }
        if let Some(d) = p.backoff_jitter {
            s.backoff_jitter = d.into_duration("backoff_jitter")?;
        }
        set(&mut s.idempotency_key, p.idempotency_key);
        if let Some(budget) = p.retry_budget {
            let base = s.retry_budget.unwrap_or_default();
            s.retry_budget = budget.map(|b| b.apply_to(base)).transpose()?;
        }
        set(&mut s.share_retry_after, p.share_retry_after);
        set(&mut s.respect_retry_after_ms, p.respect_retry_after_ms);
        if let Some(name) = p.should_retry_header {
            s.should_retry_header = name
                .map(|name| validate::parse_header_name("should_retry_header", &name))
                .transpose()?;
        }
        if let Some(reset) = p.rate_limit_reset {
            let base = s.rate_limit_reset.take().unwrap_or_default();
            s.rate_limit_reset = reset.map(|r| r.apply_to(base)).transpose()?;
        }
        set(&mut s.keyed_retries, p.keyed_retries);
        set(&mut s.classify_body_bytes, p.classify_body_bytes);
        set(&mut s.replay_limit, p.replay_limit);
        if let Some(breaker) = p.circuit_breaker {
            let base = s.circuit_breaker.unwrap_or_default();
            s.circuit_breaker = breaker.map(|b| b.apply_to(base)).transpose()?;
        }
        if let Some(throttling) = p.throttling {
            let base = s.throttling.unwrap_or_default();
            s.throttling = throttling.map(|t| t.apply_to(base)).transpose()?;
        }
        if let Some(pacing) = p.pacing {
            let mut base = s.pacing.unwrap_or_default();
            s.pacing = pacing.map(|p| {
                set(&mut base.spread, p.spread);
                base
            });
        }
        if let Some(hedging) = p.hedging {
            let base = s.hedging.unwrap_or_default();
            s.hedging = hedging.map(|h| h.apply_to(base)).transpose()?;
        }
        s.validate()?;
        Ok(s)
    }
}

impl BudgetPatch {
    fn apply_to(self, mut budget: RetryBudget) -> Result<RetryBudget, SettingsError> {
        set(&mut budget.ratio, self.ratio);
        set(&mut budget.min_per_second, self.min_per_second);
        if let Some(window) = self.window {
            budget.window = window.into_duration("retry_budget.window")?;
        }
        Ok(budget)
    }
}

impl BreakerPatch {
    fn apply_to(self, mut breaker: CircuitBreaker) -> Result<CircuitBreaker, SettingsError> {
        set(&mut breaker.failure_ratio, self.failure_ratio);
        set(&mut breaker.min_attempts, self.min_attempts);
        if let Some(window) = self.window {
            breaker.window = window.into_duration("circuit_breaker.window")?;
        }
        if let Some(duration) = self.break_duration {
            breaker.break_duration = duration.into_duration("circuit_breaker.break_duration")?;
        }
        set(&mut breaker.half_open_probes, self.half_open_probes);
        set(&mut breaker.count_statuses, self.count_statuses);
        set(
            &mut breaker.count_connection_failures,
            self.count_connection_failures,
        );
        set(&mut breaker.count_timeouts, self.count_timeouts);
        Ok(breaker)
    }
}

impl ThrottlingPatch {
    fn apply_to(self, mut throttling: Throttling) -> Result<Throttling, SettingsError> {
        set(&mut throttling.k, self.k);
        if let Some(window) = self.window {
            throttling.window = window.into_duration("throttling.window")?;
        }
        set(&mut throttling.count_statuses, self.count_statuses);
        set(
            &mut throttling.count_connection_failures,
            self.count_connection_failures,
        );
        set(&mut throttling.count_timeouts, self.count_timeouts);
        Ok(throttling)
    }
}

impl HedgingPatch {
    fn apply_to(self, mut hedging: Hedging) -> Result<Hedging, SettingsError> {
        if let Some(delay) = self.delay {
            hedging.delay = delay.into_duration("hedging.delay")?;
        }
        set(&mut hedging.max_hedged, self.max_hedged);
        set(&mut hedging.quantile, self.quantile);
        Ok(hedging)
    }
}

impl ResetPatch {
    fn apply_to(self, mut reset: RateLimitReset) -> Result<RateLimitReset, SettingsError> {
        if let Some(header) = self.header {
            reset.header = validate::parse_header_name("rate_limit_reset.header", &header)?;
        }
        if let Some(form) = self.form {
            reset.form = match form.as_str() {
                "epoch_seconds" => ResetForm::EpochSeconds,
                "delta_seconds" => ResetForm::DeltaSeconds,
                other => {
                    return Err(SettingsError::new(
                        "rate_limit_reset.form",
                        format!("{other:?}"),
                        "expected \"epoch_seconds\" or \"delta_seconds\"",
                    ))
                }
            };
        }
        if let Some(header) = self.remaining_header {
            reset.remaining_header =
                validate::parse_header_name("rate_limit_reset.remaining_header", &header)?;
        }
        set(&mut reset.statuses, self.statuses);
        Ok(reset)
    }
}

/// `error`, prefixed with the field it was read for, unless a nested field already named
/// itself.
fn named<E: de::Error>(field: &str, error: &dyn fmt::Display) -> E {
    let message = error.to_string();
    if message.starts_with("invalid retry setting") || message.starts_with("unknown retry setting")
    {
        E::custom(message)
    } else {
        E::custom(format_args!("invalid retry setting `{field}`: {message}"))
    }
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}

/// A duration as configuration writes it: seconds (a number) or text with a unit. Read as it
/// is and converted when applied, where the field's name is known for the message.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum WireDuration {
    Seconds(f64),
    Text(String),
}

impl WireDuration {
    fn into_duration(self, field: &'static str) -> Result<Duration, SettingsError> {
        match self {
            WireDuration::Seconds(secs) => wire::seconds(field, secs),
            WireDuration::Text(text) => humantime::parse_duration(text.trim()).map_err(|_| {
                SettingsError::new(
                    field,
                    format!("{text:?}"),
                    "expected seconds (a number) or a duration such as \"250ms\", \"30s\" or \"2m\"",
                )
            }),
        }
    }
}

impl<'de> Deserialize<'de> for WireDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Either;

        impl Visitor<'_> for Either {
            type Value = WireDuration;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("seconds (a number) or a duration such as \"250ms\", \"30s\" or \"2m\"")
            }

            fn visit_f64<E: de::Error>(self, secs: f64) -> Result<WireDuration, E> {
                Ok(WireDuration::Seconds(secs))
            }

            #[allow(clippy::cast_precision_loss)] // seconds past 2^53 are out of range anyway
            fn visit_u64<E: de::Error>(self, secs: u64) -> Result<WireDuration, E> {
                Ok(WireDuration::Seconds(secs as f64))
            }

            #[allow(clippy::cast_precision_loss)]
            fn visit_i64<E: de::Error>(self, secs: i64) -> Result<WireDuration, E> {
                Ok(WireDuration::Seconds(secs as f64))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<WireDuration, E> {
                Ok(WireDuration::Text(text.to_owned()))
            }
        }

        deserializer.deserialize_any(Either)
    }
}

impl<'de> Deserialize<'de> for RetrySettings {
    /// The settings' serde form, missing keys taken from [`RetrySettings::default`]: a
    /// [`RetrySettingsPatch`] laid over the defaults.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        RetrySettingsPatch::deserialize(deserializer)?
            .apply_to(RetrySettings::default())
            .map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(json: &str) -> RetrySettingsPatch {
        serde_json::from_str(json).unwrap()
    }

    fn base() -> RetrySettings {
        RetrySettings {
            max_retries: 5,
            status_forcelist: vec![503],
            total_timeout: Some(Duration::from_secs(60)),
            retry_budget: Some(RetryBudget {
                ratio: 0.5,
                ..RetryBudget::default()
            }),
            ..RetrySettings::default()
        }
    }

    #[test]
    fn missing_keys_keep_the_base() {
        let settings = patch(r#"{"max_retries": 2}"#).apply_to(base()).unwrap();
        assert_eq!(
            settings,
            RetrySettings {
                max_retries: 2,
                ..base()
            }
        );
        assert_eq!(patch("{}").apply_to(base()).unwrap(), base());
    }

    #[test]
    fn durations_as_seconds_or_text() {
        let cases = [
            ("1.5", Duration::from_millis(1500)),
            ("2", Duration::from_secs(2)),
            (r#""250ms""#, Duration::from_millis(250)),
            (r#""30s""#, Duration::from_secs(30)),
            (r#""2m""#, Duration::from_secs(120)),
            (r#""1h 30m""#, Duration::from_secs(5400)),
        ];
        for (written, expected) in cases {
            let json = format!(r#"{{"backoff_max": {written}, "total_timeout": {written}}}"#);
            let settings = patch(&json).apply_to(base()).unwrap();
            assert_eq!(settings.backoff_max, expected, "{written}");
            assert_eq!(settings.total_timeout, Some(expected), "{written}");
        }
    }

    #[test]
    fn null_clears_an_optional_setting() {
        let settings = patch(r#"{"total_timeout": null, "retry_budget": null}"#)
            .apply_to(base())
            .unwrap();
        assert_eq!(settings.total_timeout, None);
        assert_eq!(settings.retry_budget, None);
    }

    #[test]
    fn a_nested_table_is_laid_over_the_base_s_own() {
        let settings = patch(r#"{"retry_budget": {"window": "30s"}}"#)
            .apply_to(base())
            .unwrap();
        assert_eq!(
            settings.retry_budget,
            Some(RetryBudget {
                ratio: 0.5,
                window: Duration::from_secs(30),
                ..RetryBudget::default()
            })
        );
    }

    #[test]
    fn every_error_names_the_field() {
        let cases = [
            (r#"{"max_retries": "x"}"#, "`max_retries`: invalid type"),
            (r#"{"backoff_max": true}"#, "`backoff_max`: invalid type"),
            (
                r#"{"retry_budget": {"ratio": "a"}}"#,
                "`retry_budget.ratio`",
            ),
            (
                r#"{"total_timeout": "5 parsecs"}"#,
                "`total_timeout` = \"5 parsecs\"",
            ),
            (r#"{"total_timeout": "0s"}"#, "`total_timeout` = 0"),
            (
                r#"{"retry_budget": {"window": -1}}"#,
                "`retry_budget.window` = -1",
            ),
            (
                r#"{"allowed_methods": [1]}"#,
                "`allowed_methods`: invalid type",
            ),
            (
                r#"{"max_retries": 1, "max_retries": 2}"#,
                "`max_retries`: given twice",
            ),
            (
                r#"{"retry_budget": {"x": 1}}"#,
                "unknown retry setting `retry_budget.x`",
            ),
        ];
        for (json, needle) in cases {
            let err = serde_json::from_str::<RetrySettingsPatch>(json)
                .map_err(|e| e.to_string())
                .and_then(|p| p.apply_to(base()).map_err(|e| e.to_string()))
                .unwrap_err();
            assert!(err.contains(needle), "{json}: {err}");
        }
    }

    #[test]
    fn a_refused_patch_leaves_the_base_unchanged() {
        let base = base();
        let kept = base.clone();
        let err = patch(r#"{"max_retries": 1, "backoff_factor": -1}"#)
            .apply_to(base.clone())
            .unwrap_err();
        assert_eq!(err.field(), "backoff_factor");
        assert_eq!(base, kept);
    }

    #[test]
    fn read_from_toml() {
        let patch: RetrySettingsPatch =
            toml::from_str("max_retries = 3\nbackoff_max = \"10s\"\n[retry_budget]\nratio = 0.1\n")
                .unwrap();
        let settings = patch.apply_to(base()).unwrap();
        assert_eq!(settings.max_retries, 3);
        assert_eq!(settings.backoff_max, Duration::from_secs(10));
        assert_eq!(settings.retry_budget.map(|b| b.ratio), Some(0.1));
        assert_eq!(settings.status_forcelist, [503]);
        let err = toml::from_str::<RetrySettingsPatch>("max_retries = \"three\"").unwrap_err();
        assert!(err.to_string().contains("`max_retries`"), "{err}");
    }

    #[test]
    fn a_circuit_breaker_table_from_toml() {
        let patch: RetrySettingsPatch = toml::from_str(
            "[circuit_breaker]\nfailure_ratio = 0.25\nwindow = \"30s\"\nbreak_duration = \"500ms\"\n",
        )
        .unwrap();
        let breaker = patch.apply_to(base()).unwrap().circuit_breaker.unwrap();
        assert_eq!(
            breaker,
            CircuitBreaker {
                failure_ratio: 0.25,
                window: Duration::from_secs(30),
                break_duration: Duration::from_millis(500),
                ..CircuitBreaker::default()
            }
        );
        let err = toml::from_str::<RetrySettingsPatch>("[circuit_breaker]\nratio = 0.5\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown retry setting `circuit_breaker.ratio`"),
            "{err}"
        );
    }

    #[test]
    fn a_pacing_table_from_toml() {
        use crate::Pacing;
        let patch: RetrySettingsPatch = toml::from_str("[pacing]\nspread = true\n").unwrap();
        let pacing = patch.apply_to(base()).unwrap().pacing;
        assert_eq!(pacing, Some(Pacing { spread: true }));
        let patch: RetrySettingsPatch = toml::from_str("[pacing]\n").unwrap();
        assert_eq!(
            patch.apply_to(base()).unwrap().pacing,
            Some(Pacing::default())
        );
        let err = toml::from_str::<RetrySettingsPatch>("[pacing]\nspreads = true\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown retry setting `pacing.spreads`"),
            "{err}"
        );
        let err = toml::from_str::<RetrySettingsPatch>("[pacing]\nspread = \"yes\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("invalid retry setting `pacing.spread`"),
            "{err}"
        );
    }

    #[test]
    fn a_hedging_table_from_toml_is_laid_over_the_base() {
        let base = RetrySettings {
            hedging: Some(Hedging {
                delay: Duration::from_millis(40),
                max_hedged: 3,
                quantile: Some(0.9),
            }),
            ..base()
        };
        let patch: RetrySettingsPatch = toml::from_str("[hedging]\ndelay = \"5ms\"\n").unwrap();
        let hedging = patch.apply_to(base.clone()).unwrap().hedging.unwrap();
        assert_eq!(
            hedging,
            Hedging {
                delay: Duration::from_millis(5),
                max_hedged: 3,
                quantile: Some(0.9),
            },
            "max_hedged and quantile kept from the base"
        );
        let patch: RetrySettingsPatch = toml::from_str("[hedging]\nmax_hedged = 11\n").unwrap();
        let err = patch.apply_to(base.clone()).unwrap_err();
        assert_eq!((err.field(), err.value()), ("hedging.max_hedged", "11"));
        let cleared: RetrySettingsPatch = serde_json::from_str(r#"{"hedging": null}"#).unwrap();
        assert_eq!(cleared.apply_to(base).unwrap().hedging, None);
    }

    #[test]
    fn the_classifier_is_kept_from_the_base() {
        let classify = crate::Classifier::new(|_| crate::Verdict::Defer);
        let base = RetrySettings {
            classify: Some(classify),
            ..RetrySettings::default()
        };
        let settings = patch(r#"{"max_retries": 1}"#).apply_to(base).unwrap();
        assert!(settings.classify.is_some());
    }
}
