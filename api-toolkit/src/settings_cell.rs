//! Where a session keeps its settings: replaced by any clone, read by every call.
//!
//! Calls read the settings through arc-swap's [`Cache`], one per thread and session. A hit
//! costs one plain atomic load (is the stored pointer still the cached one?) and the clone of
//! the `Arc` the call keeps, where `load_full` would add two more atomic read-modify-writes (its
//! debt slot) and about fifty instructions. A writer never waits for a reader, and a reader
//! never waits for a writer.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use arc_swap::{ArcSwap, Cache};

use crate::policy::Active;

/// How many sessions' settings a thread keeps at once. Sessions are given slots in turn, so
/// a thread that alternates between this many sessions still hits.
const SLOTS: usize = 4;

/// The slot of the next cell made.
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

/// A thread's cache of one cell's settings.
type Cached = Cache<Arc<ArcSwap<Active>>, Arc<Active>>;

thread_local! {
    /// The caches of the cells this thread reads, in their slots. A cache outlives its session
    /// until the slot is reused or the thread ends: a settings value, not a connection pool.
    static CACHES: RefCell<[Option<Cached>; SLOTS]> =
        const { RefCell::new([const { None }; SLOTS]) };
}

/// A session's settings, replaced as a whole.
pub(crate) struct SettingsCell {
    current: Arc<ArcSwap<Active>>,
    slot: usize,
}

impl SettingsCell {
    pub(crate) fn new(active: Active) -> SettingsCell {
        SettingsCell {
            current: Arc::new(ArcSwap::from_pointee(active)),
            slot: NEXT_SLOT.fetch_add(1, Ordering::Relaxed) % SLOTS,
        }
    }

    /// The settings in force, for a call that starts now.
    #[inline]
    pub(crate) fn load(&self) -> Arc<Active> {
        // Fails only while the thread's locals are being destroyed: nothing is cached then.
        CACHES
            .try_with(|caches| {
                let mut caches = caches.borrow_mut();
                // A cache holds its cell: while it is in the slot, no other cell has its address.
                match &mut caches[self.slot] {
                    Some(cache) if std::ptr::eq(cache.arc_swap(), &*self.current) => {
                        Arc::clone(cache.load())
                    }
                    slot => self.fill(slot),
                }
            })
            .unwrap_or_else(|_| self.current.load_full())
    }

    /// A miss: the slot gets a cache of this cell, in place of another cell's or none.
    #[cold]
    fn fill(&self, slot: &mut Option<Cached>) -> Arc<Active> {
        Arc::clone(slot.insert(Cache::new(Arc::clone(&self.current))).load())
    }

    /// The settings in force, borrowed: for a quick look (a copy, `Debug`).
    pub(crate) fn peek(&self) -> arc_swap::Guard<Arc<Active>> {
        self.current.load()
    }

    /// Replaces the settings for the calls that start from now on.
    pub(crate) fn store(&self, active: Active) {
        self.current.store(Arc::new(active));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RetrySettings;

    fn with_retries(max_retries: u32) -> Active {
        Active::new(RetrySettings {
            max_retries,
            ..RetrySettings::default()
        })
    }

    #[test]
    fn a_replacement_is_seen_by_the_next_load_on_every_thread() {
        let cell = Arc::new(SettingsCell::new(with_retries(1)));
        assert_eq!(cell.load().settings.max_retries, 1);
        assert_eq!(cell.load().settings.max_retries, 1, "from the cache");
        let other = Arc::clone(&cell);
        std::thread::spawn(move || assert_eq!(other.load().settings.max_retries, 1))
            .join()
            .unwrap();

        cell.store(with_retries(2));
        assert_eq!(cell.load().settings.max_retries, 2);
        let other = Arc::clone(&cell);
        std::thread::spawn(move || {
            assert_eq!(other.load().settings.max_retries, 2);
            other.store(with_retries(3));
        })
        .join()
        .unwrap();
        assert_eq!(cell.load().settings.max_retries, 3);
    }

    #[test]
    fn readers_racing_a_writer_never_go_back_and_end_on_the_last_value() {
        const LAST: u32 = 2_000;
        let cell = Arc::new(SettingsCell::new(with_retries(0)));
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let cell = Arc::clone(&cell);
                std::thread::spawn(move || {
                    let mut seen = 0;
                    while seen < LAST {
                        let now = cell.load().settings.max_retries;
                        assert!(now >= seen, "went back from {seen} to {now}");
                        seen = now;
                    }
                })
            })
            .collect();
        for n in 1..=LAST {
            cell.store(with_retries(n));
        }
        for reader in readers {
            reader.join().unwrap();
        }
        assert_eq!(cell.load().settings.max_retries, LAST);
    }

    #[test]
    fn cells_sharing_a_slot_do_not_see_each_others_settings() {
        let cells: Vec<SettingsCell> = (0..3 * SLOTS as u32)
            .map(|n| SettingsCell::new(with_retries(n)))
            .collect();
        for _ in 0..2 {
            for (n, cell) in cells.iter().enumerate() {
                assert_eq!(cell.load().settings.max_retries, n as u32);
            }
        }
        drop(cells);
        // A cell made now takes a slot a dropped cell used.
        let fresh = SettingsCell::new(with_retries(99));
        assert_eq!(fresh.load().settings.max_retries, 99);
    }
}
