//! A streaming body kept while it is sent, so that a retry can send it again (`replay_limit`).
//!
//! reqwest reads a stream once: the request owns it and hyper polls it chunk by chunk, often
//! from the connection's own task. So the attempt sends the stream through a [`Recorder`], a body
//! that shares a [`Tape`] with the call: the stream itself lives in the tape, and each chunk is
//! kept (a `Bytes` handle, no copy) on its way to hyper until the total passes the limit, when
//! what was kept is dropped and nothing more is. After the attempt the call reads the tape:
//!
//! - nothing was read (the connection was never established): the stream is taken back from
//!   the tape and sent as it is, whatever its size;
//! - it was read to its end within the limit: the retry sends the kept chunks;
//! - anything else (longer than the limit, an error, a body cut short): it is not sent again,
//!   so no server ever receives a partial or empty resend.
//!
//! The stream sits in the tape rather than in the recorder because an attempt that failed may
//! leave its recorder with hyper; taking the stream out leaves that recorder with nothing to
//! send but an error.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use reqwest::header::CONTENT_LENGTH;
use reqwest::{Body, Request};

use crate::policy::Resend;
use crate::record::GiveUp;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request whose streaming body is being recorded: everything but the body, and the tape.
pub(crate) struct Recorded {
    /// The request without its body.
    parts: Request,
    tape: Arc<Mutex<Tape>>,
    /// The next attempt's body, taken from the tape when a resend was allowed: a recorder
    /// still in hyper's hands can then no longer read the stream after the decision.
    next: Option<Body>,
}

impl Recorded {
    /// Puts `request`'s body (a stream) behind a [`Recorder`] that keeps up to `limit` bytes of
    /// it. `None` when the rest of the request cannot be copied.
    pub(crate) fn start(request: &mut Request, limit: usize) -> Option<Recorded> {
        let body = request.body_mut().take()?;
        let Some(parts) = request.try_clone() else {
            *request.body_mut() = Some(body);
            return None;
        };
        let declared = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok()?.trim().parse().ok());
        let tape = Arc::new(Mutex::new(Tape {
            hint: body.size_hint(),
            body: Some(body),
            kept: Vec::new(),
            read: 0,
            limit: limit as u64,
            declared,
            state: State::Unread,
        }));
        *request.body_mut() = Some(Body::wrap(Recorder(Arc::clone(&tape))));
        Some(Recorded {
            parts,
            tape,
            next: None,
        })
    }

    /// Whether the attempt that sent the body left what a retry needs; if so, the next body
    /// is taken from the tape at once, under the same lock.
    pub(crate) fn resend(&mut self) -> Resend {
        if self.next.is_some() {
            return Resend::Yes;
        }
        let mut tape = lock(&self.tape);
        match tape.state {
            State::Unread | State::Whole => {
                self.next = tape.next_body();
                Resend::Yes
            }
            State::TooLarge => Resend::No(GiveUp::BodyTooLarge),
            State::Reading | State::Broken => Resend::No(GiveUp::BodyNotReplayable),
        }
    }

    /// The request again, with the stream as it was if it was never read, else with the kept
    /// chunks.
    ///
    /// # Panics
    ///
    /// Unless [`resend`](Self::resend) said yes: never sent without its body.
    pub(crate) fn into_request(self) -> Request {
        let mut request = self.parts;
        let body = self
            .next
            .expect("a stream is sent again only once its resend is allowed");
        *request.body_mut() = Some(body);
        request
    }
}

fn lock(tape: &Mutex<Tape>) -> MutexGuard<'_, Tape> {
    // A panic while the lock was held (in the user's stream) leaves the state as it was before
    // that poll: still true.
    tape.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What has been read of a streaming body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Nothing: the stream can be sent again as it is.
    Unread,
    /// Some chunks, all kept.
    Reading,
    /// All of it (to its end, or to its declared length), all kept.
    Whole,
    /// More than the limit: nothing is kept.
    TooLarge,
    /// An error, a length other than the declared one, or a frame that is not data: never
    /// sent again.
    Broken,
}

struct Tape {
    /// The stream, until it is taken back for another attempt or dropped for the kept chunks.
    body: Option<Body>,
    hint: SizeHint,
    kept: Vec<Bytes>,
    read: u64,
    limit: u64,
    /// The request's `Content-Length`, if it has one.
    declared: Option<u64>,
    state: State,
}

impl Tape {
    fn record(
        &mut self,
        frame: Option<Result<Frame<Bytes>, reqwest::Error>>,
    ) -> Option<Result<Frame<Bytes>, BoxError>> {
        if self.state == State::Broken {
            return frame.map(|frame| frame.map_err(Into::into));
        }
        let frame = match frame {
            None => {
                self.state = match self.state {
                    // Shorter than declared: hyper fails the attempt.
                    _ if self.declared.is_some_and(|declared| declared != self.read) => {
                        State::Broken
                    }
                    State::TooLarge => State::TooLarge,
                    _ => State::Whole,
                };
                return None;
            }
            Some(Err(error)) => {
                self.broken();
                return Some(Err(error.into()));
            }
            Some(Ok(frame)) => frame,
        };
        let Some(data) = frame.data_ref() else {
            // Trailers are passed on but not kept: such a body is sent once.
            self.broken();
            return Some(Ok(frame));
        };
        self.read += data.len() as u64;
        if let Some(declared) = self.declared.filter(|&declared| self.read > declared) {
            // hyper would cut the body at its declared length and send the rest of the request
            // as if whole; failing the attempt sends no body the caller did not mean.
            self.broken();
            return Some(Err(LongerThanDeclared(declared).into()));
        }
        if self.state != State::TooLarge {
            if self.read <= self.limit {
                self.kept.push(data.clone());
                // hyper stops reading a body at its declared length: that is its end.
                self.state = if self.declared == Some(self.read) {
                    State::Whole
                } else {
                    State::Reading
                };
            } else {
                self.state = State::TooLarge;
                self.kept = Vec::new();
            }
        }
        Some(Ok(frame))
    }

    fn broken(&mut self) {
        self.state = State::Broken;
        self.kept = Vec::new();
    }

    /// The body of the next attempt: see [`Recorded::into_request`].
    fn next_body(&mut self) -> Option<Body> {
        match self.state {
            State::Unread => self.body.take(),
            State::Whole => {
                // The stream is not needed any more; a recorder hyper still holds gets an error.
                self.body = None;
                let chunks = std::mem::take(&mut self.kept).into_iter();
                let hint = self.hint;
                Some(Body::wrap(Replayed { chunks, hint }))
            }
            State::Reading | State::TooLarge | State::Broken => None,
        }
    }
}

/// The body an attempt sends in place of a stream: the stream, read through the tape.
struct Recorder(Arc<Mutex<Tape>>);

impl HttpBody for Recorder {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut tape = lock(&self.0);
        let Some(body) = tape.body.as_mut() else {
            // Taken for another attempt after this one ended: never send part of it here.
            return Poll::Ready(Some(Err(TakenBack.into())));
        };
        let frame = ready!(Pin::new(body).poll_frame(cx));
        Poll::Ready(tape.record(frame))
    }

    fn is_end_stream(&self) -> bool {
        lock(&self.0).body.as_ref().is_some_and(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        lock(&self.0).hint
    }
}

/// A stream's kept chunks, sent again as a stream of the same size hint: the retry's framing
/// (chunked, or the declared length) is the first attempt's.
struct Replayed {
    chunks: std::vec::IntoIter<Bytes>,
    hint: SizeHint,
}

impl HttpBody for Replayed {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.chunks.next().map(|chunk| Ok(Frame::data(chunk))))
    }

    fn size_hint(&self) -> SizeHint {
        self.hint
    }
}

/// A stream that yields more bytes than its request's `Content-Length`.
#[derive(Debug)]
struct LongerThanDeclared(u64);

impl std::fmt::Display for LongerThanDeclared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "streaming body longer than its Content-Length of {} bytes",
            self.0
        )
    }
}

impl std::error::Error for LongerThanDeclared {}

/// What a recorder sends if polled after its stream was taken for another attempt.
#[derive(Debug)]
struct TakenBack;

impl std::fmt::Display for TakenBack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("streaming body taken back for another attempt")
    }
}

impl std::error::Error for TakenBack {}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::task::Waker;

    use proptest::prelude::*;

    use super::*;

    /// A stream of frames, some of them errors, as a user's body.
    struct Frames(VecDeque<Result<Bytes, std::io::Error>>);

    impl HttpBody for Frames {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
            Poll::Ready(self.0.pop_front().map(|frame| frame.map(Frame::data)))
        }
    }

    fn request(frames: Vec<Result<Bytes, std::io::Error>>, declared: Option<u64>) -> Request {
        let mut request = Request::new(
            reqwest::Method::PUT,
            "http://127.0.0.1:1/upload".parse().unwrap(),
        );
        if let Some(length) = declared {
            request
                .headers_mut()
                .insert(CONTENT_LENGTH, length.to_string().parse().unwrap());
        }
        *request.body_mut() = Some(Body::wrap(Frames(frames.into())));
        request
    }

    /// Reads up to `frames` frames of `body`, as hyper would: the bytes it passed on, and
    /// whether it ended (at its end or with an error).
    fn read(body: &mut Body, frames: usize) -> (Vec<u8>, bool) {
        let mut cx = Context::from_waker(Waker::noop());
        let mut bytes = Vec::new();
        for _ in 0..frames {
            match Pin::new(&mut *body).poll_frame(&mut cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    bytes.extend_from_slice(frame.data_ref().expect("data"));
                }
                Poll::Ready(Some(Err(_)) | None) => return (bytes, true),
                Poll::Pending => unreachable!("the test streams are always ready"),
            }
        }
        (bytes, false)
    }

    fn kept(recorded: &Recorded) -> u64 {
        lock(&recorded.tape)
            .kept
            .iter()
            .map(|c| c.len() as u64)
            .sum()
    }

    /// The rule, written plainly: what a tape allows after `polls` polls of `frames` (an `Err`
    /// is the stream's error).
    fn rule(
        frames: &[Result<usize, ()>],
        polls: usize,
        declared: Option<u64>,
        limit: u64,
    ) -> Resend {
        let (mut read, mut too_large, mut whole) = (0u64, false, false);
        if polls == 0 {
            return Resend::Yes;
        }
        let not_replayable = Resend::No(GiveUp::BodyNotReplayable);
        for poll in 0..polls {
            match frames.get(poll) {
                None => {
                    if declared.is_some_and(|d| d != read) {
                        return not_replayable;
                    }
                    whole = true;
                    break;
                }
                Some(Err(())) => return not_replayable,
                Some(Ok(len)) => {
                    read += *len as u64;
                    if declared.is_some_and(|d| read > d) {
                        return not_replayable;
                    }
                    too_large |= read > limit;
                    whole = !too_large && declared == Some(read);
                }
            }
        }
        match (too_large, whole) {
            (true, _) => Resend::No(GiveUp::BodyTooLarge),
            (false, true) => Resend::Yes,
            (false, false) => not_replayable,
        }
    }

    proptest! {
        /// Whatever the chunks, the limit, the declared length and where the attempt stops
        /// reading: at most `limit` bytes are ever kept; a retry is allowed exactly as
        /// [`rule`] says, and then sends the bytes the first attempt sent (or, for a stream
        /// never read, the whole stream).
        #[test]
        fn a_retry_sends_the_whole_body_or_is_refused(
            sizes in proptest::collection::vec(0usize..40, 0..12),
            limit in 1u64..200,
            error_at in proptest::option::of(0usize..12),
            polls in 0usize..16,
            declared_off in proptest::option::of(-2i64..=2),
        ) {
            let mut frames = Vec::new();
            let mut shape = Vec::new();
            let mut all = Vec::new();
            for (i, &size) in sizes.iter().enumerate() {
                if error_at == Some(i) {
                    frames.push(Err(std::io::Error::other("gone")));
                    shape.push(Err(()));
                }
                let chunk: Vec<u8> = (0..size).map(|b| (all.len() + b) as u8).collect();
                all.extend_from_slice(&chunk);
                frames.push(Ok(Bytes::from(chunk)));
                shape.push(Ok(size));
            }
            let declared = declared_off.map(|off| (all.len() as u64).saturating_add_signed(off));
            let mut sent = request(frames, declared);
            let mut recorded = Recorded::start(&mut sent, limit as usize).unwrap();
            let mut body = sent.body_mut().take().unwrap();
            let mut passed = Vec::new();
            for _ in 0..polls {
                let (bytes, ended) = read(&mut body, 1);
                passed.extend(bytes);
                prop_assert!(kept(&recorded) <= limit, "never more than the limit kept");
                if ended {
                    break;
                }
            }
            let resend = recorded.resend();
            prop_assert_eq!(resend, rule(&shape, polls, declared, limit));
            if resend == Resend::Yes {
                drop(body);
                let mut again = recorded.into_request().body_mut().take().unwrap();
                let (bytes, _) = read(&mut again, 64);
                if polls == 0 {
                    // The stream itself, up to its error if it has one.
                    let before_error: usize = shape
                        .iter()
                        .take_while(|f| f.is_ok())
                        .map(|f| f.unwrap_or(0))
                        .sum();
                    prop_assert_eq!(&bytes[..], &all[..before_error]);
                } else {
                    prop_assert_eq!(bytes, passed, "the retry sends what the first attempt did");
                }
            }
        }
    }

    #[test]
    fn exactly_the_limit_is_kept_one_byte_more_is_not() {
        for (len, fits) in [(99, true), (100, true), (101, false)] {
            let mut sent = request(vec![Ok(Bytes::from(vec![7; len]))], None);
            let mut recorded = Recorded::start(&mut sent, 100).unwrap();
            let mut body = sent.body_mut().take().unwrap();
            assert!(read(&mut body, 10).1);
            let expected = if fits {
                Resend::Yes
            } else {
                Resend::No(GiveUp::BodyTooLarge)
            };
            assert_eq!(recorded.resend(), expected, "{len}");
        }
    }

    #[test]
    fn a_stream_never_read_is_taken_back_whole() {
        let mut sent = request(vec![Ok(Bytes::from(vec![1; 1000]))], None);
        let mut recorded = Recorded::start(&mut sent, 10).unwrap();
        let mut left_with_hyper = sent.body_mut().take().unwrap();
        assert_eq!(recorded.resend(), Resend::Yes);
        // The first attempt's recorder, polled after the decision, reads nothing of it.
        let mut cx = Context::from_waker(Waker::noop());
        assert!(matches!(
            Pin::new(&mut left_with_hyper).poll_frame(&mut cx),
            Poll::Ready(Some(Err(_)))
        ));
        let mut again = recorded.into_request().body_mut().take().unwrap();
        assert_eq!(read(&mut again, 10).0, vec![1; 1000]);
    }

    #[test]
    fn longer_than_declared_fails_before_the_excess_is_sent() {
        let frames = vec![
            Ok(Bytes::from_static(b"aaa")),
            Ok(Bytes::from_static(b"bbb")),
        ];
        let mut sent = request(frames, Some(4));
        let mut recorded = Recorded::start(&mut sent, 100).unwrap();
        let mut body = sent.body_mut().take().unwrap();
        let (passed, ended) = read(&mut body, 10);
        assert_eq!((passed.as_slice(), ended), (&b"aaa"[..], true));
        assert_eq!(recorded.resend(), Resend::No(GiveUp::BodyNotReplayable));
    }
}
