//! A fleet: the per-host state of many processes shared through one store.
//!
//! A session keeps its hosts' state in process ([`crate::state`]): the pause a `Retry-After`
//! asked for, what remains of a quota, the circuit breakers, the retry budget. A [`Link`] to a
//! fleet (feature `redis`, [`Fleet`]) makes each of these the fleet's, at the points where a
//! call must wait or decide, never on the success path:
//!
//! | State | Written | Read |
//! |---|---|---|
//! | a host's hold (`Retry-After`) | when a host asks for a pause | pushed to every worker at once |
//! | a host's open breaker | when a breaker opens | pushed to every worker at once |
//! | a host's quota (pacing) | from each response that states it | when a worker's lease of it runs out |
//! | the retry budget | calls batched every 100 ms | when a retry is decided |
//!
//! Without the feature, [`Link`] has no value: the engine's fleet branches compile to nothing.

#[cfg(feature = "redis")]
mod fallback;
#[cfg(feature = "redis")]
mod redis_store;
#[cfg(feature = "redis")]
mod scripts;

use std::future::Future;
use std::pin::Pin;
#[cfg(feature = "redis")]
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::session::Shared;
use crate::state::breaker::HostBreaker;

#[cfg(feature = "redis")]
pub use redis_store::{Fleet, FleetBuilder};

/// A boxed future: a fleet's round trips run only where a call waits or decides, so only
/// those calls pay for the room they take.
pub(crate) type Pending<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the fleet granted of a host's quota.
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Claim {
    /// `units` (at least one, this attempt's among them), good for `valid_for` (the window's
    /// reset).
    Granted { units: u64, valid_for: Duration },
    /// The fleet's quota is spent for `for_` more.
    Spent { for_: Duration },
    /// The fleet knows nothing of the host's quota now (`counted`: the attempt was counted as
    /// sent unknown) or could not be asked: the local state decides.
    Unknown { counted: bool },
}

/// What a response said of its host's quota, for the fleet.
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Observation {
    pub(crate) remaining: u64,
    /// The time left in the window.
    pub(crate) reset: Duration,
    /// The quota per window, when stated.
    pub(crate) limit: Option<u64>,
}

/// What a session hears from the fleet: another worker's news about a host.
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) trait Listener: Send + Sync {
    /// A host asked for a pause of `for_`.
    fn held(&self, origin: &str, for_: Duration);
    /// A worker's breaker of a host opened for `for_`.
    fn opened(&self, origin: &str, for_: Duration);
}

impl Listener for Shared {
    fn held(&self, origin: &str, for_: Duration) {
        self.host_gate
            .close(origin, crate::wait::later(Instant::now(), for_));
    }

    fn opened(&self, origin: &str, for_: Duration) {
        // Only sessions with a breaker keep one per host.
        if self.settings_now().settings.circuit_breaker.is_none() {
            return;
        }
        let now = Instant::now();
        let host = self.breakers.get(origin, || HostBreaker::new(origin, now));
        host.with(|b| b.open_until(crate::wait::later(now, for_)));
        crate::telemetry::fleet_opened(origin, for_);
    }
}

/// A session's link to its fleet.
#[cfg(feature = "redis")]
#[derive(Clone)]
pub(crate) struct Link(pub(crate) Arc<redis_store::Inner>);

/// A session's link to its fleet: none without the `redis` feature.
#[cfg(not(feature = "redis"))]
#[derive(Clone)]
pub(crate) enum Link {}

/// The engine's side of a link: each method is where a call meets the fleet.
#[cfg(not(feature = "redis"))]
impl Link {
    pub(crate) fn attach(&self, _: std::sync::Weak<dyn Listener>) {
        match *self {}
    }
    pub(crate) fn deposit(&self, _: &crate::RetryBudget) {
        match *self {}
    }
    pub(crate) fn withdraw(&self, _: &crate::RetryBudget) -> Pending<'_, bool> {
        match *self {}
    }
    pub(crate) fn held(&self, _: &str, _: Duration) {
        match *self {}
    }
    pub(crate) fn opened(&self, _: &str, _: Duration) {
        match *self {}
    }
    pub(crate) fn observed(&self, _: &str, _: Observation, _: bool) {
        match *self {}
    }
    pub(crate) fn quiet(&self, _: &str) {
        match *self {}
    }
    pub(crate) fn claim(&self, _: &str) -> Pending<'_, Claim> {
        match *self {}
    }
    pub(crate) fn fallbacks(&self) -> u64 {
        match *self {}
    }
}
