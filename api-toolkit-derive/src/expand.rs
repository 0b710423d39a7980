//! The `impl ApiConnector`. User mistakes were all reported while building [`Input`]; what
//! reaches this module is valid.

use proc_macro2::{Group, Ident, Literal, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{DeriveInput, Path};

use crate::ast::Input;
use crate::attr::Key;
use crate::fallback;
use crate::valid::{Breaker, Checked, Hedge, Method, Reset, Seconds, Setting, Throttle};

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
    let krate = &input.krate;
    let session_ty = input.session_ty;
    // Spanned at the user's type: a field of a type that is no session is reported there, as
    // "the trait `ConnectorSession` is not implemented for `String`".
    let session_item = quote_spanned!(session_ty.span()=> type Session = #session_ty;);
    let private = quote!(#krate::__private);
    let settings = retry_settings(&input.settings, &private);
    quote! {
        #[automatically_derived]
        impl #impl_generics #private::ApiConnector for #ident #ty_generics #where_clause {
            #session_item

            fn session(&self) -> &Self::Session {
                &self.#session
            }

            fn default_retry_settings() -> #private::RetrySettings {
                #settings
            }
        }
    }
}

/// `RetrySettings::default()` with the given keys overridden: the defaults live in one place.
fn retry_settings(settings: &[Setting], private: &TokenStream) -> TokenStream {
    if settings.is_empty() {
        return quote!(#private::RetrySettings::default());
    }
    let fields = settings.iter().map(|Setting { key, value }| {
        let name = format_ident!("{}", key.name());
        let value = value_tokens(value, private);
        quote!(#name: #value)
    });
    // With every key given, `..default()` would be a needless update.
    let rest =
        (settings.len() < Key::ALL.len()).then(|| quote!(..#private::RetrySettings::default()));
    quote! {
        #private::RetrySettings {
            #(#fields,)*
            #rest
        }
    }
}

/// Fresh literals (spanned at the derive, not at the user's tokens): lints such as
/// `clippy::unreadable_literal` then see generated code, not the user's.
fn value_tokens(value: &Checked, private: &TokenStream) -> TokenStream {
    match value {
        Checked::Count(count) => Literal::u32_unsuffixed(*count).into_token_stream(),
        Checked::Factor(factor) => Literal::f64_unsuffixed(*factor).into_token_stream(),
        Checked::Flag(flag) => quote!(#flag),
        Checked::Statuses(statuses) => statuses_tokens(statuses, private),
        Checked::Methods(methods) => {
            let methods = methods.iter().map(|method| method_tokens(method, private));
            quote!(#private::Vec::from([#(#methods),*]))
        }
        Checked::Seconds(secs) => duration_tokens(secs, private),
        Checked::Timeout(secs) => {
            let duration = duration_tokens(secs, private);
            quote!(::core::option::Option::Some(#duration))
        }
        Checked::Ratio(ratio) => {
            let ratio = Literal::f64_unsuffixed(*ratio);
            quote! {
                ::core::option::Option::Some(#private::RetryBudget {
                    ratio: #ratio,
                    ..#private::RetryBudget::default()
                })
            }
        }
        Checked::Header(name) => {
            let name = header_tokens(name, private);
            quote!(::core::option::Option::Some(#name))
        }
        Checked::Reset(reset) => {
            let reset = reset_tokens(reset, private);
            quote!(::core::option::Option::Some(#reset))
        }
        Checked::Classify(path) => classify_tokens(path, private),
        Checked::Bytes(bytes) => Literal::usize_unsuffixed(*bytes).into_token_stream(),
        Checked::Breaker(breaker) => {
            let breaker = breaker_tokens(breaker, private);
            quote!(::core::option::Option::Some(#breaker))
        }
        Checked::Throttling(throttle) => {
            let throttle = throttle_tokens(throttle, private);
            quote!(::core::option::Option::Some(#throttle))
        }
        Checked::Pacing(spread) => {
            let pacing = match spread {
                Some(spread) => quote!(#private::Pacing { spread: #spread }),
                None => quote!(#private::Pacing::default()),
            };
            quote!(::core::option::Option::Some(#pacing))
        }
        Checked::Hedging(hedge) => {
            let hedge = hedge_tokens(hedge, private);
            quote!(::core::option::Option::Some(#hedge))
        }
    }
}

/// `Throttling::default()` with the given fields overridden, like the settings.
fn throttle_tokens(throttle: &Throttle, private: &TokenStream) -> TokenStream {
    let Throttle {
        k,
        window,
        count_statuses,
        count_connection_failures,
        count_timeouts,
    } = throttle;
    let mut fields = Vec::new();
    if let Some(k) = k {
        let k = Literal::f64_unsuffixed(*k);
        fields.push(quote!(k: #k));
    }
    if let Some(secs) = window {
        let window = duration_tokens(secs, private);
        fields.push(quote!(window: #window));
    }
    count_fields(
        &mut fields,
        [count_statuses, count_connection_failures, count_timeouts],
    );
    struct_tokens(quote!(#private::Throttling), fields, 5)
}

/// The `count_*` fields given, which the breaker and throttling share.
fn count_fields(fields: &mut Vec<TokenStream>, flags: [&Option<bool>; 3]) {
    let names = [
        "count_statuses",
        "count_connection_failures",
        "count_timeouts",
    ];
    for (name, flag) in names.into_iter().zip(flags) {
        if let Some(flag) = flag {
            let name = Ident::new(name, Span::call_site());
            fields.push(quote!(#name: #flag));
        }
    }
}

/// `ty::default()` with `fields` overridden; `ty` has `all` fields.
fn struct_tokens(ty: TokenStream, fields: Vec<TokenStream>, all: usize) -> TokenStream {
    let default = quote!(#ty::default());
    match fields.len() {
        0 => default,
        // With every field given, `..default()` would be a needless update.
        n if n == all => quote!(#ty { #(#fields),* }),
        _ => quote!(#ty { #(#fields,)* ..#default }),
    }
}

/// `Hedging::default()` with the given fields overridden, like the settings.
fn hedge_tokens(hedge: &Hedge, private: &TokenStream) -> TokenStream {
    let mut fields = Vec::new();
    if let Some(delay) = hedge.delay {
        let secs = Literal::u64_unsuffixed(delay.as_secs());
        let nanos = Literal::u32_unsuffixed(delay.subsec_nanos());
        fields.push(quote!(delay: #private::Duration::new(#secs, #nanos)));
    }
    if let Some(count) = hedge.max_hedged {
        let count = Literal::u32_unsuffixed(count);
        fields.push(quote!(max_hedged: #count));
    }
    if let Some(quantile) = hedge.quantile {
        let quantile = Literal::f64_unsuffixed(quantile);
        fields.push(quote!(quantile: ::core::option::Option::Some(#quantile)));
    }
    let default = quote!(#private::Hedging::default());
    match fields.len() {
        0 => default,
        // With every field given, `..default()` would be a needless update.
        3 => quote!(#private::Hedging { #(#fields),* }),
        _ => quote!(#private::Hedging { #(#fields,)* ..#default }),
    }
}

/// `CircuitBreaker::default()` with the given fields overridden, like the settings.
fn breaker_tokens(breaker: &Breaker, private: &TokenStream) -> TokenStream {
    let Breaker {
        failure_ratio,
        min_attempts,
        window,
        break_duration,
        half_open_probes,
        count_statuses,
        count_connection_failures,
        count_timeouts,
    } = breaker;
    let mut fields = Vec::new();
    if let Some(ratio) = failure_ratio {
        let ratio = Literal::f64_unsuffixed(*ratio);
        fields.push(quote!(failure_ratio: #ratio));
    }
    if let Some(count) = min_attempts {
        let count = Literal::u32_unsuffixed(*count);
        fields.push(quote!(min_attempts: #count));
    }
    if let Some(secs) = window {
        let window = duration_tokens(secs, private);
        fields.push(quote!(window: #window));
    }
    if let Some(secs) = break_duration {
        let duration = duration_tokens(secs, private);
        fields.push(quote!(break_duration: #duration));
    }
    if let Some(count) = half_open_probes {
        let count = Literal::u32_unsuffixed(*count);
        fields.push(quote!(half_open_probes: #count));
    }
    count_fields(
        &mut fields,
        [count_statuses, count_connection_failures, count_timeouts],
    );
    struct_tokens(quote!(#private::CircuitBreaker), fields, 8)
}

fn statuses_tokens(statuses: &[u16], private: &TokenStream) -> TokenStream {
    if statuses.is_empty() {
        return quote!(#private::Vec::new());
    }
    let statuses = statuses
        .iter()
        .map(|&status| Literal::u16_unsuffixed(status));
    quote!(#private::Vec::from([#(#statuses),*]))
}

/// A header name checked to be valid and in lower case, as `from_static` requires.
fn header_tokens(name: &str, private: &TokenStream) -> TokenStream {
    quote!(#private::HeaderName::from_static(#name))
}

/// `RateLimitReset::default()` with the given fields overridden, like the settings.
fn reset_tokens(reset: &Reset, private: &TokenStream) -> TokenStream {
    let Reset {
        header,
        form,
        remaining_header,
        statuses,
    } = reset;
    let mut fields = Vec::new();
    if let Some(header) = header {
        let header = header_tokens(header, private);
        fields.push(quote!(header: #header));
    }
    if let Some(form) = form {
        let form = Ident::new(form.variant(), Span::call_site());
        fields.push(quote!(form: #private::ResetForm::#form));
    }
    if let Some(remaining_header) = remaining_header {
        let remaining_header = header_tokens(remaining_header, private);
        fields.push(quote!(remaining_header: #remaining_header));
    }
    if let Some(statuses) = statuses {
        let statuses = statuses_tokens(statuses, private);
        fields.push(quote!(statuses: #statuses));
    }
    let default = quote!(#private::RateLimitReset::default());
    match fields.len() {
        0 => default,
        // With every field given, `..default()` would be a needless update.
        4 => quote!(#private::RateLimitReset { #(#fields),* }),
        _ => quote!(#private::RateLimitReset { #(#fields,)* ..#default }),
    }
}

/// `Some(Classifier::from_fn(path))`, through a binding of type `ClassifyFn` spanned at the
/// user's path: a missing function is then an unresolved name there, and one of another
/// signature a type mismatch there, not an error inside the expansion. (The binding and its use
/// share the span, so that they share their hygiene inside a `macro_rules!` too.)
fn classify_tokens(path: &Path, private: &TokenStream) -> TokenStream {
    // The crate's path too, or the mismatch would also point at `#[derive(Connector)]`.
    let private = respan(private.clone(), path.span());
    quote_spanned! {path.span()=>
        ::core::option::Option::Some({
            let classify: #private::ClassifyFn = #path;
            #private::Classifier::from_fn(classify)
        })
    }
}

/// `tokens` with every span set to `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(group) = &tree {
                let mut respanned = Group::new(group.delimiter(), respan(group.stream(), span));
                respanned.set_span(span);
                tree = TokenTree::Group(respanned);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

fn duration_tokens(secs: &Seconds, private: &TokenStream) -> TokenStream {
    match secs {
        Seconds::Whole(secs) => {
            let secs = Literal::u64_unsuffixed(*secs);
            quote!(#private::Duration::from_secs(#secs))
        }
        Seconds::Fraction(secs) => {
            let secs = Literal::f64_unsuffixed(*secs);
            quote!(#private::Duration::from_secs_f64(#secs))
        }
    }
}

fn method_tokens(method: &Method, private: &TokenStream) -> TokenStream {
    match method {
        Method::Standard(name) => {
            let name = Ident::new(name, Span::call_site());
            quote!(#private::Method::#name)
        }
        Method::Extension(name) => quote!(#private::method(#name)),
    }
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    /// Every kind of value, through another crate path: the expansion names no `api_toolkit`.
    #[test]
    fn the_crate_path_is_used_throughout() {
        let node: DeriveInput = parse_quote! {
            #[connector(crate = my_sdk::toolkit)]
            #[retry(max_retries = 3, backoff_factor = 0.5, status_forcelist = [429, 500..=599])]
            #[retry(allowed_methods = ["GET", "PURGE"], backoff_max = 1.5, total_timeout = 30)]
            #[retry(retry_budget = 0.2, should_retry_header = "x-should-retry")]
            #[retry(rate_limit_reset(form = "delta_seconds", statuses = [429]))]
            #[retry(classify = rules, classify_body_bytes = 4096)]
            #[retry(circuit_breaker(failure_ratio = 0.5, window = 10, break_duration = 0.5))]
            struct Shop {
                session: Session,
            }
        };
        let expanded = derive(&node).to_string();
        assert!(expanded.contains("my_sdk :: toolkit :: __private :: ApiConnector"));
        assert!(!expanded.contains("api_toolkit"), "{expanded}");
    }

    #[test]
    fn the_fallback_uses_the_crate_path_too() {
        let node: DeriveInput = parse_quote! {
            #[connector(crate = my_sdk::toolkit)]
            #[retry(max_retries = "x")]
            struct Shop {
                session: Session,
            }
        };
        let expanded = derive(&node).to_string();
        assert!(expanded.contains("compile_error"));
        assert!(!expanded.contains("api_toolkit"), "{expanded}");
    }

    #[test]
    fn the_default_crate_path_is_absolute() {
        let node: DeriveInput = parse_quote! {
            struct Shop {
                session: Session,
            }
        };
        let expanded = derive(&node).to_string();
        assert!(expanded.contains(":: api_toolkit :: __private :: ApiConnector"));
    }
}
