//! What a server says about retrying, read from a response's headers once, through one parser:
//! `Retry-After`, `retry-after-ms`, a should-retry header, and rate-limit headers.
//!
//! Headers are picked out when an attempt ends ([`Raw::read`]), and parsed against the clock
//! only when a retry is wanted ([`wait`]).

pub(crate) mod quota;
pub(crate) mod rate_limit;
pub(crate) mod retry_after;

use std::fmt;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

use crate::RetrySettings;

/// The hint headers of a response that the settings read, unparsed: only those
/// ([`Raw::read`]), so that the decision need not ask the settings again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Raw<'a> {
    /// `Retry-After`, always picked out: its presence matters even when it is not honoured.
    pub(crate) retry_after: Option<&'a [u8]>,
    /// `retry-after-ms`, with `respect_retry_after_ms`.
    pub(crate) retry_after_ms: Option<&'a [u8]>,
    /// The rate-limit reset, for a status the hint applies to and a response saying that
    /// nothing remains.
    pub(crate) reset: Option<&'a [u8]>,
    /// The status is one `rate_limit_reset` applies to, and nothing remains or the response
    /// carries a `Retry-After`: it is retryable.
    pub(crate) rate_limited: bool,
    /// The should-retry header's verdict, if it holds `true` or `false`.
    pub(crate) should_retry: Option<bool>,
}

impl<'a> Raw<'a> {
    /// Picks out the headers of a response with `status` that `settings` read.
    pub(crate) fn read(headers: &'a HeaderMap, status: u16, settings: &RetrySettings) -> Self {
        let bytes = |value: &'a HeaderValue| value.as_bytes();
        let mut raw = Raw {
            retry_after: headers.get(RETRY_AFTER).map(bytes),
            ..Raw::default()
        };
        if settings.respect_retry_after_ms {
            raw.retry_after_ms = headers.get(RETRY_AFTER_MS).map(bytes);
        }
        if let Some(reset) = &settings.rate_limit_reset {
            if reset.statuses.contains(&status) {
                let spent = headers
                    .get(&reset.remaining_header)
                    .is_some_and(|v| rate_limit::nothing_remains(v.as_bytes()));
                raw.rate_limited = spent || raw.retry_after.is_some_and(|v| !v.is_empty());
                if spent {
                    raw.reset = headers.get(&reset.header).map(bytes);
                }
            }
        }
        if let Some(name) = &settings.should_retry_header {
            raw.should_retry = headers.get(name).and_then(|v| should_retry(v.as_bytes()));
        }
        raw
    }

    /// Whether a `Retry-After` or `retry-after-ms` that the settings honour is present and not
    /// empty: it makes a 413, 429 or 503 retryable.
    pub(crate) fn asks_to_wait(&self, settings: &RetrySettings) -> bool {
        let present = |v: Option<&[u8]>| v.is_some_and(|v| !v.is_empty());
        settings.respect_retry_after_header
            && (present(self.retry_after) || present(self.retry_after_ms))
    }
}

/// `retry-after-ms`, as OpenAI and Azure send it.
const RETRY_AFTER_MS: &str = "retry-after-ms";

/// A should-retry value: `true` or `false` in any case, with white space; anything else says
/// nothing.
fn should_retry(value: &[u8]) -> Option<bool> {
    let value = value.trim_ascii();
    if value.eq_ignore_ascii_case(b"true") {
        Some(true)
    } else if value.eq_ignore_ascii_case(b"false") {
        Some(false)
    } else {
        None
    }
}

/// The wait the server asked for, as the settings read it: `retry-after-ms`, else
/// `Retry-After` (when honoured), else the rate-limit reset. The first valid one wins; a
/// malformed one is skipped as if it were absent.
pub(crate) fn wait(raw: &Raw<'_>, settings: &RetrySettings, now: SystemTime) -> Option<ServerHint> {
    let hint = |header, wait: Option<Duration>| wait.map(|wait| ServerHint { header, wait });
    let honoured = settings.respect_retry_after_header;
    let ms = || {
        raw.retry_after_ms
            .and_then(retry_after::parse_retry_after_ms)
    };
    let seconds = || {
        raw.retry_after
            .and_then(|v| retry_after::parse_retry_after(v, now))
    };
    let reset = || {
        let form = settings.rate_limit_reset.as_ref()?.form;
        raw.reset
            .and_then(|v| rate_limit::parse_reset(v, form, now))
    };
    honoured
        .then(|| {
            hint(HintHeader::RetryAfterMs, ms()).or_else(|| hint(HintHeader::RetryAfter, seconds()))
        })
        .flatten()
        .or_else(|| hint(HintHeader::RateLimitReset, reset()))
}

/// A decimal number without sign or exponent (`120`, `1.5`), with surrounding white space.
fn decimal(value: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
        return None;
    }
    // Too many digits for an f64 parse to infinity: a very long wait, capped by the caller.
    text.parse().ok()
}

/// A wait a server asked for, and the header it came from: see
/// [`CallRecord::last_hint`](crate::CallRecord::last_hint).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use api_toolkit::{CallRecord, HintHeader, RetrySettings, Session, WaitSource};
/// # use std::io::{Read, Write};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let url = format!("http://{}/chat", listener.local_addr()?);
/// # std::thread::spawn(move || {
/// #     for reply in ["429 Too Many Requests\r\nretry-after-ms: 20", "200 OK"] {
/// #         let (mut stream, _) = listener.accept().unwrap();
/// #         let _ = stream.read(&mut [0; 4096]);
/// #         let head = format!("HTTP/1.1 {reply}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
/// #         stream.write_all(head.as_bytes()).unwrap();
/// #     }
/// # });
///
/// let settings = RetrySettings { max_retries: 1, respect_retry_after_ms: true, ..RetrySettings::default() };
/// let response = Session::new(settings)?.post(url).send().await?;
/// let record = CallRecord::of(&response);
/// let hint = record.last_hint().expect("the 429 asked for a wait");
/// assert_eq!((hint.header(), hint.wait()), (HintHeader::RetryAfterMs, Duration::from_millis(20)));
/// assert_eq!(record.attempts()[1].wait_source(), WaitSource::RetryAfterMs);
/// println!("{hint}"); // retry-after-ms asked for 20ms
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ServerHint {
    header: HintHeader,
    wait: Duration,
}

impl ServerHint {
    #[cfg(test)]
    pub(crate) fn new(header: HintHeader, wait: Duration) -> Self {
        ServerHint { header, wait }
    }

    /// The header the wait was read from.
    pub fn header(&self) -> HintHeader {
        self.header
    }

    /// The wait, as the server asked for it (before `retry_after_max`).
    pub fn wait(&self) -> Duration {
        self.wait
    }
}

impl fmt::Display for ServerHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} asked for {:?}", self.header, self.wait)
    }
}

/// Which header a [`ServerHint`] came from.
///
/// # Examples
///
/// ```
/// use api_toolkit::HintHeader;
///
/// assert_eq!(HintHeader::RetryAfter.to_string(), "Retry-After");
/// assert_eq!(HintHeader::RetryAfterMs.to_string(), "retry-after-ms");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HintHeader {
    /// `Retry-After`.
    RetryAfter,
    /// `retry-after-ms` ([`respect_retry_after_ms`](crate::RetrySettings::respect_retry_after_ms)).
    RetryAfterMs,
    /// The rate-limit reset header ([`rate_limit_reset`](crate::RetrySettings::rate_limit_reset)).
    RateLimitReset,
}

impl fmt::Display for HintHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HintHeader::RetryAfter => "Retry-After",
            HintHeader::RetryAfterMs => "retry-after-ms",
            HintHeader::RateLimitReset => "the rate-limit reset",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RateLimitReset;

    #[test]
    fn decimals_without_sign_or_exponent() {
        assert_eq!(decimal(b" 15 "), Some(15.0));
        assert_eq!(decimal(b"1.5"), Some(1.5));
        for bad in [
            &b""[..],
            b".",
            b"1.",
            b".5",
            b"-1",
            b"+1",
            b"1e3",
            b"1.2.3",
            b"1 2",
            b"inf",
            b"NaN",
        ] {
            assert_eq!(decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn should_retry_values() {
        assert_eq!(should_retry(b"true"), Some(true));
        assert_eq!(should_retry(b" FALSE "), Some(false));
        assert_eq!(should_retry(b"True"), Some(true));
        for other in [&b"yes"[..], b"1", b"", b"truee"] {
            assert_eq!(should_retry(other), None);
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.parse().unwrap(), HeaderValue::from_static(v)))
            .collect()
    }

    fn hinted() -> RetrySettings {
        RetrySettings {
            respect_retry_after_ms: true,
            rate_limit_reset: Some(RateLimitReset::github()),
            should_retry_header: Some("x-should-retry".parse().unwrap()),
            ..RetrySettings::default()
        }
    }

    #[test]
    fn retry_after_ms_wins_then_retry_after_then_reset() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let s = hinted();
        let all = headers(&[
            ("retry-after-ms", "250"),
            ("retry-after", "3"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "160"),
        ]);
        let raw = Raw::read(&all, 429, &s);
        assert_eq!(
            wait(&raw, &s, now),
            Some(ServerHint {
                header: HintHeader::RetryAfterMs,
                wait: Duration::from_millis(250)
            })
        );
        let no_ms = headers(&[
            ("retry-after-ms", "soon"),
            ("retry-after", "3"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "160"),
        ]);
        let raw = Raw::read(&no_ms, 429, &s);
        assert_eq!(
            wait(&raw, &s, now).unwrap().header(),
            HintHeader::RetryAfter,
            "a malformed one is skipped"
        );
        let ignored = RetrySettings {
            respect_retry_after_header: false,
            ..s.clone()
        };
        let raw = Raw::read(&all, 429, &ignored);
        assert_eq!(
            wait(&raw, &ignored, now),
            Some(ServerHint {
                header: HintHeader::RateLimitReset,
                wait: Duration::from_secs(60)
            })
        );
        let off = RetrySettings {
            respect_retry_after_ms: false,
            ..s
        };
        let raw = Raw::read(&all, 429, &off);
        assert_eq!(
            wait(&raw, &off, now).unwrap().header(),
            HintHeader::RetryAfter,
            "retry-after-ms is opt-in"
        );
    }

    #[test]
    fn reset_read_only_for_its_statuses_when_nothing_remains() {
        let s = hinted();
        let spent = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "160")]);
        assert!(Raw::read(&spent, 403, &s).rate_limited);
        assert!(Raw::read(&spent, 403, &s).reset.is_some());
        assert!(
            !Raw::read(&spent, 500, &s).rate_limited,
            "not one of its statuses"
        );
        assert!(Raw::read(&spent, 500, &s).reset.is_none());
        let left = headers(&[
            ("x-ratelimit-remaining", "12"),
            ("x-ratelimit-reset", "160"),
        ]);
        assert!(!Raw::read(&left, 403, &s).rate_limited);
        assert!(
            Raw::read(&left, 403, &s).reset.is_none(),
            "the quota is not spent"
        );
        let secondary = headers(&[("x-ratelimit-remaining", "12"), ("retry-after", "60")]);
        assert!(
            Raw::read(&secondary, 403, &s).rate_limited,
            "a Retry-After on one of its statuses"
        );
        assert!(!Raw::read(&spent, 403, &RetrySettings::default()).rate_limited);
    }
}
