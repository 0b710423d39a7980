//! An attempt through the user's tower service: readiness first, then the call.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use reqwest::{Request, Response};
use tower::Service;

use super::{Attempted, BoxError, Failure, Guarded, Handing};

/// The user's service, its type erased: a [`Session`](crate::Session) is not generic over it.
pub(crate) type BoxService = Arc<dyn Attempts>;

/// A service that makes attempts.
pub(crate) trait Attempts: Send + Sync {
    /// One guarded attempt with a clone of the service, in one allocation: the clone, the
    /// request, the service's future and the guard's timer handle share it.
    fn attempt(
        &self,
        request: Request,
        limit: Option<Duration>,
    ) -> Pin<Box<dyn Future<Output = Attempted> + Send>>;
}

/// Erases `service`.
pub(crate) fn boxed<S>(service: S) -> BoxService
where
    S: Service<Request, Response = Response> + Clone + Send + Sync + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    Arc::new(Erased(service))
}

struct Erased<S>(S);

impl<S> Attempts for Erased<S>
where
    S: Service<Request, Response = Response> + Clone + Send + Sync + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    fn attempt(
        &self,
        request: Request,
        limit: Option<Duration>,
    ) -> Pin<Box<dyn Future<Output = Attempted> + Send>> {
        let attempt = Attempt {
            service: self.0.clone(),
            state: State::Ready {
                request: Some(request),
            },
        };
        Box::pin(Guarded::new(attempt, limit))
    }
}

pin_project_lite::pin_project! {
    /// One attempt: the service's own clone (tower's convention for a call that outlives the
    /// borrow of a shared service), polled ready, then called.
    struct Attempt<S: Service<Request>> {
        service: S,
        #[pin]
        state: State<S::Future>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F> {
        Ready { request: Option<Request> },
        Calling { #[pin] call: F },
    }
}

impl<S> Future for Attempt<S>
where
    S: Service<Request, Response = Response>,
    S::Error: Into<BoxError>,
{
    type Output = Attempted;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Attempted> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Ready { request } => match this.service.poll_ready(cx) {
                    Poll::Ready(Ok(())) => {
                        let request = request.take().expect("a request is handed over once");
                        let call = this.service.call(request);
                        this.state.set(State::Calling { call });
                    }
                    Poll::Ready(Err(error)) => {
                        return Poll::Ready(Err(Failure::from_box(error.into())))
                    }
                    Poll::Pending => return Poll::Pending,
                },
                StateProj::Calling { call } => {
                    return call
                        .poll(cx)
                        .map_err(|error| Failure::from_box(error.into()))
                }
            }
        }
    }
}

impl<S> Handing for Attempt<S>
where
    S: Service<Request, Response = Response>,
    S::Error: Into<BoxError>,
{
    fn handed(&self) -> bool {
        matches!(self.state, State::Calling { .. })
    }
}
