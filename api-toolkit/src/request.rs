//! [`RequestBuilder`]: reqwest's request builder, whose `send` retries.

use std::fmt;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Body, Response, Version};
use serde::Serialize;

use crate::{Error, Result, Session};

/// A request being built, from [`Session::get`], [`Session::request`] and friends.
///
/// The methods are reqwest's; a mistake (an invalid header, a body that does not serialize) is
/// kept until [`send`](RequestBuilder::send) reports it, as in reqwest.
#[must_use = "a request does nothing until it is sent"]
pub struct RequestBuilder {
    session: Session,
    inner: reqwest::RequestBuilder,
}

impl RequestBuilder {
    pub(crate) fn new(session: Session, inner: reqwest::RequestBuilder) -> Self {
        RequestBuilder { session, inner }
    }

    fn map(self, f: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder) -> Self {
        RequestBuilder {
            session: self.session,
            inner: f(self.inner),
        }
    }

    /// Adds a header.
    pub fn header<K, V>(self, key: K, value: V) -> Self
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: Into<http::Error>,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: Into<http::Error>,
    {
        self.map(|inner| inner.header(key, value))
    }

    /// Adds headers, replacing those of the same names.
    pub fn headers(self, headers: HeaderMap) -> Self {
        self.map(|inner| inner.headers(headers))
    }

    /// Sets `Authorization: Bearer <token>`, marked sensitive.
    pub fn bearer_auth<T: fmt::Display>(self, token: T) -> Self {
        self.map(|inner| inner.bearer_auth(token))
    }

    /// Sets `Authorization: Basic …`, marked sensitive.
    pub fn basic_auth<U: fmt::Display, P: fmt::Display>(
        self,
        username: U,
        password: Option<P>,
    ) -> Self {
        self.map(|inner| inner.basic_auth(username, password))
    }

    /// Appends URL query pairs, serialized with `serde_urlencoded`.
    pub fn query<T: Serialize + ?Sized>(self, query: &T) -> Self {
        self.map(|inner| inner.query(query))
    }

    /// Sets a JSON body and `Content-Type: application/json`.
    pub fn json<T: Serialize + ?Sized>(self, json: &T) -> Self {
        self.map(|inner| inner.json(json))
    }

    /// Sets a URL-encoded form body and its `Content-Type`.
    pub fn form<T: Serialize + ?Sized>(self, form: &T) -> Self {
        self.map(|inner| inner.form(form))
    }

    /// Sets the body. Bytes and strings are replayed on every attempt; a streaming body cannot
    /// be replayed, so a request with one is sent once and never retried.
    pub fn body<T: Into<Body>>(self, body: T) -> Self {
        self.map(|inner| inner.body(body))
    }

    /// The limit for each attempt of this request, overriding the session's. A timeout counts
    /// as a failure after sending: retried only for `allowed_methods`.
    pub fn timeout(self, timeout: Duration) -> Self {
        self.map(|inner| inner.timeout(timeout))
    }

    /// The HTTP version to use.
    pub fn version(self, version: Version) -> Self {
        self.map(|inner| inner.version(version))
    }

    /// Builds the request without sending it.
    ///
    /// # Errors
    ///
    /// Any mistake kept by the builder (an invalid URL or header, a body that did not
    /// serialize), as a [`Request`](crate::ErrorKind::Request) error with no attempts.
    pub fn build(self) -> Result<reqwest::Request> {
        self.inner
            .build()
            .map_err(|error| Error::from_request(error, 0))
    }

    /// Sends the request, retrying as the session's settings say; see [`Session::execute`].
    ///
    /// # Errors
    ///
    /// A builder mistake (no attempt made), or what [`Session::execute`] returns.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future stops the call: no attempt starts after the drop.
    pub async fn send(self) -> Result<Response> {
        let (_, request) = self.inner.build_split();
        let request = request.map_err(|error| Error::from_request(error, 0))?;
        self.session.execute(request).await
    }
}

impl fmt::Debug for RequestBuilder {
    // reqwest's Debug would show header values (credentials among them).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBuilder").finish_non_exhaustive()
    }
}
