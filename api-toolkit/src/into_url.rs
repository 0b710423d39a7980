//! [`IntoUrl`]: what a request can be started with, parsed without a `reqwest::Client` clone.

use reqwest::Url;

/// A URL to start a request with: `&str`, `String`, `&String` or [`Url`], as in reqwest.
///
/// A URL that reqwest accepts as it is (a valid URL with a host and no user name or password)
/// is parsed here; any other goes through reqwest, which moves credentials to basic auth or
/// reports the error that [`send`](crate::RequestBuilder::send) returns. Starting a request
/// then needs no `reqwest::RequestBuilder`, whose handle on the client costs two atomic
/// read-modify-writes per call.
///
/// This trait is sealed.
///
/// # Examples
///
/// ```
/// use api_toolkit::{reqwest::Url, Session};
///
/// let session = Session::new(Default::default())?;
/// let parsed = Url::parse("http://127.0.0.1:8080/orders?page=2").unwrap();
/// let by_url = session.get(parsed).build()?;
/// let by_text = session.get("http://127.0.0.1:8080/orders?page=2").build()?;
/// assert_eq!(by_url.url(), by_text.url());
///
/// // Credentials in the URL become basic auth, as with reqwest.
/// let with_user = session.get("http://me:secret@127.0.0.1:8080/").build()?;
/// assert_eq!(with_user.url().as_str(), "http://127.0.0.1:8080/");
/// assert!(with_user.headers().contains_key("authorization"));
/// # Ok::<(), api_toolkit::Error>(())
/// ```
pub trait IntoUrl: reqwest::IntoUrl + sealed::Sealed {}

impl IntoUrl for Url {}
impl IntoUrl for String {}
impl IntoUrl for &str {}
impl IntoUrl for &String {}

pub(crate) mod sealed {
    use reqwest::Url;

    pub trait Sealed: Sized {
        /// The URL, when reqwest would take it unchanged; `self` back otherwise.
        fn plain_url(self) -> Result<Url, Self>;
    }

    impl Sealed for Url {
        fn plain_url(self) -> Result<Url, Self> {
            if is_plain(&self) {
                Ok(self)
            } else {
                Err(self)
            }
        }
    }

    impl Sealed for &str {
        fn plain_url(self) -> Result<Url, Self> {
            parse_plain(self).ok_or(self)
        }
    }

    impl Sealed for &String {
        fn plain_url(self) -> Result<Url, Self> {
            parse_plain(self).ok_or(self)
        }
    }

    impl Sealed for String {
        fn plain_url(self) -> Result<Url, Self> {
            parse_plain(&self).ok_or(self)
        }
    }

    // Inlined into each caller: a call in between would copy the `Url` once more.
    #[inline]
    fn parse_plain(text: &str) -> Option<Url> {
        Url::parse(text).ok().filter(is_plain)
    }

    /// What reqwest's `Client::request` keeps as it is: a URL with a host (one it can send to)
    /// and without credentials (which it would move to an `Authorization` header).
    fn is_plain(url: &Url) -> bool {
        url.has_host() && url.username().is_empty() && url.password().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::sealed::Sealed;
    use super::*;

    #[test]
    fn plain_urls_are_parsed_here() {
        let url = "http://127.0.0.1:8080/a?b=c".plain_url().unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:8080/a?b=c");
        assert!(String::from("https://example.com").plain_url().is_ok());
        assert!(Url::parse("http://h/").unwrap().plain_url().is_ok());
    }

    #[test]
    fn others_are_left_to_reqwest() {
        for text in [
            "not a url",
            "unix:/run/x",
            "http://user:pw@h/",
            "http://user@h/",
        ] {
            assert_eq!(text.plain_url().unwrap_err(), text);
            assert_eq!(String::from(text).plain_url().unwrap_err(), text);
        }
    }
}
