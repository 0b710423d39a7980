//! The `impl ApiConnector`. User mistakes were all reported while building [`Input`]; what
//! reaches this module is valid.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{DeriveInput, GenericArgument, Path, PathArguments, Type};

use crate::ast::Input;
use crate::attr::Key;
use crate::fallback;
use crate::valid::{Checked, Method, Reset, Seconds, Setting};

/// The impl, or the errors and a [`fallback`] impl.
pub(crate) fn derive(node: &DeriveInput) -> TokenStream {
    match Input::from_syn(node) {
        Ok(input) => impl_api_connector(&input),
        Err(error) => fallback::expand(node, &error),
    }
}

fn impl_api_connector(input: &Input) -> TokenStream {
    let ident = input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let session = &input.session;
    let session_ty = session_type(input.session_ty);
    // Spanned at the user's type: a field of a type that is no session is reported there, as
    // "the trait `ConnectorSession` is not implemented for `String`".
    let session_item = quote_spanned!(session_ty.span()=> type Session = #session_ty;);
    let settings = retry_settings(&input.settings);
    quote! {
        #[automatically_derived]
        impl #impl_generics ::api_toolkit::__private::ApiConnector for #ident #ty_generics #where_clause {
            #session_item

            fn session(&self) -> &Self::Session {
                &self.#session
            }

            fn default_retry_settings() -> ::api_toolkit::__private::RetrySettings {
                #settings
            }
        }
    }
}

/// The session a field of type `ty` holds: `ty` itself, or what a reference or an `Arc`, `Rc`
/// or `Box` of it points at, to which `&self.field` derefs (`&Arc<Session>` to `&Session`).
/// Pointers are recognized by their last path segment, as written: one behind a type alias
/// is taken as the session type itself, and reported if it is none.
fn session_type(ty: &Type) -> &Type {
    match ty {
        Type::Reference(reference) => session_type(&reference.elem),
        // A type passed through a `macro_rules!` fragment, or written in parentheses.
        Type::Group(group) => session_type(&group.elem),
        Type::Paren(paren) => session_type(&paren.elem),
        Type::Path(path) if path.qself.is_none() => {
            let Some(last) = path.path.segments.last() else {
                return ty;
            };
            let PathArguments::AngleBracketed(arguments) = &last.arguments else {
                return ty;
            };
            let pointer = ["Arc", "Rc", "Box"].iter().any(|name| last.ident == name);
            match (pointer, arguments.args.len(), arguments.args.first()) {
                (true, 1, Some(GenericArgument::Type(pointee))) => session_type(pointee),
                _ => ty,
            }
        }
        _ => ty,
    }
}

/// `RetrySettings::default()` with the given keys overridden: the defaults live in one place.
fn retry_settings(settings: &[Setting]) -> TokenStream {
    if settings.is_empty() {
        return quote!(::api_toolkit::__private::RetrySettings::default());
    }
    let fields = settings.iter().map(|Setting { key, value }| {
        let name = format_ident!("{}", key.name());
        let value = value_tokens(value);
        quote!(#name: #value)
    });
    // With every key given, `..default()` would be a needless update.
    let rest = (settings.len() < Key::ALL.len())
        .then(|| quote!(..::api_toolkit::__private::RetrySettings::default()));
    quote! {
        ::api_toolkit::__private::RetrySettings {
            #(#fields,)*
            #rest
        }
    }
}

/// Fresh literals (spanned at the derive, not at the user's tokens): lints such as
/// `clippy::unreadable_literal` then see generated code, not the user's.
fn value_tokens(value: &Checked) -> TokenStream {
    match value {
        Checked::Count(count) => Literal::u32_unsuffixed(*count).into_token_stream(),
        Checked::Factor(factor) => Literal::f64_unsuffixed(*factor).into_token_stream(),
        Checked::Flag(flag) => quote!(#flag),
        Checked::Statuses(statuses) => statuses_tokens(statuses),
        Checked::Methods(methods) => {
            let methods = methods.iter().map(method_tokens);
            quote!(::api_toolkit::__private::Vec::from([#(#methods),*]))
        }
        Checked::Seconds(secs) => duration_tokens(secs),
        Checked::Timeout(secs) => {
            let duration = duration_tokens(secs);
            quote!(::core::option::Option::Some(#duration))
        }
        Checked::Ratio(ratio) => {
            let ratio = Literal::f64_unsuffixed(*ratio);
            quote! {
                ::core::option::Option::Some(::api_toolkit::__private::RetryBudget {
                    ratio: #ratio,
                    ..::api_toolkit::__private::RetryBudget::default()
                })
            }
        }
        Checked::Header(name) => {
            let name = header_tokens(name);
            quote!(::core::option::Option::Some(#name))
        }
        Checked::Reset(reset) => {
            let reset = reset_tokens(reset);
            quote!(::core::option::Option::Some(#reset))
        }
        Checked::Classify(path) => classify_tokens(path),
        Checked::Bytes(bytes) => Literal::usize_unsuffixed(*bytes).into_token_stream(),
    }
}

fn statuses_tokens(statuses: &[u16]) -> TokenStream {
    if statuses.is_empty() {
        return quote!(::api_toolkit::__private::Vec::new());
    }
    let statuses = statuses
        .iter()
        .map(|&status| Literal::u16_unsuffixed(status));
    quote!(::api_toolkit::__private::Vec::from([#(#statuses),*]))
}

/// A header name checked to be valid and in lower case, as `from_static` requires.
fn header_tokens(name: &str) -> TokenStream {
    quote!(::api_toolkit::__private::HeaderName::from_static(#name))
}

/// `RateLimitReset::default()` with the given fields overridden, like the settings.
fn reset_tokens(reset: &Reset) -> TokenStream {
    let Reset {
        header,
        form,
        remaining_header,
        statuses,
    } = reset;
    let mut fields = Vec::new();
    if let Some(header) = header {
        let header = header_tokens(header);
        fields.push(quote!(header: #header));
    }
    if let Some(form) = form {
        let form = Ident::new(form.variant(), Span::call_site());
        fields.push(quote!(form: ::api_toolkit::__private::ResetForm::#form));
    }
    if let Some(remaining_header) = remaining_header {
        let remaining_header = header_tokens(remaining_header);
        fields.push(quote!(remaining_header: #remaining_header));
    }
    if let Some(statuses) = statuses {
        let statuses = statuses_tokens(statuses);
        fields.push(quote!(statuses: #statuses));
    }
    let default = quote!(::api_toolkit::__private::RateLimitReset::default());
    match fields.len() {
        0 => default,
        // With every field given, `..default()` would be a needless update.
        4 => quote!(::api_toolkit::__private::RateLimitReset { #(#fields),* }),
        _ => quote!(::api_toolkit::__private::RateLimitReset { #(#fields,)* ..#default }),
    }
}

/// `Some(Classifier::from_fn(path))`, through a binding of type `ClassifyFn` spanned at the
/// user's path: a missing function is then an unresolved name there, and one of another
/// signature a type mismatch there, not an error inside the expansion. (The binding and its use
/// share the span, so that they share their hygiene inside a `macro_rules!` too.)
fn classify_tokens(path: &Path) -> TokenStream {
    quote_spanned! {path.span()=>
        ::core::option::Option::Some({
            let classify: ::api_toolkit::__private::ClassifyFn = #path;
            ::api_toolkit::__private::Classifier::from_fn(classify)
        })
    }
}

fn duration_tokens(secs: &Seconds) -> TokenStream {
    match secs {
        Seconds::Whole(secs) => {
            let secs = Literal::u64_unsuffixed(*secs);
            quote!(::api_toolkit::__private::Duration::from_secs(#secs))
        }
        Seconds::Fraction(secs) => {
            let secs = Literal::f64_unsuffixed(*secs);
            quote!(::api_toolkit::__private::Duration::from_secs_f64(#secs))
        }
    }
}

fn method_tokens(method: &Method) -> TokenStream {
    match method {
        Method::Standard(name) => {
            let name = Ident::new(name, Span::call_site());
            quote!(::api_toolkit::__private::Method::#name)
        }
        Method::Extension(name) => quote!(::api_toolkit::__private::method(#name)),
    }
}
