//! `#[retry(...)]`: which keys were given and the *shape* of each value.
//!
//! A value of the wrong shape (a string where an integer goes, a missing `[...]`) is reported
//! here; whether a well-shaped value is in range is [`valid`](crate::valid)'s business. Every
//! mistake is recorded and parsing goes on with the next key, so one build shows them all.

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::token::Bracket;
use syn::{bracketed, Attribute, Error, Lit, LitBool, LitFloat, LitInt, LitStr, Meta, Path, Token};

use crate::errors::Errors;

/// A key of `#[retry(...)]`: one per field of `RetrySettings`, with the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[expect(
    clippy::enum_variant_names,
    reason = "each variant is its field's name: `IdempotencyKey` is `idempotency_key`"
)]
pub(crate) enum Key {
    MaxRetries,
    BackoffFactor,
    StatusForcelist,
    AllowedMethods,
    RaiseOnStatus,
    BackoffMax,
    RespectRetryAfterHeader,
    RetryAfterMax,
    TotalTimeout,
    AttemptTimeout,
    BackoffJitter,
    IdempotencyKey,
    RetryBudget,
    ShareRetryAfter,
}

impl Key {
    /// Every key, in the order of the fields of `RetrySettings`.
    pub(crate) const ALL: [Key; 14] = [
        Key::MaxRetries,
        Key::BackoffFactor,
        Key::StatusForcelist,
        Key::AllowedMethods,
        Key::RaiseOnStatus,
        Key::BackoffMax,
        Key::RespectRetryAfterHeader,
        Key::RetryAfterMax,
        Key::TotalTimeout,
        Key::AttemptTimeout,
        Key::BackoffJitter,
        Key::IdempotencyKey,
        Key::RetryBudget,
        Key::ShareRetryAfter,
    ];

    /// The key, which is also the name of the `RetrySettings` field it sets.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Key::MaxRetries => "max_retries",
            Key::BackoffFactor => "backoff_factor",
            Key::StatusForcelist => "status_forcelist",
            Key::AllowedMethods => "allowed_methods",
            Key::RaiseOnStatus => "raise_on_status",
            Key::BackoffMax => "backoff_max",
            Key::RespectRetryAfterHeader => "respect_retry_after_header",
            Key::RetryAfterMax => "retry_after_max",
            Key::TotalTimeout => "total_timeout",
            Key::AttemptTimeout => "attempt_timeout",
            Key::BackoffJitter => "backoff_jitter",
            Key::IdempotencyKey => "idempotency_key",
            Key::RetryBudget => "retry_budget",
            Key::ShareRetryAfter => "share_retry_after",
        }
    }

    /// The message for a value of the wrong shape: ``expected `max_retries = <integer>` ``.
    pub(crate) fn expected(self) -> String {
        let value = match self {
            Key::MaxRetries => "<integer>",
            Key::BackoffFactor => "<float>",
            Key::StatusForcelist => "[<status>, ...]",
            Key::AllowedMethods => "[\"<method>\", ...]",
            Key::RaiseOnStatus
            | Key::RespectRetryAfterHeader
            | Key::IdempotencyKey
            | Key::ShareRetryAfter => "<bool>",
            Key::BackoffMax
            | Key::RetryAfterMax
            | Key::TotalTimeout
            | Key::AttemptTimeout
            | Key::BackoffJitter => "<seconds>",
            Key::RetryBudget => "<ratio>",
        };
        format!("expected `{} = {value}`", self.name())
    }

    fn from_path(path: &Path) -> Option<Key> {
        let ident = path.get_ident()?;
        Key::ALL.into_iter().find(|key| ident == key.name())
    }
}

/// One `key = value` of `#[retry(...)]`.
pub(crate) struct Entry {
    pub(crate) key: Key,
    pub(crate) value: Value,
}

/// A value of the shape its key takes (the variant follows from the key).
pub(crate) enum Value {
    /// `max_retries`.
    Count(Int),
    /// `backoff_factor`: seconds, as an integer or a float.
    Factor(Number),
    /// `backoff_max`, `retry_after_max` and `backoff_jitter`.
    Seconds(Number),
    /// `total_timeout` and `attempt_timeout`: seconds, set as `Some`.
    Timeout(Number),
    /// `retry_budget`: the budget's `ratio`, as an integer or a float.
    Ratio(Number),
    /// `status_forcelist`.
    Statuses(Vec<Int>),
    /// `allowed_methods`.
    Methods(List<LitStr>),
    /// `raise_on_status`, `respect_retry_after_header`, `idempotency_key` and
    /// `share_retry_after`.
    Flag(LitBool),
}

/// A numeric literal and the `-` before it, if any: kept apart from the literal so that an error
/// spans both.
pub(crate) struct Signed<L> {
    pub(crate) minus: Option<Token![-]>,
    pub(crate) lit: L,
}

pub(crate) type Int = Signed<LitInt>;
pub(crate) type Float = Signed<LitFloat>;

impl Int {
    /// The value as written, sign included, in base 10: `-1`, `600`.
    pub(crate) fn digits(&self) -> String {
        signed_digits(self.minus.is_some(), self.lit.base10_digits())
    }
}

impl Float {
    /// The value as written, sign included: `-0.5`, `1e999`.
    pub(crate) fn digits(&self) -> String {
        signed_digits(self.minus.is_some(), self.lit.base10_digits())
    }
}

fn signed_digits(negative: bool, digits: &str) -> String {
    if negative {
        format!("-{digits}")
    } else {
        digits.to_owned()
    }
}

impl<L: ToTokens> ToTokens for Signed<L> {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.minus.to_tokens(tokens);
        self.lit.to_tokens(tokens);
    }
}

/// A number of seconds, a factor or a ratio: an integer or a float literal.
pub(crate) enum Number {
    Int(Int),
    Float(Float),
}

impl ToTokens for Number {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            Number::Int(int) => int.to_tokens(tokens),
            Number::Float(float) => float.to_tokens(tokens),
        }
    }
}

/// The items of a `[...]`, and the brackets (to point at an empty list).
pub(crate) struct List<T> {
    pub(crate) brackets: Bracket,
    pub(crate) items: Vec<T>,
}

/// Parses every `#[retry(...)]` of the struct; several are merged, as if written as one.
pub(crate) fn parse(attrs: &[Attribute], errors: &mut Errors) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    // Every key met, including those whose value was a mistake, to catch repeats.
    let mut seen: Vec<Key> = Vec::new();
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("retry")) {
        if !matches!(attr.meta, Meta::List(_)) {
            errors.push(Error::new_spanned(&attr.meta, EXPECTED_LIST));
            continue;
        }
        let result = attr.parse_nested_meta(|meta| {
            if let Some(entry) = parse_entry(&meta, &mut seen, errors) {
                if meta.input.is_empty() || meta.input.peek(Token![,]) {
                    entries.push(entry);
                } else {
                    errors.push(Error::new(meta.input.span(), entry.key.expected()));
                }
            }
            skip_to_comma(meta.input);
            Ok(())
        });
        // The closure never fails: this is a token where a key should be (`#[retry(3)]`).
        if let Err(error) = result {
            errors.push(Error::new(error.span(), EXPECTED_LIST));
        }
    }
    entries
}

const EXPECTED_LIST: &str = "expected `#[retry(<key> = <value>, ...)]`";

/// Parses `key = value`; on a mistake, records it and returns `None` (the caller skips the rest).
fn parse_entry(meta: &ParseNestedMeta, seen: &mut Vec<Key>, errors: &mut Errors) -> Option<Entry> {
    let Some(key) = Key::from_path(&meta.path) else {
        errors.push(Error::new_spanned(&meta.path, unknown_key(&meta.path)));
        return None;
    };
    if seen.contains(&key) {
        let message = format!("duplicate key `{}` in `#[retry(...)]`", key.name());
        errors.push(Error::new_spanned(&meta.path, message));
        return None;
    }
    seen.push(key);
    if !meta.input.peek(Token![=]) {
        errors.push(Error::new_spanned(&meta.path, key.expected()));
        return None;
    }
    let input = errors.ok(meta.value())?;
    let value = match key {
        Key::MaxRetries => parse_int(input, key, "u32").map(Value::Count),
        Key::BackoffFactor => parse_number(input, key).map(Value::Factor),
        Key::BackoffMax | Key::RetryAfterMax | Key::BackoffJitter => {
            parse_number(input, key).map(Value::Seconds)
        }
        Key::TotalTimeout | Key::AttemptTimeout => parse_number(input, key).map(Value::Timeout),
        Key::RetryBudget => parse_number(input, key).map(Value::Ratio),
        Key::StatusForcelist => parse_list(input, key, |lit, key| int(lit, key, "u16"))
            .map(|list| Value::Statuses(list.items)),
        Key::AllowedMethods => parse_list(input, key, |lit, key| match lit {
            SignedLit {
                minus: None,
                lit: Lit::Str(lit),
            } => Ok(lit),
            other => Err(Error::new_spanned(other, key.expected())),
        })
        .map(Value::Methods),
        Key::RaiseOnStatus
        | Key::RespectRetryAfterHeader
        | Key::IdempotencyKey
        | Key::ShareRetryAfter => parse_flag(input, key).map(Value::Flag),
    };
    errors.ok(value).map(|value| Entry { key, value })
}

/// A literal, perhaps negative: what the values of `#[retry(...)]` are made of.
struct SignedLit {
    minus: Option<Token![-]>,
    lit: Lit,
}

impl Parse for SignedLit {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        Ok(SignedLit {
            minus: input.parse()?,
            lit: input.parse()?,
        })
    }
}

impl ToTokens for SignedLit {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.minus.to_tokens(tokens);
        self.lit.to_tokens(tokens);
    }
}

/// Parses a literal, reporting anything else as `key.expected()`.
fn parse_lit(input: ParseStream, key: Key) -> syn::Result<SignedLit> {
    input
        .parse()
        .map_err(|error| Error::new(error.span(), key.expected()))
}

fn parse_int(input: ParseStream, key: Key, suffix: &str) -> syn::Result<Int> {
    int(parse_lit(input, key)?, key, suffix)
}

/// An integer literal, without a suffix or with `suffix` (the type of the field).
fn int(lit: SignedLit, key: Key, suffix: &str) -> syn::Result<Int> {
    match lit {
        SignedLit {
            minus,
            lit: Lit::Int(lit),
        } => {
            check_suffix(&lit, lit.suffix(), &["", suffix], key)?;
            Ok(Signed { minus, lit })
        }
        other => Err(Error::new_spanned(other, key.expected())),
    }
}

fn parse_number(input: ParseStream, key: Key) -> syn::Result<Number> {
    match parse_lit(input, key)? {
        SignedLit {
            minus,
            lit: Lit::Int(lit),
        } => {
            check_suffix(&lit, lit.suffix(), &[""], key)?;
            Ok(Number::Int(Signed { minus, lit }))
        }
        SignedLit {
            minus,
            lit: Lit::Float(lit),
        } => {
            check_suffix(&lit, lit.suffix(), &["", "f64"], key)?;
            Ok(Number::Float(Signed { minus, lit }))
        }
        other => Err(Error::new_spanned(other, key.expected())),
    }
}

/// A suffix other than the field's type (`3u8` for a `u32`) is a mistake.
fn check_suffix(lit: &impl ToTokens, suffix: &str, allowed: &[&str], key: Key) -> syn::Result<()> {
    if allowed.contains(&suffix) {
        Ok(())
    } else {
        let message = format!("{}; remove the suffix `{suffix}`", key.expected());
        Err(Error::new_spanned(lit, message))
    }
}

fn parse_flag(input: ParseStream, key: Key) -> syn::Result<LitBool> {
    match parse_lit(input, key)? {
        SignedLit {
            minus: None,
            lit: Lit::Bool(lit),
        } => Ok(lit),
        other => Err(Error::new_spanned(other, key.expected())),
    }
}

/// Parses `[item, ...]`; the error holds every item of the wrong kind.
fn parse_list<T>(
    input: ParseStream,
    key: Key,
    item: impl Fn(SignedLit, Key) -> syn::Result<T>,
) -> syn::Result<List<T>> {
    let (brackets, lits) =
        bracketed_lits(input).map_err(|error| Error::new(error.span(), key.expected()))?;
    let mut errors = Errors::default();
    let items = lits
        .into_iter()
        .filter_map(|lit| errors.ok(item(lit, key)))
        .collect();
    errors.finish()?;
    Ok(List { brackets, items })
}

/// `[lit, ...]`, with `bracketed!` and `Punctuated` (syn's `full` feature is not needed).
fn bracketed_lits(input: ParseStream) -> syn::Result<(Bracket, Punctuated<SignedLit, Token![,]>)> {
    let content;
    let brackets = bracketed!(content in input);
    let lits = Punctuated::parse_terminated(&content);
    if lits.is_err() {
        // Left unparsed, the rest would be reported again, as an unexpected token.
        content.parse::<TokenStream>()?;
    }
    Ok((brackets, lits?))
}

/// Skips what is left of a `key = value` after a mistake, up to the next `,`.
fn skip_to_comma(input: ParseStream) {
    let _ = input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tree, next)) = rest.token_tree() {
            match tree {
                TokenTree::Punct(punct) if punct.as_char() == ',' => break,
                _ => rest = next,
            }
        }
        Ok(((), rest))
    });
}

/// ``unknown key `max_retry` in `#[retry(...)]`; did you mean `max_retries`?``
fn unknown_key(path: &Path) -> String {
    let name = path
        .segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect::<Vec<_>>()
        .join("::");
    let candidates = closest_keys(&name);
    if candidates.is_empty() {
        format!(
            "unknown key `{name}` in `#[retry(...)]`; expected one of {}",
            quoted(&Key::ALL, ", ")
        )
    } else {
        format!(
            "unknown key `{name}` in `#[retry(...)]`; did you mean {}?",
            quoted(&candidates, " or ")
        )
    }
}

/// `` `a`, `b`, `c` ``, with `last_separator` (`" or "`) before the last name.
fn quoted(keys: &[Key], last_separator: &str) -> String {
    let names: Vec<String> = keys.iter().map(|key| format!("`{}`", key.name())).collect();
    match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{}{last_separator}{last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The keys `name` most likely stands for, compared without case and underscores: the key it
/// misspells (the nearest within a third of its length in edits), else every key containing it
/// (`methods`; `timeout` is part of two keys).
fn closest_keys(name: &str) -> Vec<Key> {
    let normalize = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let name = normalize(name);
    let misspelled = Key::ALL
        .into_iter()
        .filter_map(|key| {
            let candidate = normalize(key.name());
            let distance = edit_distance(&name, &candidate);
            (distance <= (candidate.len() / 3).max(1)).then_some((distance, key))
        })
        .min_by_key(|&(distance, _)| distance);
    if let Some((_, key)) = misspelled {
        return vec![key];
    }
    if name.len() < 4 {
        return Vec::new();
    }
    Key::ALL
        .into_iter()
        .filter(|key| normalize(key.name()).contains(&name))
        .collect()
}

/// The Levenshtein distance between two ASCII strings.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.as_bytes().iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_misspellings_get_a_suggestion() {
        assert_eq!(closest_keys("max_retry"), [Key::MaxRetries]);
        assert_eq!(closest_keys("backof_factor"), [Key::BackoffFactor]);
        assert_eq!(closest_keys("MaxRetries"), [Key::MaxRetries]);
        assert_eq!(closest_keys("methods"), [Key::AllowedMethods]);
        assert_eq!(closest_keys("status_force_list"), [Key::StatusForcelist]);
        assert_eq!(closest_keys("retry_after"), [Key::RetryAfterMax]);
        assert_eq!(closest_keys("total_timeuot"), [Key::TotalTimeout]);
        assert_eq!(closest_keys("jitter"), [Key::BackoffJitter]);
        assert_eq!(closest_keys("budget"), [Key::RetryBudget]);
        assert_eq!(closest_keys("idempotency"), [Key::IdempotencyKey]);
        assert_eq!(closest_keys("share_retry_afer"), [Key::ShareRetryAfter]);
    }

    #[test]
    fn a_part_of_several_keys_suggests_them_all() {
        assert_eq!(
            closest_keys("timeout"),
            [Key::TotalTimeout, Key::AttemptTimeout]
        );
        assert_eq!(
            unknown_key(&syn::parse_quote!(timeout)),
            "unknown key `timeout` in `#[retry(...)]`; did you mean `total_timeout` or `attempt_timeout`?"
        );
    }

    #[test]
    fn unrelated_names_get_the_list_of_keys() {
        assert_eq!(closest_keys("proxy"), []);
        assert_eq!(closest_keys("x"), []);
        let message = unknown_key(&syn::parse_quote!(proxy));
        assert!(message.contains("expected one of `max_retries`, `backoff_factor`"));
        assert!(message.ends_with(", `retry_budget`, `share_retry_after`"));
    }

    #[test]
    fn edit_distance_counts_insertions_deletions_and_substitutions() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
