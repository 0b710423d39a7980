//! What to write instead of a value of the wrong form: `"GET"` for `Method::GET`, `503` for
//! `"503"` or `StatusCode::SERVICE_UNAVAILABLE`, `["GET"]` for `"GET"` where a list goes.
//!
//! A hint is asked for only once a value has failed to parse, so it never changes what is
//! accepted; when no fix is certain there is none, and the message keeps to the form expected.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream, Parser};
use syn::{Lit, Path, Token};

/// What a key, or an item of its list, takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Want {
    /// `max_retries`, `classify_body_bytes`, `replay_limit`.
    Int,
    /// `backoff_factor`, `retry_budget`.
    Number,
    /// `backoff_max`, `retry_after_max`, `backoff_jitter` and the timeouts.
    Seconds,
    /// The flags: `raise_on_status = true`.
    Bool,
    /// An item of `allowed_methods`: `"GET"`.
    Method,
    /// `should_retry_header`, `rate_limit_reset`'s headers: `"x-should-retry"`.
    Header,
    /// `form` of `rate_limit_reset(...)`: `"delta_seconds"`.
    Form,
    /// An item of a status list: `503`, `500..=599`.
    Status,
    /// `allowed_methods = [...]`.
    Methods,
    /// `status_forcelist = [...]`, `statuses = [...]`.
    Statuses,
}

impl Want {
    /// What each item of the list takes, if this is a list.
    pub(crate) fn item(self) -> Option<Want> {
        match self {
            Want::Methods => Some(Want::Method),
            Want::Statuses => Some(Want::Status),
            _ => None,
        }
    }
}

/// A value that failed to parse, and what to write instead.
pub(crate) struct Hint {
    /// What the value is, for the message: `a string`.
    pub(crate) found: Option<&'static str>,
    /// The value to write, as source: `"GET"`, `[503]`.
    pub(crate) fix: String,
}

impl Hint {
    /// `, not a string: write `503`` after `expected`: with `key` (`max_retries`), the fix
    /// is written as `key = fix`.
    pub(crate) fn message(&self, expected: &str, key: Option<&str>) -> String {
        let found = self
            .found
            .map(|found| format!(", not {found}"))
            .unwrap_or_default();
        let fix = match key {
            Some(key) => format!("{key} = {}", self.fix),
            None => self.fix.clone(),
        };
        format!("{expected}{found}: write `{fix}`")
    }
}

/// What to write instead of `tokens` (one value, or one item of a list) where `want` goes.
/// A `[...]` is never a `Value`: a list's items get their own hints.
pub(crate) fn hint(want: Want, tokens: &TokenStream) -> Option<Hint> {
    let value = Value::parse.parse2(tokens.clone()).ok()?;
    let fix = match want.item() {
        // A single item where a list goes: `allowed_methods = "GET"`.
        Some(item) => format!(
            "[{}]",
            fix(item, &value).or_else(|| as_written(item, &value))?
        ),
        None => fix(want, &value)?,
    };
    Some(Hint {
        found: value.found(),
        fix,
    })
}

/// The forms a hint reads: a literal, a path, or a range of them.
enum Value {
    Lit {
        minus: bool,
        lit: Lit,
    },
    Path(Path),
    Range {
        start: Box<Value>,
        limits: &'static str,
        end: Box<Value>,
    },
}

impl Parse for Value {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let start = Value::one(input)?;
        let limits = if input.peek(Token![..=]) {
            input.parse::<Token![..=]>()?;
            "..="
        } else if input.peek(Token![..]) {
            input.parse::<Token![..]>()?;
            ".."
        } else {
            return Ok(start);
        };
        let end = Value::one(input)?;
        Ok(Value::Range {
            start: Box::new(start),
            limits,
            end: Box::new(end),
        })
    }
}

impl Value {
    fn one(input: ParseStream) -> syn::Result<Self> {
        if input.peek(Token![-]) || input.peek(Lit) {
            let minus = input.parse::<Option<Token![-]>>()?.is_some();
            Ok(Value::Lit {
                minus,
                lit: input.parse()?,
            })
        } else {
            Path::parse_mod_style(input).map(Value::Path)
        }
    }

    fn found(&self) -> Option<&'static str> {
        Some(match self {
            Value::Lit {
                lit: Lit::Str(_), ..
            } => "a string",
            Value::Lit {
                lit: Lit::Int(_), ..
            } => "an integer",
            Value::Lit {
                lit: Lit::Float(_), ..
            } => "a float",
            Value::Lit {
                lit: Lit::Bool(_), ..
            } => "a bool",
            Value::Path(_) => "a path",
            // A range is the right form; an end of it is not.
            Value::Lit { .. } | Value::Range { .. } => return None,
        })
    }

    /// The string, if this is a string literal.
    fn string(&self) -> Option<String> {
        match self {
            Value::Lit {
                minus: false,
                lit: Lit::Str(lit),
            } => Some(lit.value().trim().to_owned()),
            _ => None,
        }
    }

    /// The name a path ends with: `GET` of `Method::GET`.
    fn last_name(&self) -> Option<String> {
        match self {
            Value::Path(path) => path
                .segments
                .last()
                .map(|segment| segment.ident.to_string()),
            _ => None,
        }
    }
}

/// The fix of a value of the wrong form, if one is certain.
fn fix(want: Want, value: &Value) -> Option<String> {
    match want {
        Want::Int => int(value),
        Want::Number => number(value),
        Want::Seconds => number(value).or_else(|| seconds(&value.string()?)),
        Want::Bool => flag(value),
        Want::Method => {
            let name = value.last_name()?;
            let upper = name.to_ascii_uppercase();
            let standard = crate::valid::STANDARD_METHODS.contains(&upper.as_str());
            Some(format!("{:?}", if standard { upper } else { name }))
        }
        // `header::RETRY_AFTER`, `x_should_retry`: header names are lower case, with dashes.
        Want::Header => {
            let name = value.last_name()?.to_ascii_lowercase().replace('_', "-");
            Some(format!("{name:?}"))
        }
        Want::Form => {
            let letters: String = value
                .last_name()?
                .chars()
                .filter(char::is_ascii_alphabetic)
                .map(|c| c.to_ascii_lowercase())
                .collect();
            ["epoch_seconds", "delta_seconds"]
                .into_iter()
                .find(|form| letters == form.replace('_', ""))
                .map(|form| format!("{form:?}"))
        }
        Want::Status => status(value),
        // A list is never a `Value`.
        Want::Methods | Want::Statuses => None,
    }
}

/// An item that is right as written (`"GET"`, `503`), put back into source form.
fn as_written(want: Want, value: &Value) -> Option<String> {
    match (want, value) {
        (
            Want::Method,
            Value::Lit {
                minus: false,
                lit: Lit::Str(lit),
            },
        ) => Some(format!("{:?}", lit.value())),
        (
            Want::Status,
            Value::Lit {
                minus: false,
                lit: Lit::Int(lit),
            },
        ) => Some(lit.base10_digits().to_owned()),
        (Want::Status, Value::Range { start, limits, end }) => {
            let end_of = |value: &Value| int(value).or_else(|| as_written(Want::Status, value));
            Some(format!("{}{limits}{}", end_of(start)?, end_of(end)?))
        }
        _ => None,
    }
}

/// `3` for `"3"` or `3.0`.
fn int(value: &Value) -> Option<String> {
    match value {
        Value::Lit {
            minus: false,
            lit: Lit::Float(lit),
        } => {
            let float: f64 = lit.base10_digits().parse().ok()?;
            (float.fract() == 0.0 && float < 1e15).then(|| format!("{float}"))
        }
        _ => {
            let string = value.string()?;
            string.parse::<u64>().ok().map(|int| int.to_string())
        }
    }
}

/// `0.5` for `"0.5"`.
fn number(value: &Value) -> Option<String> {
    let string = value.string()?;
    let float: f64 = string.parse().ok()?;
    float.is_finite().then_some(string)
}

/// `30` for `"30s"`, `0.5` for `"500ms"`.
fn seconds(string: &str) -> Option<String> {
    let (digits, scale) = if let Some(ms) = string.strip_suffix("ms") {
        (ms, 1000.0)
    } else {
        let secs = ["secs", "sec", "s"]
            .into_iter()
            .find_map(|unit| string.strip_suffix(unit))?;
        (secs, 1.0)
    };
    let value: f64 = digits.trim().parse().ok()?;
    (value.is_finite() && value >= 0.0).then(|| format!("{}", value / scale))
}

/// `true` for `"true"` or `1`.
fn flag(value: &Value) -> Option<String> {
    let flag = match value {
        Value::Lit {
            minus: false,
            lit: Lit::Int(lit),
        } => match lit.base10_digits() {
            "0" => false,
            "1" => true,
            _ => return None,
        },
        Value::Path(path) => path
            .get_ident()?
            .to_string()
            .to_ascii_lowercase()
            .parse()
            .ok()?,
        _ => value.string()?.to_ascii_lowercase().parse().ok()?,
    };
    Some(flag.to_string())
}

/// `503` for `"503"` or `StatusCode::SERVICE_UNAVAILABLE`; `500..=599` for `"5xx"`.
fn status(value: &Value) -> Option<String> {
    if let Value::Range { .. } = value {
        // `500..="599"`: a range whose ends need fixing.
        return as_written(Want::Status, value);
    }
    if let Some(name) = value.last_name() {
        return STATUS_CODES
            .iter()
            .find(|(constant, _)| *constant == name)
            .map(|(_, code)| code.to_string());
    }
    if let Some(int) = int(value) {
        return Some(int);
    }
    let string = value.string()?;
    // `"5xx"`: a class of statuses.
    if let [class @ b'1'..=b'5', b'x' | b'X', b'x' | b'X'] = string.as_bytes() {
        let class = char::from(*class);
        return Some(format!("{class}00..={class}99"));
    }
    // `"500-599"`, `"500..=599"`: a range.
    let (start, end) = string
        .split_once("..=")
        .or_else(|| string.split_once('-'))?;
    let (start, end) = (
        start.trim().parse::<u16>().ok()?,
        end.trim().parse::<u16>().ok()?,
    );
    Some(format!("{start}..={end}"))
}

/// The constants of `http::StatusCode`, by name.
const STATUS_CODES: &[(&str, u16)] = &[
    ("CONTINUE", 100),
    ("SWITCHING_PROTOCOLS", 101),
    ("PROCESSING", 102),
    ("EARLY_HINTS", 103),
    ("OK", 200),
    ("CREATED", 201),
    ("ACCEPTED", 202),
    ("NON_AUTHORITATIVE_INFORMATION", 203),
    ("NO_CONTENT", 204),
    ("RESET_CONTENT", 205),
    ("PARTIAL_CONTENT", 206),
    ("MULTI_STATUS", 207),
    ("ALREADY_REPORTED", 208),
    ("IM_USED", 226),
    ("MULTIPLE_CHOICES", 300),
    ("MOVED_PERMANENTLY", 301),
    ("FOUND", 302),
    ("SEE_OTHER", 303),
    ("NOT_MODIFIED", 304),
    ("USE_PROXY", 305),
    ("TEMPORARY_REDIRECT", 307),
    ("PERMANENT_REDIRECT", 308),
    ("BAD_REQUEST", 400),
    ("UNAUTHORIZED", 401),
    ("PAYMENT_REQUIRED", 402),
    ("FORBIDDEN", 403),
    ("NOT_FOUND", 404),
    ("METHOD_NOT_ALLOWED", 405),
    ("NOT_ACCEPTABLE", 406),
    ("PROXY_AUTHENTICATION_REQUIRED", 407),
    ("REQUEST_TIMEOUT", 408),
    ("CONFLICT", 409),
    ("GONE", 410),
    ("LENGTH_REQUIRED", 411),
    ("PRECONDITION_FAILED", 412),
    ("PAYLOAD_TOO_LARGE", 413),
    ("URI_TOO_LONG", 414),
    ("UNSUPPORTED_MEDIA_TYPE", 415),
    ("RANGE_NOT_SATISFIABLE", 416),
    ("EXPECTATION_FAILED", 417),
    ("IM_A_TEAPOT", 418),
    ("MISDIRECTED_REQUEST", 421),
    ("UNPROCESSABLE_ENTITY", 422),
    ("LOCKED", 423),
    ("FAILED_DEPENDENCY", 424),
    ("TOO_EARLY", 425),
    ("UPGRADE_REQUIRED", 426),
    ("PRECONDITION_REQUIRED", 428),
    ("TOO_MANY_REQUESTS", 429),
    ("REQUEST_HEADER_FIELDS_TOO_LARGE", 431),
    ("UNAVAILABLE_FOR_LEGAL_REASONS", 451),
    ("INTERNAL_SERVER_ERROR", 500),
    ("NOT_IMPLEMENTED", 501),
    ("BAD_GATEWAY", 502),
    ("SERVICE_UNAVAILABLE", 503),
    ("GATEWAY_TIMEOUT", 504),
    ("HTTP_VERSION_NOT_SUPPORTED", 505),
    ("VARIANT_ALSO_NEGOTIATES", 506),
    ("INSUFFICIENT_STORAGE", 507),
    ("LOOP_DETECTED", 508),
    ("NOT_EXTENDED", 510),
    ("NETWORK_AUTHENTICATION_REQUIRED", 511),
];

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn fix_of(want: Want, tokens: TokenStream) -> Option<String> {
        hint(want, &tokens).map(|hint| hint.fix)
    }

    #[test]
    fn methods_written_as_paths_become_strings() {
        assert_eq!(
            fix_of(Want::Method, quote!(Method::GET)).unwrap(),
            "\"GET\""
        );
        assert_eq!(
            fix_of(Want::Method, quote!(http::Method::post)).unwrap(),
            "\"POST\""
        );
        assert_eq!(fix_of(Want::Method, quote!(PURGE)).unwrap(), "\"PURGE\"");
        assert_eq!(
            fix_of(Want::Methods, quote!(Method::GET)).unwrap(),
            "[\"GET\"]"
        );
        assert_eq!(fix_of(Want::Methods, quote!("GET")).unwrap(), "[\"GET\"]");
        assert_eq!(fix_of(Want::Method, quote!(1)), None);
    }

    #[test]
    fn statuses_written_otherwise_become_integers_or_ranges() {
        assert_eq!(fix_of(Want::Status, quote!("503")).unwrap(), "503");
        assert_eq!(
            fix_of(Want::Status, quote!(StatusCode::TOO_MANY_REQUESTS)).unwrap(),
            "429"
        );
        assert_eq!(fix_of(Want::Status, quote!("5xx")).unwrap(), "500..=599");
        assert_eq!(
            fix_of(Want::Status, quote!("500-504")).unwrap(),
            "500..=504"
        );
        assert_eq!(
            fix_of(Want::Status, quote!(500..="599")).unwrap(),
            "500..=599"
        );
        assert_eq!(fix_of(Want::Statuses, quote!(500)).unwrap(), "[500]");
        assert_eq!(
            fix_of(Want::Statuses, quote!(500..=599)).unwrap(),
            "[500..=599]"
        );
        assert_eq!(fix_of(Want::Status, quote!(StatusCode::NOT_A_STATUS)), None);
        assert_eq!(fix_of(Want::Status, quote!("five hundred")), None);
        // A list is never a single value: its items get their own hints.
        assert_eq!(fix_of(Want::Statuses, quote!(["500"])), None);
    }

    #[test]
    fn scalars_written_as_strings_lose_their_quotes() {
        assert_eq!(fix_of(Want::Int, quote!("3")).unwrap(), "3");
        assert_eq!(fix_of(Want::Int, quote!(3.0)).unwrap(), "3");
        assert_eq!(fix_of(Want::Int, quote!(3.5)), None);
        assert_eq!(fix_of(Want::Number, quote!("0.5")).unwrap(), "0.5");
        assert_eq!(fix_of(Want::Seconds, quote!("30s")).unwrap(), "30");
        assert_eq!(fix_of(Want::Seconds, quote!("250ms")).unwrap(), "0.25");
        assert_eq!(fix_of(Want::Seconds, quote!("soon")), None);
        assert_eq!(fix_of(Want::Bool, quote!("true")).unwrap(), "true");
        assert_eq!(fix_of(Want::Bool, quote!(0)).unwrap(), "false");
        assert_eq!(fix_of(Want::Bool, quote!(2)), None);
    }

    #[test]
    fn header_and_form_paths_become_strings() {
        assert_eq!(
            fix_of(Want::Header, quote!(header::RETRY_AFTER)).unwrap(),
            "\"retry-after\""
        );
        assert_eq!(
            fix_of(Want::Form, quote!(ResetForm::EpochSeconds)).unwrap(),
            "\"epoch_seconds\""
        );
        assert_eq!(
            fix_of(Want::Form, quote!(delta_seconds)).unwrap(),
            "\"delta_seconds\""
        );
        assert_eq!(fix_of(Want::Form, quote!(ResetForm::Other)), None);
    }

    #[test]
    fn the_message_names_what_was_found_and_what_to_write() {
        let hint = hint(Want::Int, &quote!("3")).unwrap();
        assert_eq!(
            hint.message("expected `max_retries = <integer>`", Some("max_retries")),
            "expected `max_retries = <integer>`, not a string: write `max_retries = 3`"
        );
    }
}
