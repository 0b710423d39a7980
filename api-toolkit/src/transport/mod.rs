//! How an attempt reaches a server: the session's `reqwest::Client`, the user's tower service,
//! or the rest of a reqwest-middleware chain.
//!
//! The engine ([`call::run`](crate::call::run)) sends each attempt through a [`Transport`] and
//! gets back an [`Attempted`]: a response, or a [`Failure`]. Every front end is one of these plus
//! a way to start a call; the loop, the decision and the waits are the engine's alone.

// Without the tower and reqwest-middleware front ends, only reqwest's client sends: the user's
// code, its failures and its guard are theirs.
#![cfg_attr(
    not(any(feature = "tower", feature = "reqwest-middleware")),
    allow(dead_code)
)]

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use reqwest::{Request, Response};

use crate::session::Shared;
use crate::Result;

#[cfg(feature = "tower")]
pub(crate) mod service;

/// An error of the user's code (a service, a layer, a middleware), boxed.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What one attempt produced.
pub(crate) type Attempted = Result<Response, Failure>;

/// Why an attempt produced no response.
#[derive(Debug)]
pub(crate) enum Failure {
    /// reqwest's error, told apart by its predicates (connect, timeout, …), whether it came
    /// straight from the client or through the user's layers.
    Reqwest(reqwest::Error),
    /// The user's service or middleware failed with an error of its own: the engine cannot
    /// tell whether the request reached a server, nor whether another attempt would mend it.
    Service(BoxError),
    /// The user's service or middleware panicked; its message, if it was a string.
    Panicked(String),
    /// The attempt's limit passed before the service answered (the engine's own limit, for
    /// code that reqwest's timeout does not cover). `handed`: whether the request had been
    /// handed to the service; a service never ready never had it.
    TimedOut { handed: bool },
    /// A simulated attempt's failure without a response: a connect error or a connection
    /// closed after sending.
    #[cfg(feature = "test-util")]
    Scripted(crate::record::AttemptOutcome),
}

impl Failure {
    /// A boxed error from the user's code: reqwest's own error, passed through, keeps its
    /// meaning.
    pub(crate) fn from_box(error: BoxError) -> Failure {
        match error.downcast::<reqwest::Error>() {
            Ok(error) => Failure::Reqwest(*error),
            Err(error) => Failure::Service(error),
        }
    }
}

/// One attempt in flight beside others (a hedged copy, or the attempt it copies), boxed: only
/// hedged calls pay for it.
pub(crate) type Flying<'a> = Pin<Box<dyn Future<Output = Attempted> + Send + 'a>>;

/// Sends a request as one attempt of several in flight at once: see [`Transport::COPIES`].
pub(crate) type SendCopy = for<'a> fn(&'a Shared, Request, Option<Duration>) -> Flying<'a>;

/// How a call sends its attempts, and what the call returns.
///
/// `send` borrows the transport for as long as its attempt runs, which lets a middleware
/// lend each attempt its `&mut Extensions`; `finish` takes it back when the call ends.
pub(crate) trait Transport: Send {
    /// How to send attempts that run at the same time ([`Hedging`](crate::Hedging)), if this
    /// transport can: without the `&mut` that `send` takes, so through the session alone.
    /// `None`: the call hedges nothing (a middleware chain lends its extensions to one attempt
    /// at a time; a script plays its steps in order).
    const COPIES: Option<SendCopy> = None;

    /// One attempt in flight.
    type Sent<'a>: Future<Output = Attempted> + Send + Unpin + 'a
    where
        Self: 'a;

    /// What a call through this transport returns.
    type Output;

    /// Sends `request` as one attempt, limited to `limit` if the transport enforces limits
    /// itself (reqwest enforces the one written into the request).
    fn send<'a>(
        &'a mut self,
        shared: &'a Shared,
        request: Request,
        limit: Option<Duration>,
    ) -> Self::Sent<'a>;

    /// The call's result in the front end's terms, made by the call's own future: a front end
    /// that wrapped that future to convert its result would move it once more per call.
    fn finish(self, result: Result<Response>) -> Self::Output;
}

/// What a [`Session`](crate::Session) sends through.
pub(crate) enum Sender {
    /// A `reqwest::Client`, called directly.
    Client(reqwest::Client),
    /// The user's tower service ([`SessionBuilder::service`](crate::SessionBuilder::service)).
    #[cfg(feature = "tower")]
    Service(service::BoxService),
    /// Nothing of its own: each call brings its transport (the reqwest-middleware front end,
    /// the simulator).
    #[cfg(any(feature = "reqwest-middleware", feature = "test-util"))]
    Caller,
}

impl Sender {
    /// The `reqwest::Client` sent through directly, if that is what it is.
    pub(crate) fn client(&self) -> Option<&reqwest::Client> {
        match self {
            Sender::Client(client) => Some(client),
            #[allow(unreachable_patterns)] // without the front ends' features
            _ => None,
        }
    }
}

/// The transport of a [`Session`](crate::Session)'s own calls: its [`Sender`].
pub(crate) struct Own;

impl Transport for Own {
    type Sent<'a> = Sent;
    type Output = Result<Response>;

    const COPIES: Option<SendCopy> = Some(send_copy);

    #[inline]
    fn send<'a>(
        &'a mut self,
        shared: &'a Shared,
        request: Request,
        limit: Option<Duration>,
    ) -> Sent {
        match &shared.sender {
            Sender::Client(client) => {
                let _ = limit; // written into the request; reqwest enforces it
                               // reqwest's `execute`, through its tower impl, whose future has a name.
                Sent::Client(tower_service::Service::call(&mut &*client, request))
            }
            #[cfg(feature = "tower")]
            Sender::Service(service) => Sent::Other(service.attempt(request, limit)),
            #[cfg(any(feature = "reqwest-middleware", feature = "test-util"))]
            Sender::Caller => {
                unreachable!("a session without a sender is sent through by its caller")
            }
        }
    }

    #[inline]
    fn finish(self, result: Result<Response>) -> Result<Response> {
        result
    }
}

/// A session's own attempt, sent beside others: the session's sender needs no `&mut`.
#[cold]
fn send_copy(shared: &Shared, request: Request, limit: Option<Duration>) -> Flying<'_> {
    Box::pin(Own.send(shared, request, limit))
}

/// An attempt of a [`Session`](crate::Session) in flight.
pub(crate) enum Sent {
    Client(<&'static reqwest::Client as tower_service::Service<Request>>::Future),
    /// Through the user's code, boxed: only those sessions pay for its room.
    #[cfg(feature = "tower")]
    Other(Pin<Box<dyn Future<Output = Attempted> + Send>>),
}

impl Future for Sent {
    type Output = Attempted;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Attempted> {
        match self.get_mut() {
            Sent::Client(pending) => Pin::new(pending).poll(cx).map_err(Failure::Reqwest),
            #[cfg(feature = "tower")]
            Sent::Other(other) => other.as_mut().poll(cx),
        }
    }
}

/// An attempt that runs the user's code: whether the request was handed to it yet.
pub(crate) trait Handing: Future<Output = Attempted> {
    fn handed(&self) -> bool;
}

pin_project_lite::pin_project! {
    /// An attempt through the user's code, guarded: a panic in it becomes
    /// [`Failure::Panicked`] (the session stays usable), and the attempt's limit is enforced
    /// here, because reqwest's timeout covers only the part reqwest runs.
    pub(crate) struct Guarded<F> {
        #[pin]
        attempt: F,
        timer: Option<Pin<Box<tokio::time::Sleep>>>,
    }
}

// Inlined: called once or twice per attempt, they cost their calls more than their work.
impl<F: Handing> Guarded<F> {
    #[inline]
    pub(crate) fn new(attempt: F, limit: Option<Duration>) -> Self {
        Guarded {
            attempt,
            timer: limit.map(|limit| Box::pin(tokio::time::sleep(limit))),
        }
    }
}

impl<F: Handing> Future for Guarded<F> {
    type Output = Attempted;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Attempted> {
        let mut this = self.project();
        let polled = catch_unwind(AssertUnwindSafe(|| this.attempt.as_mut().poll(cx)));
        match polled {
            Ok(Poll::Ready(attempted)) => return Poll::Ready(attempted),
            Ok(Poll::Pending) => {}
            Err(panic) => return Poll::Ready(Err(Failure::Panicked(panic_message(&*panic)))),
        }
        let elapsed = match this.timer {
            Some(timer) => timer.as_mut().poll(cx).is_ready(),
            None => false,
        };
        if elapsed {
            Poll::Ready(Err(Failure::TimedOut {
                handed: this.attempt.handed(),
            }))
        } else {
            Poll::Pending
        }
    }
}

/// A panic's message, if it was a string.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}
