//! Host-wide back-pressure (`share_retry_after`): after a host said `Retry-After`, every call of
//! the session to that host waits until then, instead of each hitting the rate limit on its own.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use reqwest::Url;

#[derive(Default)]
pub(crate) struct HostGate {
    closed_until: Mutex<HashMap<String, Instant>>,
}

impl HostGate {
    /// When the host of `url` may be called again, if it is closed now.
    pub(crate) fn closed_until(&self, url: &Url, now: Instant) -> Option<Instant> {
        let mut hosts = self
            .closed_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        hosts.retain(|_, until| *until > now);
        hosts.get(&origin(url)).copied()
    }

    /// Closes the host of `url` until `until` (a later closing wins).
    pub(crate) fn close(&self, url: &Url, until: Instant) {
        let mut hosts = self
            .closed_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = hosts.entry(origin(url)).or_insert(until);
        *entry = (*entry).max(until);
    }
}

fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn closed_per_origin_until_the_time_passes() {
        let gate = HostGate::default();
        let now = Instant::now();
        let a: Url = "http://127.0.0.1:1/x".parse().unwrap();
        let b: Url = "http://127.0.0.1:2/x".parse().unwrap();
        gate.close(&a, now + Duration::from_secs(2));
        assert_eq!(
            gate.closed_until(&"http://127.0.0.1:1/y".parse().unwrap(), now),
            Some(now + Duration::from_secs(2))
        );
        assert_eq!(gate.closed_until(&b, now), None);
        assert_eq!(gate.closed_until(&a, now + Duration::from_secs(3)), None);
    }
}
