//! Whether each value of `#[retry(...)]` is one `RetrySettings` accepts: the compile-time twin of
//! `RetrySettings::validate`, so a derived connector's defaults always pass it.
//!
//! There is no cross-key rule, because `RetrySettings::validate` has none: every combination of
//! valid fields is a valid setting. One would be checked at the end of [`check`].

use std::time::Duration;

use syn::{Error, LitStr, Result};

use crate::attr::{Entry, Int, Key, List, Number, Value};
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
    /// Each in `100..=599`.
    Statuses(Vec<u16>),
    /// Not empty.
    Methods(Vec<Method>),
    Flag(bool),
    Seconds(Seconds),
    /// Not zero; set as `Some`.
    Timeout(Seconds),
    /// A retry budget's ratio: finite, in `0.0..=1000.0`; set as `Some` budget.
    Ratio(f64),
}

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
                Value::Statuses(ints) => Ok(Checked::Statuses(statuses(&ints, errors))),
                Value::Methods(list) => methods(&list, key, errors).map(Checked::Methods),
                Value::Flag(lit) => Ok(Checked::Flag(lit.value)),
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

/// The statuses in range; each one outside is recorded.
fn statuses(ints: &[Int], errors: &mut Errors) -> Vec<u16> {
    ints.iter()
        .filter_map(|int| {
            let status = int_value(int)
                .and_then(|value| u16::try_from(value).ok())
                .filter(|status| (100..=599).contains(status))
                .ok_or_else(|| {
                    let message = format!(
                        "status code {} in `status_forcelist` is outside 100..=599",
                        int.digits()
                    );
                    Error::new_spanned(int, message)
                });
            errors.ok(status)
        })
        .collect()
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
const STANDARD_METHODS: [&str; 9] = [
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

/// `tchar` of RFC 9110: ASCII letters, digits and `` !#$%&'*+-.^_`|~ ``.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

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
