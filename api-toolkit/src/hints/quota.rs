//! What a host says of its rate limit, for pacing: how much of the quota remains and when it
//! resets.
//!
//! Four families, read in this order (the first that says how much remains wins):
//! - the IETF draft's `RateLimit: "default";r=0;t=30` (remaining `r`, seconds to the reset
//!   `t`), with `RateLimit-Policy: "default";q=100;w=60` (quota `q` per window `w`); an
//!   earlier draft's dictionary `RateLimit: limit=100, remaining=0, reset=30` too;
//! - the older drafts' trio `RateLimit-Limit` / `RateLimit-Remaining` / `RateLimit-Reset`
//!   (delta seconds);
//! - `X-RateLimit-Limit` / `X-RateLimit-Remaining` / `X-RateLimit-Reset`, the reset in epoch or
//!   delta seconds as the settings say.
//!
//! A field that does not parse is ignored, as if it were absent: pacing never holds a call on
//! a value it could not read.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderName};

use crate::{RateLimitReset, ResetForm};

/// A host's quota as one response states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Quota {
    /// Requests that remain in the current window.
    pub(crate) remaining: u64,
    /// The time left before the window resets; `None` when not stated (or unreadable).
    pub(crate) reset: Option<Duration>,
    /// The quota per window (`q`, `*-Limit`), when stated.
    pub(crate) limit: Option<u64>,
    /// The window (`w`), when stated.
    pub(crate) window: Option<Duration>,
}

/// The names of the `X-RateLimit-*` fields read, and how their reset is written.
#[derive(Clone, Copy, Debug)]
pub(crate) struct XNames<'a> {
    pub(crate) remaining: &'a HeaderName,
    pub(crate) reset: &'a HeaderName,
    pub(crate) form: ResetForm,
}

/// The `X-RateLimit-*` names and form of `reset` (`rate_limit_reset`), else GitHub's.
pub(crate) fn x_names(reset: Option<&RateLimitReset>) -> XNames<'_> {
    static REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
    static RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
    match reset {
        Some(reset) => XNames {
            remaining: &reset.remaining_header,
            reset: &reset.header,
            form: reset.form,
        },
        None => XNames {
            remaining: &REMAINING,
            reset: &RESET,
            form: ResetForm::EpochSeconds,
        },
    }
}

const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");
const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");

/// Every field this module reads, with the default `X-RateLimit-*` names (for the fuzz hook and
/// the property tests).
pub(crate) const FIELDS: [&str; 8] = [
    "ratelimit",
    "ratelimit-policy",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
];

/// The quota `headers` state, if any family says how much remains.
pub(crate) fn read(headers: &HeaderMap, x: XNames<'_>, now: SystemTime) -> Option<Quota> {
    let text = |name: &HeaderName| {
        headers
            .get(name)
            .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
    };
    if let Some(quota) = text(&RATELIMIT).and_then(|v| draft(v, text(&RATELIMIT_POLICY))) {
        return Some(quota);
    }
    if let Some(remaining) = text(&RATELIMIT_REMAINING).and_then(first_number) {
        return Some(Quota {
            remaining,
            reset: text(&RATELIMIT_RESET).and_then(delta),
            limit: text(&RATELIMIT_LIMIT).and_then(first_number),
            window: None,
        });
    }
    let remaining = text(x.remaining).and_then(first_number)?;
    let reset = headers.get(x.reset).and_then(|v| {
        // A reset that is past (or now) has happened: nothing to wait for.
        super::rate_limit::parse_reset(v.as_bytes(), x.form, now)
            .or_else(|| super::decimal(v.as_bytes()).map(|_| Duration::ZERO))
    });
    Some(Quota {
        remaining,
        reset,
        limit: text(&X_RATELIMIT_LIMIT).and_then(first_number),
        window: None,
    })
}

/// `RateLimit` (and its `RateLimit-Policy`): the most constraining policy, the one with the
/// fewest remaining (on a tie, the latest reset).
fn draft(value: &str, policy: Option<&str>) -> Option<Quota> {
    let mut best: Option<(Quota, &str)> = None;
    let mut dictionary = (None, None, None);
    for member in split_outside_quotes(value, b',') {
        let mut parts = split_outside_quotes(member, b';').into_iter();
        let item = parts.next().unwrap_or_default().trim();
        // An earlier draft: `limit=100, remaining=50, reset=5`.
        if let Some((key, number)) = item.split_once('=') {
            let number = integer(number);
            match key.trim() {
                "limit" => dictionary.0 = number,
                "remaining" => dictionary.1 = number,
                "reset" => dictionary.2 = number,
                _ => {}
            }
            continue;
        }
        let (mut remaining, mut reset) = (None, None);
        for param in parts {
            match param.trim().split_once('=') {
                Some(("r", v)) => remaining = integer(v),
                Some(("t", v)) => reset = integer(v).map(Duration::from_secs),
                _ => {}
            }
        }
        let Some(remaining) = remaining else { continue };
        let quota = Quota {
            remaining,
            reset,
            limit: None,
            window: None,
        };
        let tighter = best.is_none_or(|(b, _)| {
            (remaining, std::cmp::Reverse(reset)) < (b.remaining, std::cmp::Reverse(b.reset))
        });
        if tighter {
            best = Some((quota, item));
        }
    }
    if let (limit, Some(remaining), reset) = dictionary {
        if best.is_none() {
            return Some(Quota {
                remaining,
                reset: reset.map(Duration::from_secs),
                limit,
                window: None,
            });
        }
    }
    let (mut quota, name) = best?;
    if let Some((limit, window)) = policy.and_then(|p| policy_of(p, name)) {
        quota.limit = limit;
        quota.window = window;
    }
    Some(quota)
}

/// The `q` and `w` of the `RateLimit-Policy` member named `name` (else the first one).
fn policy_of(value: &str, name: &str) -> Option<(Option<u64>, Option<Duration>)> {
    let mut first = None;
    for member in split_outside_quotes(value, b',') {
        let mut parts = split_outside_quotes(member, b';').into_iter();
        let item = parts.next().unwrap_or_default().trim();
        let (mut q, mut w) = (None, None);
        for param in parts {
            match param.trim().split_once('=') {
                Some(("q", v)) => q = integer(v),
                Some(("w", v)) => w = integer(v).map(Duration::from_secs),
                _ => {}
            }
        }
        if item == name {
            return Some((q, w));
        }
        first = first.or(Some((q, w)));
    }
    first
}

/// `text` split at `separator`, except inside a quoted string (with `\` escapes).
fn split_outside_quotes(text: &str, separator: u8) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, b) in text.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b if b == separator && !quoted => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A structured-field integer that is not negative: 1 to 15 digits.
fn integer(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() || text.len() > 15 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The first number of a `*-Limit` or `*-Remaining` value (`100`, `100, 100;w=60`, `0.0`).
fn first_number(text: &str) -> Option<u64> {
    let first = text.split([',', ';']).next()?;
    // A fraction of a request is none; a number too large for u64 saturates.
    super::decimal(first.as_bytes()).map(|n| n as u64)
}

/// Delta seconds (`30`, `1.5`); a value too large for a duration is "very long".
fn delta(text: &str) -> Option<Duration> {
    let secs = super::decimal(text.as_bytes())?;
    Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn quota(pairs: &[(&'static str, &'static str)], form: ResetForm) -> Option<Quota> {
        let headers: HeaderMap = pairs
            .iter()
            .map(|(k, v)| (k.parse().unwrap(), HeaderValue::from_static(v)))
            .collect();
        let (remaining, reset) = (
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderName::from_static("x-ratelimit-reset"),
        );
        let x = XNames {
            remaining: &remaining,
            reset: &reset,
            form,
        };
        read(&headers, x, at(1_700_000_000))
    }

    fn secs(s: u64) -> Option<Duration> {
        Some(Duration::from_secs(s))
    }

    #[test]
    fn ietf_draft_fields() {
        let q = quota(
            &[
                ("ratelimit", r#""default";r=0;t=30"#),
                (
                    "ratelimit-policy",
                    r#""burst";q=10;w=1, "default";q=100;w=60"#,
                ),
            ],
            ResetForm::EpochSeconds,
        )
        .unwrap();
        assert_eq!(
            q,
            Quota {
                remaining: 0,
                reset: secs(30),
                limit: Some(100),
                window: secs(60),
            }
        );
        let two = quota(
            &[("ratelimit", r#""a";r=50;t=1, "b";r=3;t=20, "c";r=3;t=10"#)],
            ResetForm::EpochSeconds,
        )
        .unwrap();
        assert_eq!((two.remaining, two.reset), (3, secs(20)), "the tightest");
        let token = quota(
            &[("ratelimit", "day;r=7;t=100;pk=:YWJj:")],
            ResetForm::EpochSeconds,
        );
        assert_eq!(token.unwrap().remaining, 7);
        let quoted = quota(
            &[("ratelimit", r#""a,b;c";r=2;t=5"#)],
            ResetForm::EpochSeconds,
        );
        assert_eq!(quoted.unwrap().reset, secs(5), "separators inside quotes");
        let old = quota(
            &[("ratelimit", "limit=100, remaining=0, reset=12")],
            ResetForm::EpochSeconds,
        );
        assert_eq!(
            old,
            Some(Quota {
                remaining: 0,
                reset: secs(12),
                limit: Some(100),
                window: None
            })
        );
    }

    #[test]
    fn the_older_trio_in_delta_seconds() {
        let q = quota(
            &[
                ("ratelimit-limit", "100, 100;w=60"),
                ("ratelimit-remaining", "0"),
                ("ratelimit-reset", "42"),
            ],
            ResetForm::EpochSeconds,
        );
        assert_eq!(
            q,
            Some(Quota {
                remaining: 0,
                reset: secs(42),
                limit: Some(100),
                window: None
            })
        );
    }

    #[test]
    fn x_ratelimit_in_either_form() {
        let github = [
            ("x-ratelimit-limit", "5000"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1700000060"),
        ];
        let q = quota(&github, ResetForm::EpochSeconds).unwrap();
        assert_eq!((q.remaining, q.reset, q.limit), (0, secs(60), Some(5000)));
        let delta = [("x-ratelimit-remaining", "3"), ("x-ratelimit-reset", "9")];
        assert_eq!(
            quota(&delta, ResetForm::DeltaSeconds).unwrap().reset,
            secs(9)
        );
        let past = [
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1600000000"),
        ];
        assert_eq!(
            quota(&past, ResetForm::EpochSeconds).unwrap().reset,
            Some(Duration::ZERO),
            "a past reset has happened"
        );
    }

    #[test]
    fn the_draft_wins_over_the_older_fields() {
        let q = quota(
            &[
                ("ratelimit", r#""default";r=4;t=3"#),
                ("ratelimit-remaining", "0"),
                ("x-ratelimit-remaining", "0"),
            ],
            ResetForm::EpochSeconds,
        );
        assert_eq!(q.unwrap().remaining, 4);
    }

    #[test]
    fn malformed_fields_are_ignored() {
        for pairs in [
            &[("ratelimit", r#""default";r=-1;t=30"#)][..],
            &[("ratelimit", r#""default";r=x;t=30"#)],
            &[("ratelimit", r#""default";t=30"#)],
            &[("ratelimit", "")],
            &[("ratelimit", r#""unterminated;r=0;t=3"#)],
            &[("ratelimit", "r=0")],
            &[("ratelimit-remaining", "none"), ("ratelimit-reset", "1")],
            &[("ratelimit-remaining", "-3")],
            &[("x-ratelimit-remaining", "1e3")],
            &[("ratelimit", r#""d";r=1234567890123456;t=1"#)],
        ] {
            assert_eq!(quota(pairs, ResetForm::DeltaSeconds), None, "{pairs:?}");
        }
        let bad_reset = quota(
            &[("ratelimit-remaining", "0"), ("ratelimit-reset", "soon")],
            ResetForm::DeltaSeconds,
        );
        assert_eq!(
            bad_reset.unwrap().reset,
            None,
            "remaining kept, reset unknown"
        );
        let huge = quota(
            &[
                ("ratelimit-remaining", "0"),
                ("ratelimit-reset", "99999999999999999999999"),
            ],
            ResetForm::DeltaSeconds,
        );
        assert_eq!(huge.unwrap().reset, Some(Duration::MAX));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use reqwest::header::HeaderValue;

    use super::*;

    const NAMES: [&str; 8] = FIELDS;

    proptest! {
        #[test]
        fn arbitrary_header_bytes_never_panic(
            values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..48), 8),
            epoch in any::<bool>(),
            now in any::<u64>(),
        ) {
            let mut headers = HeaderMap::new();
            for (name, value) in NAMES.iter().zip(&values) {
                if let Ok(value) = HeaderValue::from_bytes(value) {
                    headers.insert(HeaderName::from_static(name), value);
                }
            }
            let (remaining, reset) = (
                HeaderName::from_static("x-ratelimit-remaining"),
                HeaderName::from_static("x-ratelimit-reset"),
            );
            let form = if epoch { ResetForm::EpochSeconds } else { ResetForm::DeltaSeconds };
            let x = XNames { remaining: &remaining, reset: &reset, form };
            let now = SystemTime::UNIX_EPOCH + Duration::from_secs(now % 253_402_300_800);
            let _ = read(&headers, x, now);
        }

        #[test]
        fn draft_values_round_trip(r in 0..1_000_000u64, t in 0..1_000_000u64, name in "[a-z]{1,8}") {
            let value = format!("\"{name}\";r={r};t={t}");
            let quota = draft(&value, None).unwrap();
            prop_assert_eq!((quota.remaining, quota.reset), (r, Some(Duration::from_secs(t))));
        }
    }
}
