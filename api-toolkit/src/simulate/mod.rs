//! The policy simulator (feature `test-util`): what settings do with a scripted sequence of
//! outcomes, without a network and without sleeping.
//!
//! A simulation runs the engine itself — the loop, the decision and the waits of every call —
//! on a tokio runtime whose clock is paused, so that each wait passes at once in virtual time.
//! Each attempt takes the next [`Step`] of the script instead of reaching a server. The result
//! is the exact [`CallRecord`] a real call would keep, how the call ended, and how much
//! virtual time it took.
//!
//! # The script
//!
//! One [`Step`] per attempt, in order: a response ([`Step::status`], with
//! [`header`](Step::header)s), a connection that could not be established
//! ([`Step::connect_error`]), a connection closed after the request was sent
//! ([`Step::closed`]), or a server that never answers ([`Step::silent`], cut by the attempt's
//! limit). [`after`](Step::after) sets how long the step takes. The wall clock of a
//! simulation starts at [`START_UNIX_SECS`], for `Retry-After` dates and rate-limit resets.
//!
//! # Examples
//!
//! The seed's backoff table: `backoff_factor = 2`, five retries, each request taking 5 s.
//!
//! ```
//! use std::time::Duration;
//! use api_toolkit::simulate::Step;
//! use api_toolkit::{Method, RetrySettings, WaitSource};
//!
//! let settings = RetrySettings {
//!     max_retries: 5,
//!     backoff_factor: 2.0,
//!     status_forcelist: vec![503],
//!     ..RetrySettings::default()
//! };
//! let slow = |status| Step::status(status).after(Duration::from_secs(5));
//! let script = [slow(503), slow(503), slow(503), slow(503), slow(503), slow(200)];
//! let simulation = settings.simulate(Method::GET, script)?;
//!
//! let waits: Vec<u64> = simulation.record().attempts().iter().map(|a| a.wait_before().as_secs()).collect();
//! assert_eq!(waits, [0, 1, 2, 4, 8, 16]);
//! assert_eq!(simulation.elapsed(), Duration::from_secs(61));
//! assert_eq!(simulation.status(), Some(api_toolkit::StatusCode::OK));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod clock;
mod script;

use std::fmt;
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};

use crate::call::{self, CallSettings, Origin};
use crate::transport::Sender;
use crate::{CallRecord, ErrorKind, RetrySettings, Session, SettingsError};

pub(crate) use clock::{jitter_unit, wall_now};
use script::Scripted;
pub use script::Step;

/// Where the wall clock of a simulation starts, in seconds since the Unix epoch:
/// 2025-01-01T00:00:00Z. A `Retry-After` date of `Wed, 01 Jan 2025 00:00:30 GMT`, or a
/// rate-limit reset at epoch second `START_UNIX_SECS + 30`, asks for a wait of 30 s from the
/// simulation's start.
pub const START_UNIX_SECS: u64 = 1_735_689_600;

/// What a simulated call came to: its record, how it ended, and the virtual time it took.
#[derive(Clone, Debug, PartialEq)]
pub struct Simulation {
    record: CallRecord,
    ending: Ending,
    elapsed: Duration,
}

/// How a simulated call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ending {
    /// The call returned this response as `Ok`.
    Response(StatusCode),
    /// The call returned an `Err` of this kind; `status` is that of the response it holds
    /// (`raise_on_status`, `error_for_status`), if any.
    Error {
        /// The error's kind.
        kind: ErrorKind,
        /// The status of the response the error holds.
        status: Option<StatusCode>,
    },
}

impl Simulation {
    /// The call's record: every attempt, its outcome, the wait before it and its source, what
    /// decided it, and why the call gave up.
    pub fn record(&self) -> &CallRecord {
        &self.record
    }

    /// How the call ended.
    pub fn ending(&self) -> Ending {
        self.ending
    }

    /// The status of the final response, whether returned as `Ok` or held by the error.
    pub fn status(&self) -> Option<StatusCode> {
        match self.ending {
            Ending::Response(status) => Some(status),
            Ending::Error { status, .. } => status,
        }
    }

    /// The virtual time the call took, waits and the steps' own durations included.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
}

/// Why a script could not be simulated.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScriptError {
    /// The settings are invalid.
    Settings(SettingsError),
    /// Step `step` (counted from 1) is impossible: `why`.
    Step {
        /// The step's number, from 1.
        step: usize,
        /// What is wrong with it.
        why: String,
    },
    /// The call made more attempts than the script has steps.
    TooShort {
        /// How many steps the script has.
        steps: usize,
    },
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScriptError::Settings(error) => error.fmt(f),
            ScriptError::Step { step, why } => write!(f, "script step {step}: {why}"),
            ScriptError::TooShort { steps } => write!(
                f,
                "the call made more attempts than the script's {steps} steps: add a step for each attempt"
            ),
        }
    }
}

impl std::error::Error for ScriptError {}

impl From<SettingsError> for ScriptError {
    fn from(error: SettingsError) -> Self {
        ScriptError::Settings(error)
    }
}

impl RetrySettings {
    /// Runs one call of `method` with these settings against `script`, one [`Step`] per
    /// attempt, on a virtual clock: the engine's own decision and waits, no network, no
    /// sleeping. See [the simulator](crate::simulate) for the script and an example.
    ///
    /// Jitter is drawn from a fixed seed, so a simulation always gives the same record.
    ///
    /// # Errors
    ///
    /// A [`ScriptError`]: the settings are invalid, a step is impossible (a status outside
    /// `100..=599`, an invalid header, a silent step without an attempt or call limit to cut
    /// it), or the call made more attempts than the script has steps.
    pub fn simulate(
        &self,
        method: Method,
        script: impl IntoIterator<Item = Step>,
    ) -> Result<Simulation, ScriptError> {
        self.validate()?;
        let steps: Vec<Step> = script.into_iter().collect();
        let limited = self.attempt_timeout.is_some() || self.total_timeout.is_some();
        for (n, step) in steps.iter().enumerate() {
            step.check(limited)
                .map_err(|why| ScriptError::Step { step: n + 1, why })?;
        }
        let session = Session::builder()
            .retry_settings(self.clone())
            .sender(Sender::Caller)
            .build()
            .map_err(|error| match error.settings_error() {
                Some(settings) => ScriptError::Settings(settings.clone()),
                None => ScriptError::Step {
                    step: 0,
                    why: error.to_string(),
                },
            })?;
        let run = move || run(&session, method, steps);
        // A runtime cannot start inside another: a simulation asked for from async code runs
        // on a thread of its own.
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|scope| scope.spawn(run).join().expect("the simulation panicked"))
        } else {
            run()
        }
    }
}

fn run(session: &Session, method: Method, steps: Vec<Step>) -> Result<Simulation, ScriptError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
    let url = Url::parse("http://simulated.invalid/").expect("a valid URL");
    let count = steps.len();
    runtime.block_on(async move {
        let _clock = clock::Virtual::start();
        let started = tokio::time::Instant::now();
        let scripted = Scripted::new(steps);
        let ran_out = scripted.ran_out_flag();
        let result = call::run(
            session,
            scripted,
            Ok(reqwest::Request::new(method, url)),
            Origin::Builder,
            CallSettings::Session,
        )
        .await;
        if ran_out.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(ScriptError::TooShort { steps: count });
        }
        let elapsed = started.elapsed();
        Ok(match result {
            Ok(response) => Simulation {
                record: CallRecord::of(&response).clone(),
                ending: Ending::Response(response.status()),
                elapsed,
            },
            Err(error) => Simulation {
                record: error.record().clone(),
                ending: Ending::Error {
                    kind: error.kind(),
                    status: error.status(),
                },
                elapsed,
            },
        })
    })
}
