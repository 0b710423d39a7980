//! The blocking [`Response`]: reqwest's async response, read on the session's runtime.

use std::fmt;
use std::io::{self, Read};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use reqwest::header::HeaderMap;
use reqwest::{StatusCode, Url, Version};
use serde::de::DeserializeOwned;

use super::session::Inner;
use crate::CallRecord;

/// The response of a blocking call: the async `reqwest::Response`, whose body is read by
/// blocking on the session's runtime.
///
/// The body reads ([`text`](Response::text), [`bytes`](Response::bytes),
/// [`json`](Response::json), [`Read`]) return reqwest's errors, as reqwest's own responses do;
/// they are not retried. A response keeps its session's runtime running, so it can be read
/// after the session is dropped.
///
/// # Panics
///
/// Reading the body inside an async runtime panics, as a blocking call does (see [the module
/// docs](crate::blocking#panics)).
///
/// # Examples
///
/// ```
/// use std::io::Read;
/// use api_toolkit::blocking::Session;
/// # use std::io::Write;
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let url = format!("http://{}/report", listener.local_addr()?);
/// # std::thread::spawn(move || {
/// #     let (mut stream, _) = listener.accept().unwrap();
/// #     let _ = stream.read(&mut [0; 4096]);
/// #     stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\nhello world").unwrap();
/// # });
///
/// let mut response = Session::new(Default::default())?.get(url).send()?;
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.record().retries(), 0);
/// let mut first = [0; 5];
/// response.read_exact(&mut first)?; // std::io::Read, for a large body
/// assert_eq!(&first, b"hello");
/// assert_eq!(response.text()?, " world"); // the rest
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Response {
    inner: reqwest::Response,
    session: Arc<Inner>,
    /// Bytes of the body fetched by [`Read`] but not returned yet.
    pending: Bytes,
}

impl Response {
    pub(super) fn new(inner: reqwest::Response, session: Arc<Inner>) -> Self {
        Response {
            inner,
            session,
            pending: Bytes::new(),
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.inner.status()
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        self.inner.headers()
    }

    /// The final URL, after redirects.
    pub fn url(&self) -> &Url {
        self.inner.url()
    }

    /// The HTTP version.
    pub fn version(&self) -> Version {
        self.inner.version()
    }

    /// The length of the body, when the server announced it (and nothing of it was read yet).
    pub fn content_length(&self) -> Option<u64> {
        self.inner.content_length()
    }

    /// The response's extensions: among them, the [`CallRecord`] of a call that retried.
    pub fn extensions(&self) -> &http::Extensions {
        self.inner.extensions()
    }

    /// The call's attempts, their outcomes and waits: see [`CallRecord::of`].
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{blocking::Session, GiveUp, RetrySettings};
    /// # use std::io::{Read, Write};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("http://{}/orders", listener.local_addr()?);
    /// # std::thread::spawn(move || {
    /// #     for reply in ["503 Service Unavailable", "503 Service Unavailable"] {
    /// #         let (mut stream, _) = listener.accept().unwrap();
    /// #         let _ = stream.read(&mut [0; 4096]);
    /// #         let body = if reply.starts_with("200") { "" } else { "" };
    /// #         let head = format!("HTTP/1.1 {reply}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
    /// #         stream.write_all(format!("{head}{body}").as_bytes()).unwrap();
    /// #     }
    /// # });
    ///
    /// let session = Session::new(RetrySettings { max_retries: 1, backoff_factor: 0.0, ..RetrySettings::default() })?;
    /// let response = session.get(url).send()?; // the last 503, as `Ok`
    /// assert_eq!(response.record().attempt_count(), 2);
    /// assert_eq!(response.record().give_up(), Some(GiveUp::Exhausted));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn record(&self) -> &CallRecord {
        CallRecord::of(&self.inner)
    }

    /// The rest of the body as text, decoded as reqwest decodes it (the `Content-Type`'s
    /// charset, else UTF-8, invalid sequences replaced).
    ///
    /// # Errors
    ///
    /// The `reqwest::Error` of a body that could not be read (the connection closed or timed
    /// out mid-body).
    pub fn text(self) -> reqwest::Result<String> {
        let session = Arc::clone(&self.session);
        session.block_on(self.into_async().text())
    }

    /// The rest of the body.
    ///
    /// # Errors
    ///
    /// The `reqwest::Error` of a body that could not be read.
    pub fn bytes(self) -> reqwest::Result<Bytes> {
        let session = Arc::clone(&self.session);
        session.block_on(self.into_async().bytes())
    }

    /// The rest of the body, deserialized from JSON.
    ///
    /// # Errors
    ///
    /// The `reqwest::Error` of a body that could not be read or is not JSON of type `T`.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::blocking::Session;
    /// # use std::io::{Read, Write};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("http://{}/orders", listener.local_addr()?);
    /// # std::thread::spawn(move || {
    /// #     for reply in ["200 OK"] {
    /// #         let (mut stream, _) = listener.accept().unwrap();
    /// #         let _ = stream.read(&mut [0; 4096]);
    /// #         let body = if reply.starts_with("200") { "{\"id\": 7}" } else { "" };
    /// #         let head = format!("HTTP/1.1 {reply}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
    /// #         stream.write_all(format!("{head}{body}").as_bytes()).unwrap();
    /// #     }
    /// # });
    ///
    /// let order: serde_json::Value = Session::new(Default::default())?.get(url).send()?.json()?;
    /// assert_eq!(order["id"], 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn json<T: DeserializeOwned>(self) -> reqwest::Result<T> {
        let session = Arc::clone(&self.session);
        session.block_on(self.into_async().json())
    }

    /// The response itself for an error status (4xx, 5xx), as reqwest's `error_for_status`.
    ///
    /// # Errors
    ///
    /// A `reqwest::Error` holding the status (and the URL), for a status of 400 to 599.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{blocking::Session, StatusCode};
    /// # use std::io::{Read, Write};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("http://{}/orders", listener.local_addr()?);
    /// # std::thread::spawn(move || {
    /// #     for reply in ["404 Not Found"] {
    /// #         let (mut stream, _) = listener.accept().unwrap();
    /// #         let _ = stream.read(&mut [0; 4096]);
    /// #         let body = if reply.starts_with("200") { "" } else { "" };
    /// #         let head = format!("HTTP/1.1 {reply}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
    /// #         stream.write_all(format!("{head}{body}").as_bytes()).unwrap();
    /// #     }
    /// # });
    ///
    /// let response = Session::new(Default::default())?.get(url).send()?; // a 404 is `Ok`
    /// let error = response.error_for_status().unwrap_err();
    /// assert_eq!(error.status(), Some(StatusCode::NOT_FOUND));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn error_for_status(self) -> reqwest::Result<Self> {
        self.inner.error_for_status_ref()?;
        Ok(self)
    }

    /// The async response, for code that has both.
    ///
    /// Its body comes through a connection that the session's runtime drives: read it while a
    /// clone of the session lives.
    pub fn into_async(self) -> reqwest::Response {
        let Response { inner, pending, .. } = self;
        if pending.is_empty() {
            return inner;
        }
        // Bytes `Read` fetched but has not returned go back in front of the rest.
        let url = inner.url().clone();
        let (parts, rest) = http::Response::from(inner).into_parts();
        let body = reqwest::Body::wrap(Prepend {
            first: Some(pending),
            rest,
        });
        let mut response = http::Response::from_parts(parts, body);
        // `From<reqwest::Response>` keeps no URL; reqwest reads it back from the extensions.
        let (head, ()) = reqwest::ResponseBuilderExt::url(http::Response::builder(), url)
            .body(())
            .expect("an empty response builds")
            .into_parts();
        response.extensions_mut().extend(head.extensions);
        reqwest::Response::from(response)
    }
}

impl Read for Response {
    /// Reads the body, blocking on the session's runtime for each chunk.
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        while self.pending.is_empty() {
            match self.session.block_on(self.inner.chunk()) {
                Ok(Some(chunk)) => self.pending = chunk,
                Ok(None) => return Ok(0),
                Err(error) => return Err(io::Error::other(error)),
            }
        }
        let n = out.len().min(self.pending.len());
        out[..n].copy_from_slice(&self.pending[..n]);
        self.pending.advance(n);
        Ok(n)
    }
}

impl fmt::Debug for Response {
    // reqwest's Debug would show header values (cookies among them) and the URL's query.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::Response")
            .field("status", &self.status())
            .field("url", &crate::redact::redacted(self.url()).as_str())
            .finish_non_exhaustive()
    }
}

/// A body: `first`, then `rest`.
struct Prepend {
    first: Option<Bytes>,
    rest: reqwest::Body,
}

impl http_body::Body for Prepend {
    type Data = Bytes;
    type Error = reqwest::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, reqwest::Error>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(http_body::Frame::data(first))));
        }
        Pin::new(&mut self.rest).poll_frame(cx)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        let first = self.first.as_ref().map_or(0, |first| first.len() as u64);
        let rest = self.rest.size_hint();
        let mut hint = http_body::SizeHint::new();
        hint.set_lower(rest.lower() + first);
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + first);
        }
        hint
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.rest.is_end_stream()
    }
}
