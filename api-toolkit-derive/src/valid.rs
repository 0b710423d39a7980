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

fn seconds(number: &Number, key: Key) -> Result<Seconds> {
    let negative = || {
        let message = format!("`{}` must be a finite number of seconds >= 0", key.name());
        Error::new_spanned(number, message)
    };
    let too_long = || {
        let message = format!("`{}` must be at most {} seconds", key.name(), u64::MAX);
        Error::new_spanned(number, message)
    };
    match number {
        Number::Int(int) => match int_value(int) {
            Some(value) if value < 0 => Err(negative()),
            Some(value) => u64::try_from(value)
                .map(Seconds::Whole)
                .map_err(|_| too_long()),
            None if int.minus.is_some() => Err(negative()),
            None => Err(too_long()),
        },
        Number::Float(_) => {
            let value = float_value(number);
            if !(value.is_finite() && value >= 0.0) {
                Err(negative())
            } else if Duration::try_from_secs_f64(value).is_err() {
                Err(too_long())
            } else {
                Ok(Seconds::Fraction(value.abs()))
            }
        }
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
