//! What outlives a call: state shared by the clones of a session, kept per host.
//!
//! A host is an origin (scheme, host, port). [`HostStore`] keeps one value per origin, in
//! process, with a cap on how many origins it tracks: a client that calls many hosts (a crawler,
//! a webhook sender) must not grow without bound. The breaker is its first user; the pause after
//! `Retry-After`, pacing and a remote store are meant to follow the same shape.

pub(crate) mod breaker;
pub(crate) mod latency;
pub(crate) mod pacing;
pub(crate) mod throttle;
mod window;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use reqwest::Url;
use url::Position;

use crate::record::AttemptOutcome;
use crate::{CircuitBreaker, RetrySettings, Throttling};

/// What an attempt's outcome says about its host, to the breaker and the throttle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    Success,
    Failure,
    /// Says nothing (the user's own service failed): a probe's place is given back.
    Neutral,
}

/// Which outcomes are failures: the `count_*` fields that the breaker and the throttle share.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Failures {
    statuses: bool,
    connection_failures: bool,
    timeouts: bool,
}

impl From<&CircuitBreaker> for Failures {
    fn from(b: &CircuitBreaker) -> Self {
        Failures {
            statuses: b.count_statuses,
            connection_failures: b.count_connection_failures,
            timeouts: b.count_timeouts,
        }
    }
}

impl From<&Throttling> for Failures {
    fn from(t: &Throttling) -> Self {
        Failures {
            statuses: t.count_statuses,
            connection_failures: t.count_connection_failures,
            timeouts: t.count_timeouts,
        }
    }
}

impl Signal {
    /// What `outcome` says by `failures`' rules: a status of `settings`' `status_forcelist`,
    /// a connection failure, a timeout, each if counted.
    pub(crate) fn of(
        outcome: AttemptOutcome,
        settings: &RetrySettings,
        failures: impl Into<Failures>,
    ) -> Signal {
        let counted = failures.into();
        let failed = match outcome {
            AttemptOutcome::Status(status) => counted.statuses && settings.forces(status.as_u16()),
            AttemptOutcome::Connect
            | AttemptOutcome::ConnectAfterRedirect
            | AttemptOutcome::Closed => counted.connection_failures,
            AttemptOutcome::Timeout => counted.timeouts,
            // A request reqwest refused, or the user's own code failing, says nothing of
            // the host.
            // A cancelled hedge ended for the call's sake, not the host's.
            AttemptOutcome::Other | AttemptOutcome::Service | AttemptOutcome::Cancelled => {
                return Signal::Neutral
            }
        };
        if failed {
            Signal::Failure
        } else {
            Signal::Success
        }
    }
}

/// The key of the origin of `url`: `http://127.0.0.1:8080`.
///
/// Borrowed from the URL when its text up to the path is already the origin's serialization:
/// an http or https URL without credentials, whose parser lowercased the host, wrote it in ASCII
/// and dropped a default port. Building the origin instead allocates and formats the host, which
/// is most of what a per-host lookup costs a call.
pub(crate) fn origin_key(url: &Url) -> Cow<'_, str> {
    if matches!(url.scheme(), "http" | "https")
        && url.username().is_empty()
        && url.password().is_none()
    {
        return Cow::Borrowed(&url[..Position::AfterPort]);
    }
    Cow::Owned(url.origin().ascii_serialization())
}

/// The most origins a store tracks by default.
pub(crate) const MAX_HOSTS: usize = 4096;

/// One value per origin, created on first use, shared by the calls that hold it.
///
/// Bounded: when it is full, the least recently used quarter of its origins is forgotten at
/// once (one scan per `cap / 4` new origins, rather than one per lookup). A call that still
/// holds a forgotten value finishes with it; the next call to that origin starts afresh.
pub(crate) struct HostStore<T> {
    cap: usize,
    inner: Mutex<Entries<T>>,
}

struct Entries<T> {
    map: HashMap<Box<str>, Slot<T>, foldhash::fast::RandomState>,
    /// Counts lookups: a slot's `used` is the tick of its last one.
    tick: u64,
}

struct Slot<T> {
    value: Arc<T>,
    used: u64,
}

impl<T> HostStore<T> {
    /// A store that tracks at most `cap` origins (at least 4).
    pub(crate) fn new(cap: usize) -> Self {
        HostStore {
            cap: cap.max(4),
            inner: Mutex::new(Entries {
                map: HashMap::default(),
                tick: 0,
            }),
        }
    }

    /// The value of `key`, made with `make` if the store has none.
    pub(crate) fn get(&self, key: &str, make: impl FnOnce() -> T) -> Arc<T> {
        let mut entries = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.tick += 1;
        let tick = entries.tick;
        if let Some(slot) = entries.map.get_mut(key) {
            slot.used = tick;
            return Arc::clone(&slot.value);
        }
        if entries.map.len() >= self.cap {
            evict(&mut entries.map, self.cap / 4);
        }
        let value = Arc::new(make());
        entries.map.insert(
            key.into(),
            Slot {
                value: Arc::clone(&value),
                used: tick,
            },
        );
        value
    }

    /// How many origins the store tracks now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner
            .lock()
            .map(|entries| entries.map.len())
            .unwrap_or(0)
    }
}

/// Forgets the `count` least recently used slots.
#[cold]
fn evict<T, S>(map: &mut HashMap<Box<str>, Slot<T>, S>, count: usize) {
    let mut used: Vec<u64> = map.values().map(|slot| slot.used).collect();
    let Some(index) = count.checked_sub(1).filter(|&i| i < used.len()) else {
        return;
    };
    let (_, &mut threshold, _) = used.select_nth_unstable(index);
    // Ticks are unique, so exactly `count` slots are at or below the threshold.
    map.retain(|_, slot| slot.used > threshold);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_the_origin_s_serialization() {
        for url in [
            "http://127.0.0.1:8080/a/b?q#f",
            "https://API.Example.COM/x",
            "https://api.example.com:443/x",
            "http://example.com:80",
            "http://example.com:8443?q",
            "http://[::1]:9/",
            "https://bücher.example/",
            "https://user:secret@example.com:444/x",
            "https://user@example.com/x",
            "file:///etc/hosts",
            "data:text/plain,x",
        ] {
            let url: Url = url.parse().unwrap();
            assert_eq!(
                origin_key(&url),
                url.origin().ascii_serialization(),
                "{url}"
            );
        }
        let plain: Url = "http://example.com/x".parse().unwrap();
        assert!(
            matches!(origin_key(&plain), Cow::Borrowed(_)),
            "no allocation"
        );
    }

    #[test]
    fn one_value_per_origin() {
        let store = HostStore::<u8>::new(16);
        let key = |url: &str| origin_key(&url.parse().unwrap()).into_owned();
        let a = store.get(&key("http://127.0.0.1:1/x"), || 1);
        let again = store.get(&key("http://127.0.0.1:1/y?q"), || 2);
        let b = store.get(&key("http://127.0.0.1:2/x"), || 3);
        assert!(Arc::ptr_eq(&a, &again), "one origin, whatever the path");
        assert_eq!((*a, *b), (1, 3));
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn the_least_recently_used_are_forgotten() {
        let store = HostStore::<u32>::new(8);
        for i in 0..8 {
            store.get(&format!("http://h{i}"), || i);
        }
        // h0 is used again: h1 and h2 are now the oldest.
        store.get("http://h0", || 99);
        store.get("http://new", || 8);
        assert_eq!(store.len(), 7, "a quarter forgotten, one added");
        assert_eq!(*store.get("http://h0", || 99), 0, "kept: used lately");
        assert_eq!(*store.get("http://h1", || 99), 99, "forgotten: made again");
    }

    /// 100,000 distinct origins: the store's length never passes its cap, and its map's
    /// capacity (the memory it holds: its table, which grows once because of the tombstones
    /// evictions leave) stays within a small multiple of the cap.
    #[test]
    fn memory_stays_bounded_over_100_000_hosts() {
        let store = HostStore::<breaker::HostBreaker>::new(MAX_HOSTS);
        let now = tokio::time::Instant::now();
        let capacity = || store.inner.lock().unwrap().map.capacity();
        let (mut most, mut largest) = (0, 0);
        for i in 0..100_000u32 {
            let key = format!("http://host-{i}.example:443");
            let _ = store.get(&key, || breaker::HostBreaker::new(&key, now));
            most = most.max(store.len());
            largest = largest.max(capacity());
        }
        assert!(most <= MAX_HOSTS, "{most}");
        assert!(largest <= 4 * MAX_HOSTS, "{largest}");
    }
}
