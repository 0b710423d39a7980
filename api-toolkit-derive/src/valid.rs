//! Whether each value of `#[retry(...)]` is one `RetrySettings` accepts: the compile-time twin of
//! `RetrySettings::validate`, so a derived connector's defaults always pass it.
//!
//! There is no cross-key rule, because `RetrySettings::validate` has none: every combination of
//! valid fields is a valid setting. One would be checked at the end of [`check`].

use std::time::Duration;

use quote::ToTokens;
use syn::{Error, LitStr, Path, Result};

use crate::attr::{
    BreakerEntry, BreakerKey, Entry, HedgeEntry, HedgeKey, HedgeValue, Int, Key, Limits, List,
    Named, NestedValue, Number, ResetEntry, ResetValue, Status, ThrottleEntry, ThrottleKey, Value,
};
use crate::errors::Errors;

/// A key and its checked value.
pub(crate) struct Setting {
    pub(crate) key: Key,
    pub(crate) value: Checked,
}

/// A value that fits its `RetrySettings` field.
pub(crate) enum Checked {
    Count(u32),
    /// Finite and `>= 0`.
    Factor(f64),
    /// Each in `100..=599`; sorted and without repeats when written with a range.
    Statuses(Vec<u16>),
    /// Not empty.
    Methods(Vec<Method>),
    Flag(bool),
    Seconds(Seconds),
    /// Not zero; set as `Some`.
    Timeout(Seconds),
    /// A retry budget's ratio: finite, in `0.0..=1000.0`; set as `Some` budget.
    Ratio(f64),
    /// A valid header name in lower case; set as `Some`.
    Header(String),
    /// Set as `Some`.
    Reset(Reset),
    /// A path to the classifier function, which the compiler checks in the expansion (whether
    /// it exists, and its signature); set as `Some`.
    Classify(Path),
    /// At most [`MAX_CLASSIFY_BODY_BYTES`] or [`MAX_REPLAY_LIMIT`], by its key.
    Bytes(usize),
    /// Set as `Some`.
    Breaker(Breaker),
    /// Set as `Some`.
    Throttling(Throttle),
    /// `spread`, if given; set as `Some`.
    Pacing(Option<bool>),
    Hedging(Hedge),
}

/// The fields given in `throttling(...)`, each by the rule of `Throttling::validate`; the
/// others keep `Throttling::default()`.
#[derive(Default)]
pub(crate) struct Throttle {
    /// Finite, in `1.0..=100.0`.
    pub(crate) k: Option<f64>,
    /// Between 10 ms and 1 hour.
    pub(crate) window: Option<Seconds>,
    pub(crate) count_statuses: Option<bool>,
    pub(crate) count_connection_failures: Option<bool>,
    pub(crate) count_timeouts: Option<bool>,
}

/// The fields given in `hedging(...)`, each by the rule of `Hedging::validate`; the others keep
/// `Hedging::default()`.
#[derive(Default)]
pub(crate) struct Hedge {
    /// Between 1 ms and 1 hour, from `delay` or `delay_ms`.
    pub(crate) delay: Option<Duration>,
    /// In `1..=10`.
    pub(crate) max_hedged: Option<u32>,
    /// Finite, in `0..1` (both excluded).
    pub(crate) quantile: Option<f64>,
}

/// The fields given in `circuit_breaker(...)`, each by the rule of `CircuitBreaker::validate`;
/// the others keep `CircuitBreaker::default()`.
#[derive(Default)]
pub(crate) struct Breaker {
    /// Finite, in `0.0..=1.0`.
    pub(crate) failure_ratio: Option<f64>,
    /// At least 1.
    pub(crate) min_attempts: Option<u32>,
    /// Between 10 ms and 1 hour.
    pub(crate) window: Option<Seconds>,
    /// More than 0, at most 1 hour.
    pub(crate) break_duration: Option<Seconds>,
    /// In `1..=1000`.
    pub(crate) half_open_probes: Option<u32>,
    pub(crate) count_statuses: Option<bool>,
    pub(crate) count_connection_failures: Option<bool>,
    pub(crate) count_timeouts: Option<bool>,
}

/// The fields given in `rate_limit_reset(...)`; the others keep `RateLimitReset::default()`.
#[derive(Default)]
pub(crate) struct Reset {
    /// Valid header names in lower case.
    pub(crate) header: Option<String>,
    pub(crate) form: Option<Form>,
    pub(crate) remaining_header: Option<String>,
    /// At least one, each in `100..=599`.
    pub(crate) statuses: Option<Vec<u16>>,
}

/// A `ResetForm`, by the name of its variant.
#[derive(Debug, PartialEq)]
pub(crate) enum Form {
    EpochSeconds,
    DeltaSeconds,
}

impl Form {
    pub(crate) fn variant(&self) -> &'static str {
        match self {
            Form::EpochSeconds => "EpochSeconds",
            Form::DeltaSeconds => "DeltaSeconds",
        }
    }
}

/// `api_toolkit::MAX_CLASSIFY_BODY_BYTES`.
const MAX_CLASSIFY_BODY_BYTES: usize = 64 * 1024;

/// `api_toolkit::MAX_REPLAY_LIMIT`.
const MAX_REPLAY_LIMIT: usize = 256 * 1024 * 1024;

/// A valid HTTP method name.
#[derive(Debug, PartialEq)]
pub(crate) enum Method {
    /// One of the standard methods, which `http::Method` has a constant for: `GET`.
    Standard(&'static str),
    /// Any other token: `PURGE`.
    Extension(String),
}

/// A duration that `std::time::Duration` can hold.
pub(crate) enum Seconds {
    Whole(u64),
    /// Finite, `>= 0`, and accepted by `Duration::from_secs_f64`.
    Fraction(f64),
}

/// Checks every entry; each mistake is recorded and its entry left out.
pub(crate) fn check(entries: Vec<Entry>, errors: &mut Errors) -> Vec<Setting> {
    entries
        .into_iter()
        .filter_map(|Entry { key, value }| {
            let value = match value {
                Value::Count(int) => count(&int, key).map(Checked::Count),
                Value::Factor(number) => factor(&number, key).map(Checked::Factor),
                Value::Seconds(number) => seconds(&number, key).map(Checked::Seconds),
                Value::Timeout(number) => timeout(&number, key).map(Checked::Timeout),
                Value::Ratio(number) => ratio(&number, key).map(Checked::Ratio),
                Value::Statuses(items) => Ok(Checked::Statuses(statuses(
                    &items,
                    "`status_forcelist`",
                    errors,
                ))),
                Value::Methods(list) => methods(&list, key, errors).map(Checked::Methods),
                Value::Flag(lit) => Ok(Checked::Flag(lit.value)),
                Value::Header(lit) => header(&lit).map(Checked::Header),
                Value::Reset(entries) => Ok(Checked::Reset(reset(entries, errors))),
                Value::Classify(path) => Ok(Checked::Classify(path)),
                Value::Bytes(int) => body_bytes(&int, key).map(Checked::Bytes),
                Value::Breaker(entries) => Ok(Checked::Breaker(breaker(entries, errors))),
                Value::Throttling(entries) => Ok(Checked::Throttling(throttle(entries, errors))),
                Value::Pacing(entries) => Ok(Checked::Pacing(
                    entries.last().map(|entry| entry.value.value),
                )),
                Value::Hedging(entries) => Ok(Checked::Hedging(hedge(entries, errors))),
            };
            errors.ok(value).map(|value| Setting { key, value })
        })
        .collect()
}

/// The value of an integer literal; `None` when it does not fit an `i128`.
fn int_value(int: &Int) -> Option<i128> {
    int.digits().parse().ok()
}

/// The value of a number literal; an integer too large for an `f64` is infinite.
fn float_value(number: &Number) -> f64 {
    let digits = match number {
        Number::Int(int) => int.digits(),
        Number::Float(float) => float.digits(),
    };
    digits.parse().unwrap_or(f64::NAN)
}

fn count(int: &Int, key: Key) -> Result<u32> {
    int_value(int)
        .and_then(|value| u32::try_from(value).ok())
        .ok_or_else(|| {
            let message = format!("`{}` must be an integer in 0..={}", key.name(), u32::MAX);
            Error::new_spanned(int, message)
        })
}

fn factor(number: &Number, key: Key) -> Result<f64> {
    let value = float_value(number);
    if value.is_finite() && value >= 0.0 {
        // `-0.0` is `>= 0`: written out, it would be a negative literal.
        Ok(value.abs())
    } else {
        let message = format!("`{}` must be a finite number >= 0", key.name());
        Err(Error::new_spanned(number, message))
    }
}

/// Why a number of seconds is not a [`Duration`].
enum Unfit {
    Negative,
    Infinite,
    TooLong,
}

/// The number as a [`Duration`], if it is one.
fn duration(number: &Number) -> std::result::Result<Seconds, Unfit> {
    match number {
        Number::Int(int) => match int_value(int) {
            Some(value) if value < 0 => Err(Unfit::Negative),
            Some(value) => u64::try_from(value)
                .map(Seconds::Whole)
                .map_err(|_| Unfit::TooLong),
            None if int.minus.is_some() => Err(Unfit::Negative),
            None => Err(Unfit::TooLong),
        },
        Number::Float(_) => {
            let value = float_value(number);
            if value.is_nan() || value < 0.0 {
                Err(Unfit::Negative)
            } else if value.is_infinite() {
                Err(Unfit::Infinite)
            } else if Duration::try_from_secs_f64(value).is_err() {
                Err(Unfit::TooLong)
            } else {
                // `-0.0` is `>= 0`: written out, it would be a negative literal.
                Ok(Seconds::Fraction(value.abs()))
            }
        }
    }
}

fn seconds(number: &Number, key: Key) -> Result<Seconds> {
    duration(number).map_err(|unfit| {
        let message = match unfit {
            Unfit::Negative | Unfit::Infinite => {
                format!("`{}` must be a finite number of seconds >= 0", key.name())
            }
            Unfit::TooLong => format!("`{}` must be at most {} seconds", key.name(), u64::MAX),
        };
        Error::new_spanned(number, message)
    })
}

/// A timeout: a duration that is not zero, which `RetrySettings::validate` rejects (a zero
/// timeout would fail every call before it is sent; "no timeout" is leaving the key out).
fn timeout(number: &Number, key: Key) -> Result<Seconds> {
    let error = |rule: String| {
        let name = key.name();
        let message = format!("`{name}` must be {rule}; for no timeout, leave `{name}` out");
        Error::new_spanned(number, message)
    };
    let positive = || error("a positive number of seconds".to_owned());
    match duration(number) {
        Ok(Seconds::Whole(0)) | Err(Unfit::Negative) => Err(positive()),
        Ok(Seconds::Fraction(secs)) if Duration::from_secs_f64(secs).is_zero() => {
            if secs > 0.0 {
                Err(error("at least 1 nanosecond (`1e-9`)".to_owned()))
            } else {
                Err(positive())
            }
        }
        Ok(secs) => Ok(secs),
        Err(Unfit::Infinite | Unfit::TooLong) => {
            Err(error(format!("at most {} seconds", u64::MAX)))
        }
    }
}

/// The ratio of a retry budget, by the rule of `RetryBudget::validate`.
fn ratio(number: &Number, key: Key) -> Result<f64> {
    let value = float_value(number);
    if value.is_finite() && (0.0..=1000.0).contains(&value) {
        // `-0.0` is in range: written out, it would be a negative literal.
        Ok(value.abs())
    } else {
        let message = format!(
            "`{}` must be a ratio in 0.0..=1000.0 (`0.2` is at most 20% extra load)",
            key.name()
        );
        Err(Error::new_spanned(number, message))
    }
}

/// The statuses of a list, in `list` (`` `status_forcelist` `` in messages); each mistake is
/// recorded. A list with a range is sorted and loses its repeats, like `statuses![...]`; a list
/// of codes keeps its order.
fn statuses(items: &[Status], list: &str, errors: &mut Errors) -> Vec<u16> {
    let mut codes = Vec::new();
    for item in items {
        match item {
            Status::Code(int) => codes.extend(errors.ok(status(int, list))),
            Status::Range {
                start,
                limits: Limits::Exclusive(_),
                end,
            } => errors.push(exclusive_range(item, start, end)),
            Status::Range {
                start,
                limits: Limits::Inclusive(_),
                end,
            } => {
                // Both ends are checked, so that both get their error.
                let (low, high) = (errors.ok(status(start, list)), errors.ok(status(end, list)));
                let (Some(low), Some(high)) = (low, high) else {
                    continue;
                };
                if low > high {
                    let message = format!(
                        "`{low}..={high}` in {list} is empty: write the lower status first, `{high}..={low}`"
                    );
                    errors.push(Error::new_spanned(item, message));
                } else {
                    codes.extend(low..=high);
                }
            }
        }
    }
    if items
        .iter()
        .any(|item| matches!(item, Status::Range { .. }))
    {
        codes.sort_unstable();
        codes.dedup();
    }
    codes
}

fn status(int: &Int, list: &str) -> Result<u16> {
    int_value(int)
        .and_then(|value| u16::try_from(value).ok())
        .filter(|status| (100..=599).contains(status))
        .ok_or_else(|| {
            let message = format!(
                "status code {} in {list} is outside 100..=599",
                int.digits()
            );
            Error::new_spanned(int, message)
        })
}

/// `500..599` leaves out 599, which no one means: the suggestion keeps the end, unless it is a
/// round hundred (`500..600`, the 5xx written as a half-open range).
fn exclusive_range(item: &Status, start: &Int, end: &Int) -> Error {
    let (start, end) = (start.digits(), end.digits());
    let last = match end.parse::<u16>() {
        Ok(end) if end % 100 == 0 && end > 0 => (end - 1).to_string(),
        _ => end.clone(),
    };
    let message = format!(
        "`{start}..{end}` leaves out {end}; status ranges are inclusive: write `{start}..={last}`"
    );
    Error::new_spanned(item, message)
}

/// The methods, if the list is not empty; each invalid name is recorded.
fn methods(list: &List<LitStr>, key: Key, errors: &mut Errors) -> Result<Vec<Method>> {
    if list.items.is_empty() {
        let message = format!(
            "`{}` must not be empty; to retry nothing, write `max_retries = 0`",
            key.name()
        );
        return Err(Error::new(list.brackets.span.join(), message));
    }
    Ok(list
        .items
        .iter()
        .filter_map(|lit| errors.ok(method(&lit.value()).map_err(|m| Error::new(lit.span(), m))))
        .collect())
}

/// The methods that `http::Method` has constants for.
pub(crate) const STANDARD_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// Checks a method name: an HTTP token (RFC 9110), and a standard method only in upper case.
///
/// `"get"` is a valid token, but as an extension method no server treats it as GET: the typo
/// would silently stop GET requests from being retried.
fn method(name: &str) -> std::result::Result<Method, String> {
    if name.is_empty() {
        return Err(
            "\"\" is not a valid method name: expected an HTTP token such as `\"GET\"` or `\"PURGE\"`"
                .to_owned(),
        );
    }
    if let Some(c) = name.chars().find(|&c| !is_tchar(c)) {
        return Err(format!(
            "{name:?} is not a valid method name: {c:?} is not allowed in an HTTP token"
        ));
    }
    if let Some(standard) = STANDARD_METHODS.into_iter().find(|&m| m == name) {
        return Ok(Method::Standard(standard));
    }
    let upper = name.to_ascii_uppercase();
    if STANDARD_METHODS.contains(&upper.as_str()) {
        return Err(format!(
            "{name:?} is not a standard method name: did you mean `{upper:?}`?"
        ));
    }
    Ok(Method::Extension(name.to_owned()))
}

/// Checks a header name as `RetrySettings::validate` does: an HTTP token, in lower case (as
/// HTTP/2 sends it, and as `HeaderName::from_static`, which the expansion calls, requires).
fn header(lit: &LitStr) -> Result<String> {
    let name = lit.value();
    header_name(&name)
        .map(|()| name)
        .map_err(|message| Error::new(lit.span(), message))
}

fn header_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() {
        return Err(
            "\"\" is not a valid header name: expected an HTTP token such as `\"x-should-retry\"`"
                .to_owned(),
        );
    }
    if let Some(c) = name.chars().find(|&c| !is_tchar(c)) {
        return Err(format!(
            "{name:?} is not a valid header name: {c:?} is not allowed in an HTTP token"
        ));
    }
    // The limit of `http::HeaderName`.
    if name.len() > usize::from(u16::MAX) {
        return Err(format!(
            "a header name is at most {} bytes; this one has {}",
            u16::MAX,
            name.len()
        ));
    }
    let lower = name.to_ascii_lowercase();
    if lower != name {
        return Err(format!(
            "header names are lower case: did you mean `{lower:?}`?"
        ));
    }
    Ok(())
}

/// The checked fields of `rate_limit_reset(...)`; each mistake is recorded.
fn reset(entries: Vec<ResetEntry>, errors: &mut Errors) -> Reset {
    let mut reset = Reset::default();
    for ResetEntry { value, .. } in entries {
        match value {
            ResetValue::Header(lit) => reset.header = errors.ok(header(&lit)),
            ResetValue::Form(lit) => reset.form = errors.ok(form(&lit)),
            ResetValue::RemainingHeader(lit) => reset.remaining_header = errors.ok(header(&lit)),
            ResetValue::Statuses(list) => {
                let statuses = reset_statuses(&list, errors);
                reset.statuses = errors.ok(statuses);
            }
        }
    }
    reset
}

/// The statuses a reset hint applies to: at least one, as `RetrySettings::validate` requires.
fn reset_statuses(list: &List<Status>, errors: &mut Errors) -> Result<Vec<u16>> {
    const LIST: &str = "`statuses` of `rate_limit_reset`";
    if list.items.is_empty() {
        let message = format!(
            "{LIST} must hold at least one status; for the default, `[403, 429]`, leave it out"
        );
        return Err(Error::new(list.brackets.span.join(), message));
    }
    Ok(statuses(&list.items, LIST, errors))
}

fn form(lit: &LitStr) -> Result<Form> {
    let value = lit.value();
    match value.as_str() {
        "epoch_seconds" => return Ok(Form::EpochSeconds),
        "delta_seconds" => return Ok(Form::DeltaSeconds),
        _ => {}
    }
    // `"EpochSeconds"`, `"delta-seconds"`, `"epoch"`: the right form, spelled otherwise.
    let letters: String = value
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let message = if letters.starts_with("epoch") {
        format!("{value:?} is not a form of reset: did you mean `\"epoch_seconds\"`?")
    } else if letters.starts_with("delta") {
        format!("{value:?} is not a form of reset: did you mean `\"delta_seconds\"`?")
    } else {
        format!(
            "{value:?} is not a form of reset: expected `\"epoch_seconds\"` (the instant of the \
             reset, in seconds since the Unix epoch) or `\"delta_seconds\"` (the seconds left)"
        )
    };
    Err(Error::new(lit.span(), message))
}

/// The checked fields of `circuit_breaker(...)`; each mistake is recorded.
fn breaker(entries: Vec<BreakerEntry>, errors: &mut Errors) -> Breaker {
    let mut breaker = Breaker::default();
    for BreakerEntry { key, value } in entries {
        match value {
            NestedValue::Number(number) => {
                breaker.failure_ratio = errors.ok(failure_ratio(&number))
            }
            NestedValue::Count(int) => {
                let count = errors.ok(breaker_count(&int, key));
                match key {
                    BreakerKey::MinAttempts => breaker.min_attempts = count,
                    _ => breaker.half_open_probes = count,
                }
            }
            NestedValue::Seconds(number) => {
                let secs = errors.ok(breaker_duration(&number, key));
                match key {
                    BreakerKey::Window => breaker.window = secs,
                    _ => breaker.break_duration = secs,
                }
            }
            NestedValue::Flag(lit) => {
                let flag = Some(lit.value);
                match key {
                    BreakerKey::CountStatuses => breaker.count_statuses = flag,
                    BreakerKey::CountConnectionFailures => {
                        breaker.count_connection_failures = flag;
                    }
                    _ => breaker.count_timeouts = flag,
                }
            }
        }
    }
    breaker
}

/// The checked fields of `throttling(...)`; each mistake is recorded.
fn throttle(entries: Vec<ThrottleEntry>, errors: &mut Errors) -> Throttle {
    let mut throttle = Throttle::default();
    for ThrottleEntry { key, value } in entries {
        match value {
            NestedValue::Number(number) => throttle.k = errors.ok(throttle_k(&number)),
            NestedValue::Seconds(number) => {
                throttle.window = errors.ok(window(&number, key, "throttling"));
            }
            NestedValue::Flag(lit) => {
                let flag = Some(lit.value);
                match key {
                    ThrottleKey::CountStatuses => throttle.count_statuses = flag,
                    ThrottleKey::CountConnectionFailures => {
                        throttle.count_connection_failures = flag;
                    }
                    _ => throttle.count_timeouts = flag,
                }
            }
            // `throttling(...)` has no integer key.
            NestedValue::Count(_) => {}
        }
    }
    throttle
}

fn throttle_k(number: &Number) -> Result<f64> {
    let value = float_value(number);
    if value.is_finite() && (1.0..=100.0).contains(&value) {
        Ok(value)
    } else {
        let message = "`k` of `throttling` must be a number in 1.0..=100.0 (`2.0` sends up to \
                       twice what the host accepts)";
        Err(Error::new_spanned(number, message))
    }
}

fn failure_ratio(number: &Number) -> Result<f64> {
    let value = float_value(number);
    if value.is_finite() && (0.0..=1.0).contains(&value) {
        // `-0.0` is in range: written out, it would be a negative literal.
        Ok(value.abs())
    } else {
        let message = "`failure_ratio` of `circuit_breaker` must be a ratio in 0.0..=1.0 \
                       (`0.5` opens it when half of the attempts failed)";
        Err(Error::new_spanned(number, message))
    }
}

/// `min_attempts` (at least 1) or `half_open_probes` (`1..=1000`).
fn breaker_count(int: &Int, key: BreakerKey) -> Result<u32> {
    let most = if key == BreakerKey::HalfOpenProbes {
        1000
    } else {
        u32::MAX
    };
    int_value(int)
        .and_then(|value| u32::try_from(value).ok())
        .filter(|count| (1..=most).contains(count))
        .ok_or_else(|| {
            let message = format!(
                "`{}` of `circuit_breaker` must be an integer in 1..={most}",
                key.name()
            );
            Error::new_spanned(int, message)
        })
}

/// `window` (10 ms to 1 hour) or `break_duration` (more than 0, at most 1 hour).
fn breaker_duration(number: &Number, key: BreakerKey) -> Result<Seconds> {
    if key == BreakerKey::Window {
        return window(number, key, "circuit_breaker");
    }
    let rule = "more than 0 and at most 3600 seconds";
    bounded_seconds(
        number,
        Duration::from_nanos(1),
        rule,
        key,
        "circuit_breaker",
    )
}

/// A `window` of `attribute`: 10 ms to 1 hour.
fn window<K: Named>(number: &Number, key: K, attribute: &str) -> Result<Seconds> {
    let rule = "between 0.01 and 3600 seconds";
    bounded_seconds(number, Duration::from_millis(10), rule, key, attribute)
}

/// Seconds from `least` to 1 hour.
fn bounded_seconds<K: Named>(
    number: &Number,
    least: Duration,
    rule: &str,
    key: K,
    attribute: &str,
) -> Result<Seconds> {
    let as_duration = |secs: &Seconds| match secs {
        Seconds::Whole(secs) => Duration::from_secs(*secs),
        Seconds::Fraction(secs) => Duration::from_secs_f64(*secs),
    };
    duration(number)
        .ok()
        .filter(|secs| (least..=Duration::from_secs(3600)).contains(&as_duration(secs)))
        .ok_or_else(|| {
            let message = format!("`{}` of `{attribute}` must be {rule}", key.name());
            Error::new_spanned(number, message)
        })
}

/// `Hedging`'s bounds: a delay of 1 ms to 1 hour, 1 to 10 copies.
const MAX_HEDGE_DELAY_MS: u64 = 3_600_000;
const MAX_HEDGED: u32 = 10;

/// The checked fields of `hedging(...)`; each mistake is recorded.
fn hedge(entries: Vec<HedgeEntry>, errors: &mut Errors) -> Hedge {
    let mut hedge = Hedge::default();
    let mut delay_key: Option<HedgeKey> = None;
    for HedgeEntry { key, value } in entries {
        match (key, value) {
            (HedgeKey::MaxHedged, HedgeValue::Count(int)) => {
                hedge.max_hedged = errors.ok(max_hedged(&int));
            }
            (_, HedgeValue::Ratio(number)) => hedge.quantile = errors.ok(quantile(&number)),
            (key, value) => {
                if let Some(first) = delay_key {
                    let message = format!(
                        "`{}` and `{}` of `hedging` are the same delay: give one of them",
                        first.name(),
                        key.name()
                    );
                    let span = match &value {
                        HedgeValue::Seconds(number) | HedgeValue::Ratio(number) => {
                            number.to_token_stream()
                        }
                        HedgeValue::Count(int) => int.to_token_stream(),
                    };
                    errors.push(Error::new_spanned(span, message));
                    continue;
                }
                delay_key = Some(key);
                hedge.delay = errors.ok(match &value {
                    HedgeValue::Count(int) => delay_ms(int),
                    HedgeValue::Seconds(number) | HedgeValue::Ratio(number) => {
                        delay_seconds(number)
                    }
                });
            }
        }
    }
    hedge
}

fn delay_ms(int: &Int) -> Result<Duration> {
    int_value(int)
        .and_then(|value| u64::try_from(value).ok())
        .filter(|ms| (1..=MAX_HEDGE_DELAY_MS).contains(ms))
        .map(Duration::from_millis)
        .ok_or_else(|| {
            let message = format!(
                "`delay_ms` of `hedging` must be an integer in 1..={MAX_HEDGE_DELAY_MS} \
                 (1 ms to 1 hour; with no delay, every request would be sent twice)"
            );
            Error::new_spanned(int, message)
        })
}

fn delay_seconds(number: &Number) -> Result<Duration> {
    let as_duration = |secs: Seconds| match secs {
        Seconds::Whole(secs) => Duration::from_secs(secs),
        Seconds::Fraction(secs) => Duration::from_secs_f64(secs),
    };
    duration(number)
        .ok()
        .map(as_duration)
        .filter(|delay| {
            (Duration::from_millis(1)..=Duration::from_millis(MAX_HEDGE_DELAY_MS)).contains(delay)
        })
        .ok_or_else(|| {
            let message = "`delay` of `hedging` must be between 0.001 and 3600 seconds \
                           (or `delay_ms = <milliseconds>`)";
            Error::new_spanned(number, message)
        })
}

fn quantile(number: &Number) -> Result<f64> {
    let value = float_value(number);
    if value.is_finite() && value > 0.0 && value < 1.0 {
        Ok(value)
    } else {
        let message = "`quantile` of `hedging` must be a number between 0 and 1, both excluded \
                       (`0.95`: the host's recent 95th percentile)";
        Err(Error::new_spanned(number, message))
    }
}

fn max_hedged(int: &Int) -> Result<u32> {
    int_value(int)
        .and_then(|value| u32::try_from(value).ok())
        .filter(|count| (1..=MAX_HEDGED).contains(count))
        .ok_or_else(|| {
            let message = format!(
                "`max_hedged` of `hedging` must be an integer in 1..={MAX_HEDGED}: each copy \
                 is one more request to the host"
            );
            Error::new_spanned(int, message)
        })
}

fn body_bytes(int: &Int, key: Key) -> Result<usize> {
    let (max, why) = if key == Key::ReplayLimit {
        (
            MAX_REPLAY_LIMIT,
            "a call keeps at most 256 MiB of a streaming body to send again",
        )
    } else {
        (
            MAX_CLASSIFY_BODY_BYTES,
            "a classifier sees at most 64 KiB of a body",
        )
    };
    int_value(int)
        .and_then(|value| usize::try_from(value).ok())
        .filter(|&bytes| bytes <= max)
        .ok_or_else(|| {
            let message = format!("`{}` must be an integer in 0..={max}: {why}", key.name());
            Error::new_spanned(int, message)
        })
}

/// `tchar` of RFC 9110: ASCII letters, digits and `` !#$%&'*+-.^_`|~ ``.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

#[cfg(test)]
mod tests {
    use syn::{parse_quote, LitInt};

    use super::*;
    use crate::attr::Signed;

    fn float(negative: bool, lit: syn::LitFloat) -> Number {
        Number::Float(Signed {
            minus: negative.then(|| parse_quote!(-)),
            lit,
        })
    }

    fn int(negative: bool, lit: syn::LitInt) -> Int {
        Signed {
            minus: negative.then(|| parse_quote!(-)),
            lit,
        }
    }

    #[test]
    fn negative_zero_is_written_as_zero() {
        let zero = factor(&float(true, parse_quote!(0.0)), Key::BackoffFactor).unwrap();
        assert!(zero.is_sign_positive());
        let zero = seconds(&float(true, parse_quote!(0.0)), Key::BackoffMax).unwrap();
        assert!(matches!(zero, Seconds::Fraction(secs) if secs.is_sign_positive()));
    }

    #[test]
    fn counts_fit_a_u32() {
        assert_eq!(
            count(&int(false, parse_quote!(4294967295)), Key::MaxRetries).unwrap(),
            u32::MAX
        );
        assert!(count(&int(false, parse_quote!(4294967296)), Key::MaxRetries).is_err());
        assert!(count(&int(true, parse_quote!(1)), Key::MaxRetries).is_err());
        let huge = int(
            false,
            parse_quote!(999999999999999999999999999999999999999999),
        );
        assert!(count(&huge, Key::MaxRetries).is_err());
    }

    #[test]
    fn seconds_fit_a_duration() {
        let max = Number::Int(int(false, parse_quote!(18446744073709551615)));
        assert!(matches!(
            seconds(&max, Key::BackoffMax),
            Ok(Seconds::Whole(u64::MAX))
        ));
        let over = Number::Int(int(false, parse_quote!(18446744073709551616)));
        assert!(seconds(&over, Key::BackoffMax).is_err());
        assert!(seconds(&float(false, parse_quote!(1e20)), Key::BackoffMax).is_err());
        assert!(seconds(&float(false, parse_quote!(1e999)), Key::BackoffMax).is_err());
        assert!(seconds(&float(true, parse_quote!(0.5)), Key::BackoffMax).is_err());
    }

    #[test]
    fn timeouts_are_durations_other_than_zero() {
        let whole = |lit: syn::LitInt| timeout(&Number::Int(int(false, lit)), Key::TotalTimeout);
        assert!(matches!(whole(parse_quote!(1)), Ok(Seconds::Whole(1))));
        let max = whole(parse_quote!(18446744073709551615));
        assert!(matches!(max, Ok(Seconds::Whole(u64::MAX))));
        let fraction = timeout(&float(false, parse_quote!(1e-9)), Key::AttemptTimeout);
        assert!(matches!(fraction, Ok(Seconds::Fraction(secs)) if secs == 1e-9));

        let message = |result: Result<Seconds>| result.err().unwrap().to_string();
        let positive = "`total_timeout` must be a positive number of seconds; for no timeout, leave `total_timeout` out";
        assert_eq!(message(whole(parse_quote!(0))), positive);
        let negative = timeout(&Number::Int(int(true, parse_quote!(1))), Key::TotalTimeout);
        assert_eq!(message(negative), positive);
        for (negative, lit) in [(false, parse_quote!(0.0)), (true, parse_quote!(0.0))] {
            assert_eq!(
                message(timeout(&float(negative, lit), Key::TotalTimeout)),
                positive
            );
        }
        let tiny = timeout(&float(false, parse_quote!(1e-10)), Key::TotalTimeout);
        assert!(message(tiny).contains("at least 1 nanosecond"));
        for lit in [parse_quote!(1e20), parse_quote!(1e999)] {
            let long = timeout(&float(false, lit), Key::TotalTimeout);
            assert!(message(long).contains("at most 18446744073709551615 seconds"));
        }
        assert!(message(whole(parse_quote!(18446744073709551616))).contains("at most"));
    }

    #[test]
    fn ratios_follow_the_rule_of_retry_budget() {
        let ratio_of = |number: Number| ratio(&number, Key::RetryBudget);
        assert_eq!(ratio_of(float(false, parse_quote!(0.2))).unwrap(), 0.2);
        assert_eq!(
            ratio_of(Number::Int(int(false, parse_quote!(1000)))).unwrap(),
            1000.0
        );
        assert_eq!(
            ratio_of(Number::Int(int(false, parse_quote!(0)))).unwrap(),
            0.0
        );
        assert!(ratio_of(float(true, parse_quote!(0.0)))
            .unwrap()
            .is_sign_positive());
        for (negative, lit) in [
            (false, parse_quote!(1000.5)),
            (true, parse_quote!(0.1)),
            (false, parse_quote!(1e999)),
        ] {
            assert!(ratio_of(float(negative, lit)).is_err());
        }
        let huge = int(
            false,
            parse_quote!(999999999999999999999999999999999999999999),
        );
        assert!(ratio_of(Number::Int(huge)).is_err());
    }

    #[test]
    fn standard_methods_in_upper_case_are_constants() {
        for name in STANDARD_METHODS {
            assert_eq!(method(name), Ok(Method::Standard(name)));
        }
    }

    #[test]
    fn standard_methods_in_other_cases_are_typos() {
        let error = method("get").unwrap_err();
        assert_eq!(
            error,
            "\"get\" is not a standard method name: did you mean `\"GET\"`?"
        );
        assert!(method("Patch").unwrap_err().contains("`\"PATCH\"`"));
        assert!(method("connect").is_err());
    }

    #[test]
    fn extension_methods_in_any_case_are_accepted() {
        assert_eq!(method("PURGE"), Ok(Method::Extension("PURGE".to_owned())));
        assert_eq!(method("purge"), Ok(Method::Extension("purge".to_owned())));
        let every_tchar = "!#$%&'*+-.^_`|~09azAZ";
        assert_eq!(
            method(every_tchar),
            Ok(Method::Extension(every_tchar.to_owned()))
        );
    }

    #[test]
    fn header_names_are_lower_case_tokens() {
        assert_eq!(header_name("x-should-retry"), Ok(()));
        assert_eq!(header_name("!#$%&'*+-.^_`|~09az"), Ok(()));
        assert_eq!(
            header_name("X-Should-Retry").unwrap_err(),
            "header names are lower case: did you mean `\"x-should-retry\"`?"
        );
        assert!(header_name("")
            .unwrap_err()
            .contains("expected an HTTP token"));
        // `http` takes `"` in a name; RFC 9110 does not.
        for name in ["x should", "x:y", "a\"b", "(x)", "é", "x\ty"] {
            assert!(
                header_name(name).unwrap_err().contains("is not allowed"),
                "{name:?}"
            );
        }
        assert!(header_name(&"x".repeat(65_535)).is_ok());
        assert!(header_name(&"x".repeat(65_536))
            .unwrap_err()
            .contains("at most 65535"));
    }

    #[test]
    fn forms_are_read_by_their_serde_names() {
        let form_of = |value: &str| form(&LitStr::new(value, proc_macro2::Span::call_site()));
        assert_eq!(form_of("epoch_seconds").unwrap(), Form::EpochSeconds);
        assert_eq!(form_of("delta_seconds").unwrap(), Form::DeltaSeconds);
        let message = |value: &str| form_of(value).unwrap_err().to_string();
        assert!(message("DeltaSeconds").ends_with("did you mean `\"delta_seconds\"`?"));
        assert!(message("epoch-seconds").ends_with("did you mean `\"epoch_seconds\"`?"));
        assert!(message("seconds").contains("expected `\"epoch_seconds\"`"));
    }

    #[test]
    fn status_ranges_are_expanded_sorted_and_deduplicated() {
        let code = |value: u16| Status::Code(int(false, LitInt::new(&value.to_string(), span())));
        let range = |low: &str, dots: Limits, high: &str| Status::Range {
            start: int(false, LitInt::new(low, span())),
            limits: dots,
            end: int(false, LitInt::new(high, span())),
        };
        let inclusive = || Limits::Inclusive(parse_quote!(..=));
        let exclusive = || Limits::Exclusive(parse_quote!(..));
        let check = |items: &[Status]| {
            let mut errors = Errors::default();
            let codes = statuses(items, "`status_forcelist`", &mut errors);
            errors
                .finish()
                .map(|()| codes)
                .map_err(|error| error.to_string())
        };
        assert_eq!(
            check(&[code(503), code(429), code(503)]),
            Ok(vec![503, 429, 503])
        );
        assert_eq!(
            check(&[
                code(503),
                range("500", inclusive(), "502"),
                code(429),
                code(501)
            ]),
            Ok(vec![429, 500, 501, 502, 503])
        );
        assert_eq!(
            check(&[range("100", inclusive(), "599")]).unwrap().len(),
            500
        );
        assert_eq!(check(&[range("404", inclusive(), "404")]), Ok(vec![404]));
        assert!(check(&[range("502", inclusive(), "500")])
            .unwrap_err()
            .contains("write the lower status first, `500..=502`"));
        assert!(check(&[range("99", inclusive(), "200")])
            .unwrap_err()
            .contains("status code 99"));
        let half_open = |high| check(&[range("500", exclusive(), high)]).unwrap_err();
        assert!(half_open("599").ends_with("write `500..=599`"));
        assert!(half_open("600").ends_with("write `500..=599`"));
        assert!(half_open("504").ends_with("write `500..=504`"));
    }

    #[test]
    fn classify_body_bytes_fit_the_limit() {
        let bytes = |lit: syn::LitInt| body_bytes(&int(false, lit), Key::ClassifyBodyBytes);
        assert_eq!(bytes(parse_quote!(0)).unwrap(), 0);
        assert_eq!(bytes(parse_quote!(65536)).unwrap(), 65536);
        assert!(bytes(parse_quote!(65537)).is_err());
        assert!(body_bytes(&int(true, parse_quote!(1)), Key::ClassifyBodyBytes).is_err());
        let replay = |lit: syn::LitInt| body_bytes(&int(false, lit), Key::ReplayLimit);
        assert_eq!(replay(parse_quote!(268435456)).unwrap(), 268_435_456);
        assert!(replay(parse_quote!(268435457))
            .unwrap_err()
            .to_string()
            .contains("at most 256 MiB"));
        assert!(body_bytes(&int(true, parse_quote!(1)), Key::ReplayLimit).is_err());
    }

    fn span() -> proc_macro2::Span {
        proc_macro2::Span::call_site()
    }

    #[test]
    fn names_that_are_not_tokens_are_rejected() {
        assert!(method("").unwrap_err().contains("expected an HTTP token"));
        assert_eq!(
            method("GET /").unwrap_err(),
            "\"GET /\" is not a valid method name: ' ' is not allowed in an HTTP token"
        );
        for name in [
            "A,B", "A\"B", "(GET)", "GÉT", "A\tB", "A/B", "A:B", "{}", "@",
        ] {
            assert!(method(name).is_err(), "{name:?}");
        }
    }
}
