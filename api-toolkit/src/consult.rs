//! Asking the user's [`Classifier`] about an attempt: what it sees of the request, the first
//! bytes of the response's body, and a panic caught.
//!
//! Only calls whose settings have a classifier come here.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use reqwest::header::HeaderMap;
use reqwest::{Method, Request, Response, ResponseBuilderExt, Url};

use crate::transport::Attempted;
use crate::{Attempt, AttemptOutcome, Classifier, Verdict};

/// What a classifier sees of a call's request, taken when the call starts: the request itself
/// is in reqwest's hands while an attempt runs.
pub(crate) struct RequestView {
    url: Url,
    headers: HeaderMap,
    replayable: bool,
}

impl RequestView {
    pub(crate) fn of(request: &Request) -> Box<RequestView> {
        Box::new(RequestView {
            url: request.url().clone(),
            // An empty map is made without allocating; a copy of one would allocate.
            headers: if request.headers().is_empty() {
                HeaderMap::new()
            } else {
                request.headers().clone()
            },
            replayable: crate::replay::replayable(request),
        })
    }
}

/// The question for the classifier about one attempt.
pub(crate) struct Question<'a> {
    pub(crate) classifier: &'a Classifier,
    pub(crate) view: &'a RequestView,
    pub(crate) method: &'a Method,
    /// 1 for the first attempt.
    pub(crate) number: u32,
    /// The attempt read the body's first bytes ([`Sending::Peeking`]).
    pub(crate) peeked: bool,
}

/// The attempt's result (its response rebuilt when its body was read) and the verdict, or the
/// classifier's panic.
pub(crate) type Answer = Result<(Attempted, Verdict), Panicked>;

/// A classifier's panic, and the outcome of the attempt it was asked about.
pub(crate) struct Panicked {
    pub(crate) message: String,
    pub(crate) outcome: AttemptOutcome,
}

impl<'a> Question<'a> {
    /// Asks about the attempt's result, which it gives back. The body's first bytes were read by
    /// the attempt itself ([`Sending`]): an await here would make every call's future larger.
    pub(crate) fn ask(
        self,
        mut result: Attempted,
        outcome: impl Fn(&Attempted) -> AttemptOutcome,
    ) -> Answer {
        // The body's first bytes, if the attempt read them ([`Sending::Peeking`]).
        let peeked = match &mut result {
            Ok(response) if self.peeked => response.extensions_mut().remove::<Peeked>(),
            _ => None,
        };
        let body = peeked.as_ref().map_or(&[][..], |p| &p.0[..]);
        let verdict = self.verdict(&result, outcome(&result), body)?;
        Ok((result, verdict))
    }

    fn verdict(
        &self,
        result: &Attempted,
        outcome: AttemptOutcome,
        body: &[u8],
    ) -> Result<Verdict, Panicked> {
        let attempt = Attempt {
            method: self.method,
            url: &self.view.url,
            request_headers: &self.view.headers,
            number: self.number,
            replayable: self.view.replayable,
            outcome,
            response_headers: result.as_ref().ok().map(Response::headers),
            body,
        };
        // The classifier is the user's code: a panic in it ends this call, not the session.
        catch_unwind(AssertUnwindSafe(|| self.classifier.classify(&attempt))).map_err(|panic| {
            Panicked {
                message: crate::transport::panic_message(&*panic),
                outcome,
            }
        })
    }
}

/// An attempt's request in flight: reqwest's, or, when a classifier reads the body's first
/// bytes, reqwest's followed by that read, boxed (only those calls pay for it).
pub(crate) enum Sending<'a, F> {
    Plain(F),
    Peeking(Pin<Box<dyn Future<Output = Attempted> + Send + 'a>>),
}

impl<'a, F> Sending<'a, F>
where
    F: Future<Output = Attempted> + Send + Unpin + 'a,
{
    /// `pending`, followed by a read of up to `peek` bytes of the response's body if `peek`.
    #[inline]
    pub(crate) fn new(pending: F, peek: usize) -> Self {
        if peek == 0 {
            Sending::Plain(pending)
        } else {
            Sending::peeking(pending, peek)
        }
    }

    #[inline(never)]
    fn peeking(pending: F, limit: usize) -> Self {
        Sending::Peeking(Box::pin(
            async move { Ok(peek(pending.await?, limit).await) },
        ))
    }
}

impl<F> Future for Sending<'_, F>
where
    F: Future<Output = Attempted> + Unpin,
{
    type Output = Attempted;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Sending::Plain(pending) => Pin::new(pending).poll(cx),
            Sending::Peeking(peeking) => peeking.as_mut().poll(cx),
        }
    }
}

/// The first bytes of a response's body, kept in its extensions from the read to the
/// classifier, which removes them.
#[derive(Clone)]
struct Peeked(Vec<u8>);

/// Reads the first `limit` bytes of `response`'s body (fewer if it is shorter) and gives back a
/// response whose body is still whole: those bytes, then the rest as it arrives.
///
/// A read that fails (the body cut short, too slow for the attempt's limit) leaves the response
/// a response: the classifier sees what arrived, and the caller meets the error where it would
/// have without a classifier, reading the body (README, "What is retried", rule 2).
async fn peek(mut response: Response, limit: usize) -> Response {
    let mut chunks = VecDeque::new();
    let mut read = 0;
    let mut failed = None;
    while read < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                read += chunk.len();
                chunks.push_back(chunk);
            }
            Ok(None) => break,
            Err(error) => {
                failed = Some(error);
                break;
            }
        }
    }
    let mut prefix = Vec::with_capacity(read.min(limit));
    for chunk in &chunks {
        let room = limit - prefix.len();
        prefix.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    let url = response.url().clone();
    let (mut parts, rest) = http::Response::<reqwest::Body>::from(response).into_parts();
    // reqwest keeps the URL in an extension of its own, which the conversion drops.
    let (carrier, ()) = http::Response::builder()
        .url(url)
        .body(())
        .expect("a status and a URL make a valid response")
        .into_parts();
    parts.extensions.extend(carrier.extensions);
    parts.extensions.insert(Peeked(prefix));
    let rest = match failed {
        None => Rest::Body(rest),
        Some(error) => Rest::Failed(Some(error)),
    };
    let body = reqwest::Body::wrap(Prefixed { chunks, rest });
    Response::from(http::Response::from_parts(parts, body))
}

/// A body whose first chunks were already read.
struct Prefixed {
    chunks: VecDeque<Bytes>,
    rest: Rest,
}

/// What follows the chunks already read.
enum Rest {
    Body(reqwest::Body),
    /// The read failed: the error, given once after the chunks.
    Failed(Option<reqwest::Error>),
}

impl http_body::Body for Prefixed {
    type Data = Bytes;
    type Error = reqwest::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, reqwest::Error>>> {
        if let Some(chunk) = self.chunks.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        match &mut self.rest {
            Rest::Body(rest) => Pin::new(rest).poll_frame(cx),
            Rest::Failed(error) => Poll::Ready(error.take().map(Err)),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
            && match &self.rest {
                Rest::Body(rest) => rest.is_end_stream(),
                Rest::Failed(error) => error.is_none(),
            }
    }

    fn size_hint(&self) -> SizeHint {
        let read = self.chunks.iter().map(Bytes::len).sum::<usize>() as u64;
        let mut hint = SizeHint::new();
        if let Rest::Body(rest) = &self.rest {
            let rest = rest.size_hint();
            hint.set_lower(rest.lower() + read);
            if let Some(upper) = rest.upper() {
                hint.set_upper(upper + read);
            }
        } else {
            hint.set_lower(read);
        }
        hint
    }
}
