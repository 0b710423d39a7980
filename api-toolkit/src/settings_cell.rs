//! Where a session keeps its settings: replaced by any clone, read by every call.
//!
//! Calls read the settings through a small per-thread cache. A hit costs one atomic load and
//! the `Arc` clone the call keeps, where arc-swap's `load_full` would add two more atomic
//! read-modify-writes (its debt slot) and about fifty instructions. A writer never waits for
//! a reader, and a reader never waits for a writer.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::policy::Active;

/// How many sessions' settings a thread keeps at once. Sessions are given slots in turn, so
/// a thread that alternates between this many sessions still hits.
const SLOTS: usize = 4;

/// Each cell's identity, never reused: a cached entry cannot be mistaken for a later cell's.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The settings this thread last read from the cells it uses, `id % SLOTS` each. An entry
    /// outlives its session until the slot is reused or the thread ends: a settings value, not
    /// a connection pool.
    static CACHE: RefCell<[Option<Cached>; SLOTS]> = const { RefCell::new([const { None }; SLOTS]) };
}

struct Cached {
    id: u64,
    version: u64,
    active: Arc<Active>,
}

/// A session's settings, replaced as a whole.
pub(crate) struct SettingsCell {
    id: u64,
    /// Counts the replacements; raised after the new value is stored, so a reader that sees a
    /// version then loads the value gets that version's value or a later one.
    version: AtomicU64,
    current: ArcSwap<Active>,
}

impl SettingsCell {
    pub(crate) fn new(active: Active) -> SettingsCell {
        SettingsCell {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            version: AtomicU64::new(0),
            current: ArcSwap::from_pointee(active),
        }
    }

    /// The settings in force, for a call that starts now.
    #[inline]
    pub(crate) fn load(&self) -> Arc<Active> {
        let version = self.version.load(Ordering::Acquire);
        let slot = (self.id % SLOTS as u64) as usize;
        let hit = CACHE.try_with(|cache| {
            let cache = cache.borrow();
            match &cache[slot] {
                Some(cached) if cached.id == self.id && cached.version == version => {
                    Some(Arc::clone(&cached.active))
                }
                _ => None,
            }
        });
        match hit {
            Ok(Some(active)) => active,
            _ => self.load_and_cache(slot, version),
        }
    }

    #[cold]
    fn load_and_cache(&self, slot: usize, version: u64) -> Arc<Active> {
        let active = self.current.load_full();
        // Fails only while the thread's locals are being destroyed: the value is then not kept.
        let _ = CACHE.try_with(|cache| {
            cache.borrow_mut()[slot] = Some(Cached {
                id: self.id,
                version,
                active: Arc::clone(&active),
            });
        });
        active
    }

    /// The settings in force, borrowed: for a quick look (a copy, `Debug`).
    pub(crate) fn peek(&self) -> arc_swap::Guard<Arc<Active>> {
        self.current.load()
    }

    /// Replaces the settings for the calls that start from now on.
    pub(crate) fn store(&self, active: Active) {
        self.current.store(Arc::new(active));
        self.version.fetch_add(1, Ordering::Release);
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
        // A cell made now may reuse a dropped cell's memory, never its identity.
        let fresh = SettingsCell::new(with_retries(99));
        assert_eq!(fresh.load().settings.max_retries, 99);
    }
}
