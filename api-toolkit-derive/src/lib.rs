//! The `#[derive(Connector)]` of [api-toolkit](https://docs.rs/api-toolkit): see
//! `api_toolkit::Connector` for what it does and which attributes it takes.

mod ast;
mod attr;
mod errors;
mod expand;
mod fallback;
mod hint;
mod valid;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Implemented in the `api-toolkit-derive` crate: depend on `api-toolkit`, which re-exports it.
#[proc_macro_derive(Connector, attributes(retry, session, connector))]
pub fn derive_connector(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}
