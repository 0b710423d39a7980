//! What a call keeps of its request so that it can send it again.
//!
//! reqwest's `execute` consumes the request, so a retry needs what was sent kept aside. The
//! first attempt sends the request itself; while another attempt may follow, the call keeps a
//! [`Replay`] of it and makes the next request from that only when a retry is decided. A
//! request made by this crate's builder without a body is kept as its parts with the URL as
//! text, in place: a call that succeeds at once allocates nothing for its retries. A streaming
//! body is kept as it is sent, within `replay_limit` ([`tape`]).

mod tape;

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, Request, Url, Version};
use smallvec::SmallVec;

use crate::call::Origin;
use crate::policy::Resend;
use crate::record::GiveUp;

/// The request of a call, as its attempts go.
///
/// The request and its replay are never both held, yet they are two fields rather than one
/// enum: the request then stays where the call's future was given it until the attempt that
/// sends it, and is copied (264 bytes) once to be sent instead of three times. The call's
/// future is 240 bytes larger; the success path runs about 100 instructions fewer.
pub(crate) struct Kept {
    /// The request the next attempt sends, or why it could not be built; `None` while an
    /// attempt is under way.
    next: Option<reqwest::Result<Request>>,
    /// What the attempt under way sent, if another attempt may follow and the request can be
    /// sent again.
    sent: Option<Replay>,
}

impl Kept {
    #[inline]
    pub(crate) fn new(request: reqwest::Result<Request>) -> Kept {
        Kept {
            next: Some(request),
            sent: None,
        }
    }

    /// Why the request could not be built, if it could not.
    #[inline]
    pub(crate) fn unbuilt(&mut self) -> Option<reqwest::Error> {
        match self.next {
            Some(Err(_)) => self.next.take().and_then(Result::err),
            _ => None,
        }
    }

    /// Sends the request of the attempt about to start: if `another_may_follow` and the request
    /// can be replayed, it is kept as a [`Replay`], made while the request is in place (a
    /// stream is recorded up to `replay_limit` bytes as it is sent). The request is given to
    /// `send` rather than returned: it is moved once.
    #[inline]
    pub(crate) fn send_next<F>(
        &mut self,
        another_may_follow: bool,
        origin: Origin,
        replay_limit: usize,
        send: impl FnOnce(Request) -> F,
    ) -> F {
        self.sent = if another_may_follow {
            Replay::of(self.next_mut(), origin, replay_limit)
        } else {
            None
        };
        let request = self
            .next
            .take()
            .and_then(Result::ok)
            .expect("an attempt starts only with its request");
        send(request)
    }

    /// Whether a retry could send the last attempt's request again; asked once the attempt
    /// has ended, when what it read of a streaming body is known.
    #[inline]
    pub(crate) fn resend(&mut self) -> Resend {
        match &mut self.sent {
            None => Resend::No(GiveUp::BodyNotReplayable),
            Some(Replay::Stream(recorded)) => recorded.resend(),
            Some(_) => Resend::Yes,
        }
    }

    /// Makes the request sent by the last attempt again, for the next one. `method` and
    /// `timeout` are the call's, which it keeps anyway: its replay need not hold them.
    #[inline]
    pub(crate) fn make_next(&mut self, method: &Method, timeout: Option<Duration>) {
        if let Some(replay) = self.sent.take() {
            self.next = Some(Ok(replay.into_request(method, timeout)));
        }
    }

    /// The request the next attempt sends.
    #[inline]
    pub(crate) fn next(&self) -> &Request {
        match &self.next {
            Some(Ok(request)) => request,
            _ => unreachable!("read only before an attempt starts"),
        }
    }

    #[inline]
    pub(crate) fn next_mut(&mut self) -> &mut Request {
        match &mut self.next {
            Some(Ok(request)) => request,
            _ => unreachable!("read only before an attempt starts"),
        }
    }
}

/// Whether `request`'s body can be sent again: it has none, or its bytes (not a stream).
pub(crate) fn replayable(request: &Request) -> bool {
    request.body().is_none_or(|body| body.as_bytes().is_some())
}

/// Whether `request`'s body may be sent again under `replay_limit`: a stream may, if it turns
/// out to fit (or is never read).
pub(crate) fn may_replay(request: &Request, replay_limit: usize) -> bool {
    replay_limit > 0 || replayable(request)
}

/// The longest URL kept in place; a longer one is kept on the heap.
const URL_IN_PLACE: usize = 96;

/// What is needed to make a sent request again.
pub(crate) enum Replay {
    /// reqwest's own copy, for a body to send again or the extensions of a ready request.
    Copy(Request),
    /// A request whose streaming body is recorded as it is sent (`replay_limit`).
    Stream(tape::Recorded),
    /// A body-less request made by this crate's builder, whose extensions hold at most its
    /// timeout. reqwest's `try_clone` would also build, and throw away, a timeout extension
    /// (three allocations) and copy the URL (one more). The method and the timeout are the
    /// call's own.
    Parts {
        /// The URL's serialization, parsed again only for a retry: the parser gives the same
        /// URL back for the serialization of an http(s) URL, the only schemes reqwest sends.
        url: SmallVec<[u8; URL_IN_PLACE]>,
        /// `None` for none: an empty map costs its drop.
        headers: Option<HeaderMap>,
        version: Version,
    },
}

impl Replay {
    /// For a streaming body, `None` unless `replay_limit` is above 0: the body is then put
    /// behind a recorder in `request`.
    #[inline]
    fn of(request: &mut Request, origin: Origin, replay_limit: usize) -> Option<Replay> {
        if origin == Origin::Ready || request.body().is_some() {
            return match request.try_clone() {
                Some(copy) => Some(Replay::Copy(copy)),
                None if replay_limit > 0 => record(request, replay_limit),
                None => None,
            };
        }
        Some(Replay::Parts {
            url: SmallVec::from_slice(request.url().as_str().as_bytes()),
            headers: (!request.headers().is_empty()).then(|| headers(request)),
            version: request.version(),
        })
    }

    /// The request again; a copy keeps its own method and timeout.
    fn into_request(self, method: &Method, timeout: Option<Duration>) -> Request {
        match self {
            Replay::Copy(request) => request,
            Replay::Stream(recorded) => recorded.into_request(),
            Replay::Parts {
                url,
                headers,
                version,
            } => {
                let url = std::str::from_utf8(&url)
                    .ok()
                    .and_then(|text| Url::parse(text).ok())
                    .expect("a URL's serialization parses back to the same URL");
                let mut request = Request::new(method.clone(), url);
                if let Some(headers) = headers {
                    *request.headers_mut() = headers;
                }
                *request.version_mut() = version;
                // Written only when set: reqwest keeps it in an extension map it allocates.
                if timeout.is_some() {
                    *request.timeout_mut() = timeout;
                }
                request
            }
        }
    }
}

// Out of line: only streams with a `replay_limit` take it.
#[cold]
#[inline(never)]
fn record(request: &mut Request, replay_limit: usize) -> Option<Replay> {
    tape::Recorded::start(request, replay_limit).map(Replay::Stream)
}

// Out of line: the code of a body-less request without headers, the commonest, stays compact
// where every call runs it.
#[inline(never)]
fn headers(request: &Request) -> HeaderMap {
    request.headers().clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends nothing: keeps `request` as a first attempt would, then makes it again.
    fn again(request: Request, origin: Origin) -> (Request, Request) {
        let (method, timeout) = (request.method().clone(), request.timeout().copied());
        let mut kept = Kept::new(Ok(request));
        let sent = kept.send_next(true, origin, 0, |request| request);
        assert_eq!(kept.resend(), Resend::Yes);
        kept.make_next(&method, timeout);
        let Some(Ok(next)) = kept.next else {
            panic!("made again")
        };
        (sent, next)
    }

    fn same(a: &Request, b: &Request) {
        assert_eq!(a.method(), b.method());
        assert_eq!(a.url(), b.url());
        assert_eq!(a.url().as_str(), b.url().as_str());
        assert_eq!(a.headers(), b.headers());
        assert_eq!(a.timeout(), b.timeout());
        assert_eq!(a.version(), b.version());
        assert_eq!(
            a.body().and_then(reqwest::Body::as_bytes),
            b.body().and_then(reqwest::Body::as_bytes)
        );
    }

    #[test]
    fn a_builder_request_is_made_again_whole() {
        let client = reqwest::Client::new();
        let request = client
            .request(Method::PUT, "http://127.0.0.1:1/a?b=c")
            .header("x-one", "1")
            .header("x-two", "2")
            .timeout(Duration::from_secs(3))
            .version(Version::HTTP_11)
            .build()
            .unwrap();
        let (sent, next) = again(request, Origin::Builder);
        same(&sent, &next);
        assert!(next.body().is_none());

        let plain = client.get("http://127.0.0.1:1/").build().unwrap();
        let (_, next) = again(plain, Origin::Builder);
        assert_eq!(next.timeout(), None);
    }

    #[test]
    fn bytes_bodies_and_ready_requests_are_copied_by_reqwest() {
        let client = reqwest::Client::new();
        for origin in [Origin::Builder, Origin::Ready] {
            let with_body = client
                .post("http://127.0.0.1:1/")
                .body("payload")
                .build()
                .unwrap();
            let (sent, next) = again(with_body, origin);
            same(&sent, &next);
            assert_eq!(
                next.body().and_then(reqwest::Body::as_bytes),
                Some(&b"payload"[..])
            );
        }
    }

    #[test]
    fn urls_are_the_same_after_their_text_is_parsed_again() {
        let long = format!(
            "https://api.example.com/v1/{}?q={}",
            "a".repeat(120),
            "b".repeat(60)
        );
        for text in [
            "http://127.0.0.1:8080/small",
            "HTTP://Example.COM:80/a/./b/../c?x=1&y=%20z#frag",
            "https://bücher.example/straße?q=ü",
            "https://[::1]:8443/v1/items/",
            "http://user:secret@example.com/path",
            "https://example.com/a%2Fb/%7Euser?empty=&&list[]=1",
            "https://example.com?",
            "https://example.com/#",
            "https://0x7f.1/",
            "https://example.com./trailing/dot",
            "https://example.com/with space/and\ttab",
            &long,
        ] {
            let url = Url::parse(text).unwrap();
            let request = Request::new(Method::GET, url.clone());
            let (_, next) = again(request, Origin::Builder);
            assert_eq!(next.url(), &url, "{text}");
        }
    }
}
