//! The state of a retry budget shared by the clones of a session (its settings are
//! [`RetryBudget`]).
//!
//! A sliding window of ten slots: each call deposits into the current slot, each retry withdraws
//! from the window's balance. Touched only when a budget is configured.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::RetryBudget;

const SLOTS: usize = 10;

pub(crate) struct BudgetState {
    epoch: Instant,
    slots: Mutex<[Slot; SLOTS]>,
}

#[derive(Clone, Copy, Default)]
struct Slot {
    /// The slot's number since `epoch`; a slot whose number is stale is empty.
    number: u64,
    calls: u64,
    retries: u64,
}

impl BudgetState {
    pub(crate) fn new() -> Self {
        BudgetState {
            epoch: Instant::now(),
            slots: Mutex::new([Slot::default(); SLOTS]),
        }
    }

    /// Counts a call.
    pub(crate) fn deposit(&self, budget: &RetryBudget, now: Instant) {
        let number = self.slot_number(budget, now);
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        current(&mut slots, number).calls += 1;
    }

    /// Takes one retry from the budget; false if none is left.
    pub(crate) fn withdraw(&self, budget: &RetryBudget, now: Instant) -> bool {
        let number = self.slot_number(budget, now);
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let live = slots
            .iter()
            .filter(|slot| slot.number + SLOTS as u64 > number);
        let (calls, retries) = live.fold((0u64, 0u64), |(c, r), slot| {
            (c + slot.calls, r + slot.retries)
        });
        let floor = f64::from(budget.min_per_second) * budget.window.as_secs_f64();
        let allowed = calls as f64 * budget.ratio + floor;
        if (retries + 1) as f64 > allowed {
            return false;
        }
        current(&mut slots, number).retries += 1;
        true
    }

    fn slot_number(&self, budget: &RetryBudget, now: Instant) -> u64 {
        let slot = (budget.window / SLOTS as u32).max(Duration::from_millis(1));
        // +SLOTS so that no live slot is numbered below the empty slots' 0.
        (now.saturating_duration_since(self.epoch).as_nanos() / slot.as_nanos()) as u64
            + SLOTS as u64
    }
}

fn current(slots: &mut [Slot; SLOTS], number: u64) -> &mut Slot {
    let slot = &mut slots[(number % SLOTS as u64) as usize];
    if slot.number != number {
        *slot = Slot {
            number,
            calls: 0,
            retries: 0,
        };
    }
    slot
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(ratio: f64, min_per_second: u32) -> RetryBudget {
        RetryBudget {
            ratio,
            min_per_second,
            window: Duration::from_secs(10),
        }
    }

    #[test]
    fn retries_limited_to_ratio_of_calls() {
        let state = BudgetState::new();
        let b = budget(0.2, 0);
        let now = Instant::now();
        for _ in 0..100 {
            state.deposit(&b, now);
        }
        let granted = (0..100).filter(|_| state.withdraw(&b, now)).count();
        assert_eq!(granted, 20);
    }

    #[test]
    fn floor_allows_retries_without_traffic() {
        let state = BudgetState::new();
        let b = budget(0.0, 1);
        let now = Instant::now();
        let granted = (0..100).filter(|_| state.withdraw(&b, now)).count();
        assert_eq!(granted, 10, "1 a second over a 10 s window");
    }

    #[test]
    fn deposits_expire_after_window() {
        let state = BudgetState::new();
        let b = budget(1.0, 0);
        let start = Instant::now();
        for _ in 0..10 {
            state.deposit(&b, start);
        }
        assert!(state.withdraw(&b, start + Duration::from_secs(5)));
        assert!(
            !state.withdraw(&b, start + Duration::from_secs(11)),
            "the calls left the window"
        );
    }
}
