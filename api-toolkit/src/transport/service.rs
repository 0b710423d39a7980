//! An attempt through the user's tower service: readiness first, then the call.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use reqwest::{Request, Response};
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceExt};

use super::{Attempted, BoxError, Failure, Handing};

/// The user's service, boxed: a [`Session`](crate::Session) is not generic over it.
pub(crate) type BoxService = BoxCloneSyncService<Request, Response, BoxError>;

/// Boxes `service`, its errors boxed too.
pub(crate) fn boxed<S>(service: S) -> BoxService
where
    S: Service<Request, Response = Response> + Clone + Send + Sync + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    BoxCloneSyncService::new(service.map_err(Into::into))
}

/// One attempt: the service's own clone (tower's convention for a call that outlives the
/// borrow of a shared service), polled ready, then called.
pub(crate) struct Attempt {
    service: BoxService,
    state: State,
}

// The whole attempt is boxed by the session; boxing the request apart would cost one more
// allocation per attempt.
#[allow(clippy::large_enum_variant)]
enum State {
    Ready(Option<Request>),
    Calling(Pin<Box<dyn Future<Output = Result<Response, BoxError>> + Send>>),
}

impl Attempt {
    pub(crate) fn new(service: BoxService, request: Request) -> Self {
        Attempt {
            service,
            state: State::Ready(Some(request)),
        }
    }
}

impl Future for Attempt {
    type Output = Attempted;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Attempted> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                State::Ready(request) => match this.service.poll_ready(cx) {
                    Poll::Ready(Ok(())) => {
                        let request = request.take().expect("a request is handed over once");
                        this.state = State::Calling(this.service.call(request));
                    }
                    Poll::Ready(Err(error)) => return Poll::Ready(Err(Failure::from_box(error))),
                    Poll::Pending => return Poll::Pending,
                },
                State::Calling(call) => return call.as_mut().poll(cx).map_err(Failure::from_box),
            }
        }
    }
}

impl Handing for Attempt {
    fn handed(&self) -> bool {
        matches!(self.state, State::Calling(_))
    }
}
