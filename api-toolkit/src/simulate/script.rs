//! The script of a simulation: one [`Step`] per attempt, played by the [`Scripted`] transport
//! in place of a server.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Request, Response};

use crate::record::AttemptOutcome;
use crate::session::Shared;
use crate::transport::{Attempted, Failure, Transport};

/// What one attempt of a simulated call meets.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use api_toolkit::simulate::Step;
///
/// let script = [
///     Step::connect_error(),
///     Step::status(429).header("retry-after", "3"),
///     Step::status(200).after(Duration::from_millis(80)),
/// ];
/// # let _ = script;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    kind: Kind,
    headers: Vec<(String, String)>,
    after: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Status(u16),
    ConnectError,
    Closed,
    Silent,
}

impl Step {
    /// A response with this status (add headers with [`header`](Step::header)).
    pub fn status(status: u16) -> Step {
        Step::of(Kind::Status(status))
    }

    /// A connection that could not be established: the request never left.
    pub fn connect_error() -> Step {
        Step::of(Kind::ConnectError)
    }

    /// A connection closed after the request was sent, without a response.
    pub fn closed() -> Step {
        Step::of(Kind::Closed)
    }

    /// A server that never answers: the attempt lasts until its limit (`attempt_timeout`, or
    /// what is left of `total_timeout`) cuts it, a timeout after sending.
    pub fn silent() -> Step {
        Step::of(Kind::Silent)
    }

    /// A header of the response (a [`status`](Step::status) step only): `Retry-After`,
    /// `retry-after-ms`, a should-retry header, rate-limit headers.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Step {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// How long the step takes before its outcome (default: none). An attempt limit shorter
    /// than this cuts it, as it would a slow server.
    #[must_use]
    pub fn after(mut self, latency: Duration) -> Step {
        self.after = latency;
        self
    }

    fn of(kind: Kind) -> Step {
        Step {
            kind,
            headers: Vec::new(),
            after: Duration::ZERO,
        }
    }

    /// Why the step cannot happen, if it cannot; `limited`: the settings cut attempts.
    pub(super) fn check(&self, limited: bool) -> Result<(), String> {
        match self.kind {
            Kind::Status(status) if !(100..=599).contains(&status) => {
                return Err(format!("status {status} is outside 100..=599"))
            }
            Kind::Silent if !limited => {
                return Err(
                    "a silent server with neither `attempt_timeout` nor `total_timeout` would hold the call forever"
                        .to_owned(),
                )
            }
            Kind::Status(_) => {}
            _ if !self.headers.is_empty() => {
                return Err("only a response has headers".to_owned());
            }
            _ => {}
        }
        for (name, value) in &self.headers {
            reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("{name:?} is not a header name"))?;
            reqwest::header::HeaderValue::from_str(value)
                .map_err(|_| format!("{value:?} is not a header value"))?;
        }
        Ok(())
    }

    /// What the attempt produces, after the step's time, within the attempt's `limit`.
    async fn play(self, limit: Option<Duration>) -> Attempted {
        let cut = |time: Duration| limit.is_some_and(|limit| limit < time);
        let time = if self.kind == Kind::Silent {
            Duration::MAX
        } else {
            self.after
        };
        if cut(time) {
            tokio::time::sleep(limit.unwrap_or_default()).await;
            return Err(Failure::TimedOut { handed: true });
        }
        tokio::time::sleep(self.after).await;
        match self.kind {
            Kind::Status(status) => {
                let mut response = http::Response::builder().status(status);
                for (name, value) in &self.headers {
                    response = response.header(name, value);
                }
                let response = response.body(Vec::<u8>::new()).expect("checked before");
                Ok(Response::from(response))
            }
            Kind::ConnectError => Err(Failure::Scripted(AttemptOutcome::Connect)),
            Kind::Closed => Err(Failure::Scripted(AttemptOutcome::Closed)),
            Kind::Silent => unreachable!("a silent step is always cut"),
        }
    }
}

/// The transport of a simulation: each attempt plays the next step.
pub(super) struct Scripted {
    steps: std::vec::IntoIter<Step>,
    ran_out: Arc<AtomicBool>,
}

impl Scripted {
    pub(super) fn new(steps: Vec<Step>) -> Scripted {
        Scripted {
            steps: steps.into_iter(),
            ran_out: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Set when an attempt found no step left.
    pub(super) fn ran_out_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.ran_out)
    }
}

impl Transport for Scripted {
    type Sent<'a> = Pin<Box<dyn Future<Output = Attempted> + Send>>;
    type Output = crate::Result<Response>;

    fn finish(self, result: crate::Result<Response>) -> crate::Result<Response> {
        result
    }

    fn send<'a>(
        &'a mut self,
        _shared: &'a Shared,
        _request: Request,
        limit: Option<Duration>,
    ) -> Self::Sent<'a> {
        match self.steps.next() {
            Some(step) => Box::pin(step.play(limit)),
            None => {
                self.ran_out.store(true, Ordering::Relaxed);
                // Ends the call at once: no rule retries a failure of the user's code.
                Box::pin(std::future::ready(Err(Failure::Service(
                    "the script has no step for this attempt".into(),
                ))))
            }
        }
    }
}
