//! The simulation's wall clock and chance: the engine asks here instead of `SystemTime::now()`
//! and `fastrand`, and gets the real ones unless a simulation runs on this thread.

use std::cell::Cell;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

thread_local! {
    /// While a simulation runs on this thread: when it started, on tokio's paused clock, and
    /// its jitter's generator.
    static VIRTUAL: Cell<Option<(Instant, u64)>> = const { Cell::new(None) };
}

/// The wall clock: virtual during a simulation ([`START_UNIX_SECS`](super::START_UNIX_SECS)
/// plus the virtual time since it started), the system's otherwise.
pub(crate) fn wall_now() -> SystemTime {
    match VIRTUAL.get() {
        Some((started, _)) => {
            SystemTime::UNIX_EPOCH + Duration::from_secs(super::START_UNIX_SECS) + started.elapsed()
        }
        None => SystemTime::now(),
    }
}

/// A draw from `[0, 1)` for the jitter: from a fixed seed during a simulation, so that it
/// always gives the same record.
pub(crate) fn jitter_unit() -> f64 {
    match VIRTUAL.get() {
        Some((started, seed)) => {
            let mut rng = fastrand::Rng::with_seed(seed);
            let unit = rng.f64();
            VIRTUAL.set(Some((started, rng.u64(..))));
            unit
        }
        None => fastrand::f64(),
    }
}

/// The virtual clock of one simulation, for as long as it is held.
pub(super) struct Virtual;

impl Virtual {
    pub(super) fn start() -> Virtual {
        VIRTUAL.set(Some((Instant::now(), 0x5eed)));
        Virtual
    }
}

impl Drop for Virtual {
    fn drop(&mut self) {
        VIRTUAL.set(None);
    }
}
