//! The `#[derive(Connector)]` of [api-toolkit](https://docs.rs/api-toolkit); see its docs.

use proc_macro::TokenStream;

/// Implements `api_toolkit::ApiConnector`; documented in the `api-toolkit` crate.
#[proc_macro_derive(Connector, attributes(retry, session))]
pub fn derive_connector(input: TokenStream) -> TokenStream {
    let _ = input;
    TokenStream::new()
}
