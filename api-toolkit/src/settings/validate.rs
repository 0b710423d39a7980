//! The checks on [`RetrySettings`]: the run-time twin of the derive's compile-time checks.

use std::fmt;

use reqwest::Method;

use super::RetrySettings;

/// A retry setting that was rejected: which field, which value, and what was expected.
///
/// Returned by [`RetrySettings::validate`], and carried by [`Error`](crate::Error) when
/// [`Session::new`](crate::Session::new) or
/// [`Session::set_retry_settings`](crate::Session::set_retry_settings) refuse settings (the
/// previous settings then stay in force). Deserialization reports the same message.
///
/// # Examples
///
/// ```
/// use api_toolkit::RetrySettings;
///
/// let error = RetrySettings { status_forcelist: vec![503, 600], ..RetrySettings::default() }.validate().unwrap_err();
/// assert_eq!((error.field(), error.value()), ("status_forcelist", "600"));
/// eprintln!("{error}"); // invalid retry setting `status_forcelist` = 600: …
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingsError {
    field: &'static str,
    value: String,
    expected: String,
}

impl SettingsError {
    pub(crate) fn new(
        field: &'static str,
        value: impl fmt::Display,
        expected: impl Into<String>,
    ) -> Self {
        SettingsError {
            field,
            value: value.to_string(),
            expected: expected.into(),
        }
    }

    /// The name of the rejected field, as in [`RetrySettings`] (`"backoff_factor"`), or
    /// `"redirect"` for a redirect policy the session cannot see
    /// ([`SessionBuilder::build`](crate::SessionBuilder::build)).
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::RetrySettings;
    ///
    /// let error = RetrySettings { backoff_factor: -1.0, ..RetrySettings::default() }.validate().unwrap_err();
    /// assert_eq!(error.field(), "backoff_factor");
    /// ```
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// The rejected value, as written (`"-1"`, `"600"`, `"get"`).
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::RetrySettings;
    ///
    /// let error = RetrySettings { backoff_factor: -1.0, ..RetrySettings::default() }.validate().unwrap_err();
    /// assert_eq!(error.value(), "-1");
    /// ```
    pub fn value(&self) -> &str {
        &self.value
    }

    /// What the field accepts, with a suggestion where there is one.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{Method, RetrySettings};
    ///
    /// let lower = Method::from_bytes(b"get").unwrap();
    /// let error = RetrySettings { allowed_methods: vec![lower], ..RetrySettings::default() }.validate().unwrap_err();
    /// println!("{}", error.expected()); // what to write instead
    /// assert!(!error.expected().is_empty());
    /// ```
    pub fn expected(&self) -> &str {
        &self.expected
    }
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid retry setting `{}` = {}: {}",
            self.field, self.value, self.expected
        )
    }
}

impl std::error::Error for SettingsError {}

/// Shows a float as it was likely written: `-1`, `0.5`, `1e300`, `NaN`.
pub(super) struct Number(pub(super) f64);

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.fract() == 0.0 && self.0.abs() < 1e16 {
            write!(f, "{}", self.0)
        } else {
            write!(f, "{:?}", self.0)
        }
    }
}

pub(super) fn validate(settings: &RetrySettings) -> Result<(), SettingsError> {
    check_backoff_factor(settings.backoff_factor)?;
    for &status in &settings.status_forcelist {
        check_status(status)?;
    }
    check_methods(&settings.allowed_methods)?;
    check_timeout("total_timeout", settings.total_timeout)?;
    check_timeout("attempt_timeout", settings.attempt_timeout)?;
    if let Some(reset) = &settings.rate_limit_reset {
        check_reset_statuses(&reset.statuses)?;
    }
    check_classify_body_bytes(settings.classify_body_bytes)?;
    check_replay_limit(settings.replay_limit)?;
    if let Some(breaker) = &settings.circuit_breaker {
        breaker.validate()?;
    }
    if let Some(throttling) = &settings.throttling {
        throttling.validate()?;
    }
    if let Some(hedging) = &settings.hedging {
        hedging.validate()?;
    }
    settings
        .retry_budget
        .as_ref()
        .map_or(Ok(()), super::RetryBudget::validate)
}

fn check_reset_statuses(statuses: &[u16]) -> Result<(), SettingsError> {
    const FIELD: &str = "rate_limit_reset.statuses";
    const EXPECTED: &str = "expected at least one HTTP status code, each in 100..=599";
    if statuses.is_empty() {
        return Err(SettingsError::new(FIELD, "[]", EXPECTED));
    }
    match statuses.iter().find(|s| !(100..=599).contains(*s)) {
        Some(status) => Err(SettingsError::new(FIELD, status, EXPECTED)),
        None => Ok(()),
    }
}

fn check_classify_body_bytes(bytes: usize) -> Result<(), SettingsError> {
    if bytes <= super::MAX_CLASSIFY_BODY_BYTES {
        Ok(())
    } else {
        Err(SettingsError::new(
            "classify_body_bytes",
            bytes,
            "expected at most 65536 bytes (64 KiB)",
        ))
    }
}

fn check_replay_limit(bytes: usize) -> Result<(), SettingsError> {
    if bytes <= super::MAX_REPLAY_LIMIT {
        Ok(())
    } else {
        Err(SettingsError::new(
            "replay_limit",
            bytes,
            "expected at most 268435456 bytes (256 MiB): a larger body is better reopened and \
             sent again by the caller",
        ))
    }
}

/// Checks a header name from configuration: a valid name, written in lower case as HTTP/2
/// sends it (and as `#[retry(...)]` requires).
pub(super) fn parse_header_name(
    field: &'static str,
    name: &str,
) -> Result<reqwest::header::HeaderName, SettingsError> {
    let lower = name.to_ascii_lowercase();
    match reqwest::header::HeaderName::from_bytes(name.as_bytes()) {
        Ok(header) if lower == name => Ok(header),
        Ok(_) => Err(SettingsError::new(
            field,
            format!("{name:?}"),
            format!("header names are lower case: did you mean {lower:?}?"),
        )),
        Err(_) => Err(SettingsError::new(
            field,
            format!("{name:?}"),
            "expected a header name (a token such as \"x-should-retry\")",
        )),
    }
}

/// A zero timeout would fail every call before it is sent: surely a mistake for "none".
fn check_timeout(
    field: &'static str,
    timeout: Option<std::time::Duration>,
) -> Result<(), SettingsError> {
    match timeout {
        Some(t) if t.is_zero() => Err(SettingsError::new(
            field,
            0,
            "expected a positive number of seconds, or none",
        )),
        _ => Ok(()),
    }
}

pub(super) fn check_backoff_factor(factor: f64) -> Result<(), SettingsError> {
    if factor.is_finite() && factor >= 0.0 {
        Ok(())
    } else {
        Err(SettingsError::new(
            "backoff_factor",
            Number(factor),
            "expected a finite number of seconds >= 0",
        ))
    }
}

pub(super) fn check_status(status: u16) -> Result<(), SettingsError> {
    if (100..=599).contains(&status) {
        Ok(())
    } else {
        Err(SettingsError::new(
            "status_forcelist",
            status,
            "expected HTTP status codes in 100..=599",
        ))
    }
}

pub(super) fn check_methods(methods: &[Method]) -> Result<(), SettingsError> {
    if methods.is_empty() {
        return Err(SettingsError::new(
            "allowed_methods",
            "[]",
            "expected at least one method; to retry nothing, set `max_retries` to 0",
        ));
    }
    methods.iter().try_for_each(check_method)
}

/// The methods of RFC 9110 and RFC 5789, which `http::Method` has a constant for: the same list
/// as the derive's, so that both refuse the same names.
const STANDARD_METHODS: [Method; 9] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::CONNECT,
    Method::OPTIONS,
    Method::TRACE,
    Method::PATCH,
];

/// `Method::from_bytes(b"get")` is a valid *extension* method that no server treats as GET, so a
/// lower-case standard name is a typo that would silently disable retries.
fn check_method(method: &Method) -> Result<(), SettingsError> {
    let name = method.as_str();
    let upper = name.to_ascii_uppercase();
    if name != upper && STANDARD_METHODS.iter().any(|m| m.as_str() == upper) {
        return Err(SettingsError::new(
            "allowed_methods",
            format!("{name:?}"),
            format!("standard methods are upper case: did you mean {upper:?}?"),
        ));
    }
    Ok(())
}

/// Parses a method name from configuration with the same rules as [`check_methods`].
pub(super) fn parse_method(name: &str) -> Result<Method, SettingsError> {
    let method = Method::from_bytes(name.as_bytes()).map_err(|_| {
        SettingsError::new(
            "allowed_methods",
            format!("{name:?}"),
            "expected an HTTP method name (a token such as \"GET\" or \"PURGE\")",
        )
    })?;
    check_method(&method)?;
    Ok(method)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(RetrySettings::default().validate(), Ok(()));
    }

    #[test]
    fn negative_and_non_finite_backoff_factor_rejected() {
        for factor in [-0.5, f64::NAN, f64::INFINITY] {
            let err = check_backoff_factor(factor).unwrap_err();
            assert_eq!(err.field(), "backoff_factor");
        }
        assert_eq!(check_backoff_factor(-0.5).unwrap_err().value(), "-0.5");
    }

    #[test]
    fn status_outside_range_rejected() {
        assert_eq!(check_status(600).unwrap_err().value(), "600");
        assert_eq!(check_status(99).unwrap_err().field(), "status_forcelist");
        assert!(check_status(100).is_ok() && check_status(599).is_ok());
    }

    #[test]
    fn empty_methods_rejected() {
        assert_eq!(check_methods(&[]).unwrap_err().field(), "allowed_methods");
    }

    #[test]
    fn lowercase_standard_method_rejected_with_suggestion() {
        let err = check_methods(&[Method::from_bytes(b"get").unwrap()]).unwrap_err();
        assert_eq!(err.value(), "\"get\"");
        assert!(err.expected().contains("did you mean \"GET\"?"), "{err}");
    }

    #[test]
    fn zero_timeout_rejected() {
        let settings = RetrySettings {
            attempt_timeout: Some(std::time::Duration::ZERO),
            ..Default::default()
        };
        assert_eq!(validate(&settings).unwrap_err().field(), "attempt_timeout");
    }

    #[test]
    fn every_standard_method_in_lower_or_mixed_case_rejected_as_the_derive_does() {
        for standard in STANDARD_METHODS {
            let upper = standard.as_str();
            assert!(parse_method(upper).is_ok(), "{upper}");
            for typo in [
                upper.to_ascii_lowercase(),
                format!("{}{}", &upper[..1], upper[1..].to_ascii_lowercase()),
            ] {
                let err = parse_method(&typo).unwrap_err();
                assert_eq!(err.field(), "allowed_methods", "{typo}");
                assert!(err.expected().contains(upper), "{err}");
            }
        }
        assert!(
            parse_method("connect").is_err(),
            "CONNECT is a standard method too"
        );
    }

    #[test]
    fn hint_settings_checked() {
        let reset = |statuses: Vec<u16>| RetrySettings {
            rate_limit_reset: Some(super::super::RateLimitReset {
                statuses,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            validate(&reset(vec![])).unwrap_err().field(),
            "rate_limit_reset.statuses"
        );
        assert_eq!(validate(&reset(vec![429, 600])).unwrap_err().value(), "600");
        assert!(validate(&reset(vec![403, 429])).is_ok());
        let body = |bytes| RetrySettings {
            classify_body_bytes: bytes,
            ..Default::default()
        };
        assert!(validate(&body(65536)).is_ok());
        assert_eq!(
            validate(&body(65537)).unwrap_err().field(),
            "classify_body_bytes"
        );
        let replay = |bytes| RetrySettings {
            replay_limit: bytes,
            ..Default::default()
        };
        assert!(validate(&replay(super::super::MAX_REPLAY_LIMIT)).is_ok());
        let err = validate(&replay(super::super::MAX_REPLAY_LIMIT + 1)).unwrap_err();
        assert_eq!(
            (err.field(), err.value()),
            ("replay_limit", "268435457"),
            "{err}"
        );
        assert!(err.expected().contains("256 MiB"), "{err}");
        assert!(parse_header_name("should_retry_header", "x-should-retry").is_ok());
        let upper = parse_header_name("should_retry_header", "X-Should-Retry").unwrap_err();
        assert!(upper.expected().contains("\"x-should-retry\""), "{upper}");
        assert!(parse_header_name("should_retry_header", "x should").is_err());
        assert!(parse_header_name("should_retry_header", "").is_err());
    }

    #[test]
    fn extension_methods_accepted() {
        assert!(parse_method("PURGE").is_ok());
        assert!(parse_method("purge").is_ok());
        assert!(parse_method("GET /").is_err());
        assert!(parse_method("").is_err());
    }
}
