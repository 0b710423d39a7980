//! Host names for tests, resolved without a DNS server: one that does not exist, one whose
//! resolution never ends (so connecting to it hangs, as a black-holed address would), and every
//! other name to 127.0.0.1.

use std::net::SocketAddr;

use api_toolkit::reqwest;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// A name that does not resolve: connecting to it fails at once, as with a DNS error.
pub const NO_SUCH_HOST: &str = "no-such-host.test";

/// A name whose resolution never ends: connecting to it hangs until a limit cuts it.
pub const HANGING_HOST: &str = "hanging-host.test";

/// The resolver behind [`client_builder`].
#[derive(Clone, Copy, Debug, Default)]
pub struct TestResolver;

impl Resolve for TestResolver {
    fn resolve(&self, name: Name) -> Resolving {
        match name.as_str() {
            HANGING_HOST => Box::pin(std::future::pending()),
            NO_SUCH_HOST => Box::pin(async { Err("no such host (test resolver)".into()) }),
            _ => Box::pin(async {
                let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
                Ok(Box::new(std::iter::once(loopback)) as Addrs)
            }),
        }
    }
}

/// A `reqwest::ClientBuilder` that resolves names with [`TestResolver`], for
/// `Session::builder().client_builder(..)`.
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().dns_resolver(TestResolver)
}
