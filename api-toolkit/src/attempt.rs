//! What one attempt learns while reqwest runs it, which its outcome alone does not tell.
//!
//! - **Whether a server answered.** reqwest follows redirects inside one attempt, so a connect
//!   error may come from a later hop, after the first hop delivered the request: such an attempt
//!   is not "never sent". Every session's redirect policy is wrapped
//!   ([`noting_answers`]) to count, per thread, the redirects it is asked about; [`Watched`]
//!   compares the count around each poll of its attempt, during which the policy runs.
//! - **Whether the connection was ever established.** An attempt's time limit is enforced by
//!   reqwest and makes a timeout error, whatever phase it cut. The connector layer
//!   [`ConnectLimitLayer`] cuts a connect that is still pending shortly before that limit,
//!   so that it fails as a connect error (nothing was sent) like one cut by `connect_timeout`.
//!
//! Both ride on thread-locals set around the attempt's own polls: reqwest calls its redirect
//! policy and its connector synchronously inside them, and the success path pays a few
//! thread-local reads per poll instead of a value threaded through reqwest.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;

thread_local! {
    /// How many redirects a session's policy was asked about on this thread.
    static ANSWERS: Cell<u64> = const { Cell::new(0) };
    /// While an attempt with a time limit is polled: when a connection it starts must be up.
    static CONNECT_BY: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Wraps `policy` so that each redirect it is asked about is counted: a server answered.
///
/// The policy is asked for every redirect response, whatever it answers (follow, stop or
/// fail), and only then: that is exactly "a hop delivered the request".
pub(crate) fn noting_answers(policy: reqwest::redirect::Policy) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        ANSWERS.set(ANSWERS.get().wrapping_add(1));
        policy.redirect(attempt)
    })
}

/// An attempt's future, watched: its output comes with whether a server answered it with a
/// redirect, and connections it starts are cut shortly before its time limit, if it has one
/// and its session cuts connects.
pub(crate) struct Watched<F> {
    inner: F,
    connect_by: Option<Instant>,
    answered: bool,
    /// Whether the attempt runs on the session's own client, the only one whose redirects
    /// are counted: other attempts skip the thread-local reads.
    watch: bool,
}

impl<F> Watched<F> {
    #[inline]
    pub(crate) fn new(inner: F, limit: Option<Duration>, own_client: bool) -> Self {
        Watched {
            inner,
            connect_by: limit.map(connect_deadline),
            answered: false,
            watch: own_client,
        }
    }
}

impl<F: Future + Unpin> Future for Watched<F> {
    /// The attempt's output, and whether a server answered it with a redirect.
    type Output = (F::Output, bool);

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        // One call of the inner poll per branch below, as before: a third, inlined, would
        // grow every call's code.
        let before = if this.watch { ANSWERS.get() } else { 0 };
        let poll = match this.connect_by {
            None => Pin::new(&mut this.inner).poll(cx),
            Some(by) => {
                let outer = CONNECT_BY.replace(Some(by));
                let poll = Pin::new(&mut this.inner).poll(cx);
                CONNECT_BY.set(outer);
                poll
            }
        };
        if this.watch {
            this.answered |= ANSWERS.get() != before;
        }
        poll.map(|output| (output, this.answered))
    }
}

/// The longest margin left between a cut connect and the attempt's limit.
const MAX_MARGIN: Duration = Duration::from_millis(10);

/// When a connection an attempt limited to `limit` starts must be up: a tenth of the limit, at
/// most [`MAX_MARGIN`], before the attempt's end. reqwest checks its own timer first when it is
/// polled, so the connect must fail at an earlier tick to be seen as a connect error; the
/// margin also covers a task polled late on a busy machine.
// Out of line: only attempts with a time limit run it.
#[inline(never)]
fn connect_deadline(limit: Duration) -> Instant {
    let margin = (limit / 10).min(MAX_MARGIN);
    crate::wait::later(Instant::now(), limit - margin)
}

/// A connector layer that fails a connect still pending at its attempt's `connect_by` with
/// a timed-out I/O error, which reqwest reports as a connect error (`is_connect()`).
///
/// A connect that is not the attempt's own (another request's, or one left to finish in the
/// background because a pooled connection freed up first) is cut the same way, harmlessly: the
/// attempt then runs on the pooled connection and its own limit applies.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ConnectLimitLayer;

impl<S> tower_layer::Layer<S> for ConnectLimitLayer {
    type Service = ConnectLimit<S>;

    fn layer(&self, inner: S) -> ConnectLimit<S> {
        ConnectLimit(inner)
    }
}

/// The service of [`ConnectLimitLayer`].
#[derive(Clone, Debug)]
pub(crate) struct ConnectLimit<S>(S);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<S, R> tower_service::Service<R> for ConnectLimit<S>
where
    S: tower_service::Service<R, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, destination: R) -> Self::Future {
        let connecting = self.0.call(destination);
        let Some(by) = CONNECT_BY.get() else {
            return Box::pin(connecting);
        };
        Box::pin(async move {
            match tokio::time::timeout_at(by, connecting).await {
                Ok(connected) => connected,
                Err(_) => Err(Box::new(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connection not established within the attempt's time limit",
                )) as BoxError),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connect_deadline_leaves_a_margin_before_the_limit() {
        let start = Instant::now();
        let by = connect_deadline(Duration::from_millis(300));
        assert!(by >= start + Duration::from_millis(290));
        assert!(by < start + Duration::from_millis(300) + Duration::from_millis(5));
        let short = connect_deadline(Duration::from_millis(20));
        assert!(short < Instant::now() + Duration::from_millis(19));
        let _ = connect_deadline(Duration::MAX);
    }
}
