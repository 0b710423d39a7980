//! `Idempotency-Key` (IETF httpapi draft): one random key per call of a non-idempotent method,
//! the same on every attempt, so a server that supports it applies a repeated POST once.

use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, Request};

use crate::RetrySettings;

/// The header's name.
pub(crate) const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// Adds a key when the settings ask for one and the call may be retried after reaching the
/// server; a key the caller set is kept.
// Inlined with the call into the caller's crate, where the check costs nothing when the
// setting is off.
#[inline]
pub(crate) fn add_key(settings: &RetrySettings, max_retries: u32, request: &mut Request) {
    if settings.idempotency_key {
        add_key_if_resendable(settings, max_retries, request);
    }
}

fn add_key_if_resendable(settings: &RetrySettings, max_retries: u32, request: &mut Request) {
    let method = request.method();
    let non_idempotent = *method == Method::POST || *method == Method::PATCH;
    // Once keyed, may the request be sent again: by the rules, or by the server's word or a
    // classifier, which may retry a keyed request outside `allowed_methods`.
    let keyed_may_resend = settings.may_resend(method, true)
        || settings.should_retry_header.is_some()
        || settings.classify.is_some();
    let may_resend = max_retries > 0
        && keyed_may_resend
        && crate::replay::may_replay(request, settings.replay_limit);
    if non_idempotent && may_resend && !request.headers().contains_key(IDEMPOTENCY_KEY) {
        request.headers_mut().insert(IDEMPOTENCY_KEY, new_key());
    }
}

/// A random 128-bit value as a structured-field string: `"` + 32 hex digits + `"`.
fn new_key() -> HeaderValue {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness: a process-unique value is still better than no key.
        bytes = fastrand::u128(..).to_le_bytes();
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    HeaderValue::try_from(format!("\"{hex}\""))
        .expect("hex digits and quotes are a valid header value")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method) -> Request {
        Request::new(method, "http://127.0.0.1/".parse().unwrap())
    }

    fn settings() -> RetrySettings {
        RetrySettings {
            max_retries: 2,
            idempotency_key: true,
            ..RetrySettings::default()
        }
    }

    #[test]
    fn post_and_patch_get_a_fresh_key() {
        let mut first = request(Method::POST);
        let mut second = request(Method::PATCH);
        add_key(&settings(), 2, &mut first);
        add_key(&settings(), 2, &mut second);
        let (a, b) = (
            &first.headers()[IDEMPOTENCY_KEY],
            &second.headers()[IDEMPOTENCY_KEY],
        );
        assert_eq!(a.len(), 34);
        assert_ne!(a, b);
    }

    #[test]
    fn idempotent_methods_get_no_key() {
        for method in [Method::GET, Method::PUT, Method::DELETE] {
            let mut req = request(method);
            add_key(&settings(), 2, &mut req);
            assert!(!req.headers().contains_key(IDEMPOTENCY_KEY));
        }
    }

    #[test]
    fn no_key_when_off_or_never_retried() {
        let mut req = request(Method::POST);
        add_key(
            &RetrySettings {
                idempotency_key: false,
                ..settings()
            },
            2,
            &mut req,
        );
        add_key(&settings(), 0, &mut req);
        add_key(
            &RetrySettings {
                allowed_methods: vec![Method::GET],
                ..settings()
            },
            2,
            &mut req,
        );
        assert!(!req.headers().contains_key(IDEMPOTENCY_KEY));
    }

    #[test]
    fn callers_key_kept() {
        let mut req = request(Method::POST);
        req.headers_mut()
            .insert(IDEMPOTENCY_KEY, HeaderValue::from_static("mine"));
        add_key(&settings(), 2, &mut req);
        assert_eq!(req.headers()[IDEMPOTENCY_KEY], "mine");
    }
}
