//! Host-wide back-pressure (`share_retry_after`): after a host said `Retry-After`, every call of
//! the session to that host waits until then, instead of each hitting the rate limit on its own.
//!
//! A host is an origin (scheme, host, port), keyed by the URL a call is sent to: the only one a
//! call knows before it sends, so a `Retry-After` that came through a redirect holds back the
//! origin the call started at, where the session's next such call will go.

use std::collections::HashMap;
use std::sync::Mutex;
use tokio::time::Instant;

use reqwest::Url;

#[derive(Default)]
pub(crate) struct HostGate {
    closed_until: Mutex<HashMap<String, Instant>>,
}

impl HostGate {
    /// The key of the origin of `url`.
    pub(crate) fn key(url: &Url) -> String {
        crate::state::origin_key(url).into_owned()
    }

    /// When the host `key` may be called again, if it is closed now.
    pub(crate) fn closed_until(&self, key: &str, now: Instant) -> Option<Instant> {
        let mut hosts = self
            .closed_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        hosts.retain(|_, until| *until > now);
        hosts.get(key).copied()
    }

    /// Closes the host `key` until `until` (a later closing wins).
    pub(crate) fn close(&self, key: &str, until: Instant) {
        let mut hosts = self
            .closed_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match hosts.get_mut(key) {
            Some(entry) => *entry = (*entry).max(until),
            None => {
                hosts.insert(key.to_owned(), until);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn closed_per_origin_until_the_time_passes() {
        let gate = HostGate::default();
        let now = Instant::now();
        let key = |url: &str| HostGate::key(&url.parse().unwrap());
        let (a, b) = (key("http://127.0.0.1:1/x"), key("http://127.0.0.1:2/x"));
        gate.close(&a, now + Duration::from_secs(2));
        gate.close(&a, now + Duration::from_secs(1));
        assert_eq!(
            gate.closed_until(&key("http://127.0.0.1:1/y"), now),
            Some(now + Duration::from_secs(2)),
            "one origin, whatever the path; the later closing wins"
        );
        assert_eq!(gate.closed_until(&b, now), None);
        assert_eq!(gate.closed_until(&a, now + Duration::from_secs(3)), None);
    }
}
