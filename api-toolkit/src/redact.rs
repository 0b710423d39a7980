//! URLs as they may be shown: without the query, fragment or credentials, where API keys and
//! tokens often travel.
//!
//! The crate shows URLs only this way: in its errors, its tracing spans and events, and the
//! `Debug` of its types. Hooks and classifiers of yours that log URLs can do the same.

use reqwest::Url;

/// Strips the query, the fragment and any `user:password@` from `url`, in place.
///
/// # Examples
///
/// ```
/// let mut url = api_toolkit::reqwest::Url::parse("https://me:pw@api.example/v1?key=s3cret#top")?;
/// api_toolkit::redact::redact(&mut url);
/// assert_eq!(url.as_str(), "https://api.example/v1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn redact(url: &mut Url) {
    url.set_query(None);
    url.set_fragment(None);
    let _ = url.set_username("");
    let _ = url.set_password(None);
}

/// A copy of `url` without its query, fragment or credentials, as the crate logs it.
///
/// # Examples
///
/// ```
/// use api_toolkit::redact::redacted;
///
/// let url = api_toolkit::reqwest::Url::parse("https://api.example/v1/charges?token=abc")?;
/// assert_eq!(redacted(&url).as_str(), "https://api.example/v1/charges");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn redacted(url: &Url) -> Url {
    let mut url = url.clone();
    redact(&mut url);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_fragment_and_credentials_removed() {
        let url: Url = "https://user:secret@api.example/v1/charges?token=abc#frag"
            .parse()
            .unwrap();
        assert_eq!(redacted(&url).as_str(), "https://api.example/v1/charges");
    }
}
