//! Two counts over a sliding window, in ten buckets (as the retry budget counts calls): a
//! bucket's worth of old events leaves the window at once, and memory stays fixed however many
//! events there are. The breaker counts attempts and failures in one, the throttle requests
//! and accepts.

use std::time::Duration;

use tokio::time::Instant;

const BUCKETS: usize = 10;

/// What a window (or one of its buckets) holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Every event: an attempt, a request.
    pub(crate) all: u32,
    /// The events of note among them: a failure, an accept.
    pub(crate) marked: u32,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.all = self.all.saturating_add(other.all);
        self.marked = self.marked.saturating_add(other.marked);
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Bucket {
    /// The bucket's number since `epoch`; a bucket whose number is stale is empty.
    number: u64,
    counts: Counts,
}

/// [`Counts`] over the last `window` (given on each use: the settings may change).
#[derive(Clone, Debug)]
pub(crate) struct Window {
    epoch: Instant,
    buckets: [Bucket; BUCKETS],
    /// The counts of the window that ends with the bucket last written: summed again only when
    /// that bucket changes, not on every event.
    totals: Bucket,
}

impl Window {
    pub(crate) fn new(now: Instant) -> Self {
        Window {
            epoch: now,
            buckets: [Bucket::default(); BUCKETS],
            totals: Bucket::default(),
        }
    }

    /// Forgets every event.
    pub(crate) fn clear(&mut self) {
        self.buckets = [Bucket::default(); BUCKETS];
        self.totals = Bucket::default();
    }

    /// Adds `counts` at `now`; returns the window's counts with them.
    pub(crate) fn add(&mut self, window: Duration, now: Instant, counts: Counts) -> Counts {
        let number = self.roll(window, now);
        let index = (number % BUCKETS as u64) as usize;
        let bucket = &mut self.buckets[index];
        if bucket.number != number {
            *bucket = Bucket {
                number,
                ..Bucket::default()
            };
        }
        bucket.counts.add(counts);
        self.totals.counts.add(counts);
        self.totals.counts
    }

    /// The window's counts at `now`.
    pub(crate) fn counts(&mut self, window: Duration, now: Instant) -> Counts {
        self.roll(window, now);
        self.totals.counts
    }

    /// The number of the bucket of `now`, with `totals` brought up to it.
    fn roll(&mut self, window: Duration, now: Instant) -> u64 {
        let width = (window / BUCKETS as u32).max(Duration::from_millis(1));
        // In u64 nanoseconds (584 years), whose division is a fraction of u128's.
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        // +BUCKETS so that no live bucket is numbered below the empty buckets' 0.
        let number =
            nanos(now.saturating_duration_since(self.epoch)) / nanos(width) + BUCKETS as u64;
        if self.totals.number != number {
            let mut counts = Counts::default();
            for b in &self.buckets {
                if b.number + BUCKETS as u64 > number && b.number <= number {
                    counts.add(b.counts);
                }
            }
            self.totals = Bucket { number, counts };
        }
        number
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: Counts = Counts { all: 1, marked: 1 };

    #[test]
    fn events_leave_the_window_a_bucket_at_a_time() {
        let window = Duration::from_secs(10);
        let now = Instant::now();
        let mut w = Window::new(now);
        w.add(window, now, ONE);
        w.add(
            window,
            now + Duration::from_secs(5),
            Counts { all: 2, marked: 0 },
        );
        assert_eq!(
            w.counts(window, now + Duration::from_millis(9_999)),
            Counts { all: 3, marked: 1 }
        );
        assert_eq!(
            w.counts(window, now + Duration::from_secs(10)),
            Counts { all: 2, marked: 0 }
        );
        assert_eq!(
            w.counts(window, now + Duration::from_secs(15)),
            Counts::default()
        );
        w.clear();
        assert_eq!(
            w.counts(window, now + Duration::from_secs(15)),
            Counts::default()
        );
    }
}
