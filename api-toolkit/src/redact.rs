//! URLs as they may be shown: without the query, fragment or credentials, where API keys and
//! tokens often travel.

use reqwest::Url;

/// Strips the query, the fragment and any `user:password@`.
pub(crate) fn redact(url: &mut Url) {
    url.set_query(None);
    url.set_fragment(None);
    let _ = url.set_username("");
    let _ = url.set_password(None);
}

/// A redacted copy of `url`.
pub(crate) fn redacted(url: &Url) -> Url {
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
