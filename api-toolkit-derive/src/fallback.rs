//! What a derive with mistakes expands to: the errors, and an impl that keeps the rest of the
//! crate compiling, so the user sees one error per mistake rather than one at every call site.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{DeriveInput, Error};

use crate::errors::Errors;
use crate::{ast, attr};

pub(crate) fn expand(node: &DeriveInput, error: &Error) -> TokenStream {
    let ident = &node.ident;
    let (impl_generics, ty_generics, where_clause) = node.generics.split_for_impl();
    let error = error.to_compile_error();
    // A mistake in `#[connector(...)]` itself leaves the guess `::api_toolkit`.
    let krate = attr::parse_connector(&node.attrs, &mut Errors::default())
        .unwrap_or_else(ast::default_crate);
    quote! {
        #error

        #[automatically_derived]
        impl #impl_generics #krate::__private::ApiConnector for #ident #ty_generics #where_clause {
            type Session = #krate::__private::Session;

            fn session(&self) -> &Self::Session {
                ::core::unreachable!("#[derive(Connector)] failed to compile")
            }
        }
    }
}
