//! `#[retry(...)]`: which keys were given and the *shape* of each value.
//!
//! A value of the wrong shape (a string where an integer goes, a missing `[...]`) is reported
//! here; whether a well-shaped value is in range is [`valid`](crate::valid)'s business. Every
//! mistake is recorded and parsing goes on with the next key, so one build shows them all.

use proc_macro2::{Punct, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use syn::meta::ParseNestedMeta;
use syn::parse::{Parse, ParseStream, Parser};
use syn::token::{Bracket, Paren};
use syn::{
    bracketed, parenthesized, Attribute, Error, Lit, LitBool, LitFloat, LitInt, LitStr, Meta, Path,
    PathArguments, Token,
};

use crate::errors::Errors;
use crate::hint::{self, Want};

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
    ErrorForStatus,
    BackoffMax,
    RespectRetryAfterHeader,
    RetryAfterMax,
    TotalTimeout,
    AttemptTimeout,
    BackoffJitter,
    IdempotencyKey,
    RetryBudget,
    ShareRetryAfter,
    RespectRetryAfterMs,
    ShouldRetryHeader,
    RateLimitReset,
    KeyedRetries,
    Classify,
    ClassifyBodyBytes,
    ReplayLimit,
    CircuitBreaker,
    Throttling,
    Pacing,
    Hedging,
}

impl Key {
    /// Every key, in the order of the fields of `RetrySettings`.
    pub(crate) const ALL: [Key; 26] = [
        Key::MaxRetries,
        Key::BackoffFactor,
        Key::StatusForcelist,
        Key::AllowedMethods,
        Key::RaiseOnStatus,
        Key::ErrorForStatus,
        Key::BackoffMax,
        Key::RespectRetryAfterHeader,
        Key::RetryAfterMax,
        Key::TotalTimeout,
        Key::AttemptTimeout,
        Key::BackoffJitter,
        Key::IdempotencyKey,
        Key::RetryBudget,
        Key::ShareRetryAfter,
        Key::RespectRetryAfterMs,
        Key::ShouldRetryHeader,
        Key::RateLimitReset,
        Key::KeyedRetries,
        Key::Classify,
        Key::ClassifyBodyBytes,
        Key::ReplayLimit,
        Key::CircuitBreaker,
        Key::Throttling,
        Key::Pacing,
        Key::Hedging,
    ];

    /// The key, which is also the name of the `RetrySettings` field it sets.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Key::MaxRetries => "max_retries",
            Key::BackoffFactor => "backoff_factor",
            Key::StatusForcelist => "status_forcelist",
            Key::AllowedMethods => "allowed_methods",
            Key::RaiseOnStatus => "raise_on_status",
            Key::ErrorForStatus => "error_for_status",
            Key::BackoffMax => "backoff_max",
            Key::RespectRetryAfterHeader => "respect_retry_after_header",
            Key::RetryAfterMax => "retry_after_max",
            Key::TotalTimeout => "total_timeout",
            Key::AttemptTimeout => "attempt_timeout",
            Key::BackoffJitter => "backoff_jitter",
            Key::IdempotencyKey => "idempotency_key",
            Key::RetryBudget => "retry_budget",
            Key::ShareRetryAfter => "share_retry_after",
            Key::RespectRetryAfterMs => "respect_retry_after_ms",
            Key::ShouldRetryHeader => "should_retry_header",
            Key::RateLimitReset => "rate_limit_reset",
            Key::KeyedRetries => "keyed_retries",
            Key::Classify => "classify",
            Key::ClassifyBodyBytes => "classify_body_bytes",
            Key::ReplayLimit => "replay_limit",
            Key::CircuitBreaker => "circuit_breaker",
            Key::Throttling => "throttling",
            Key::Pacing => "pacing",
            Key::Hedging => "hedging",
        }
    }

    /// The message for a value of the wrong shape: ``expected `max_retries = <integer>` ``.
    pub(crate) fn expected(self) -> String {
        let value = match self {
            Key::MaxRetries | Key::ClassifyBodyBytes | Key::ReplayLimit => "<integer>",
            Key::BackoffFactor => "<float>",
            Key::StatusForcelist => STATUS_LIST,
            Key::AllowedMethods => "[\"<method>\", ...]",
            Key::RaiseOnStatus
            | Key::ErrorForStatus
            | Key::RespectRetryAfterHeader
            | Key::IdempotencyKey
            | Key::ShareRetryAfter
            | Key::RespectRetryAfterMs
            | Key::KeyedRetries => "<bool>",
            Key::BackoffMax
            | Key::RetryAfterMax
            | Key::TotalTimeout
            | Key::AttemptTimeout
            | Key::BackoffJitter => "<seconds>",
            Key::RetryBudget => "<ratio>",
            Key::ShouldRetryHeader => "\"<header>\"",
            Key::RateLimitReset => {
                return "expected `rate_limit_reset = \"<header>\"` or \
                        `rate_limit_reset(<key> = <value>, ...)`"
                    .to_owned()
            }
            Key::Classify => "<path to a function>",
            Key::CircuitBreaker => {
                return "expected `circuit_breaker(<key> = <value>, ...)`, or \
                        `circuit_breaker()` for the defaults"
                    .to_owned()
            }
            Key::Throttling => {
                return "expected `throttling(<key> = <value>, ...)`, or `throttling()` for \
                        the defaults"
                    .to_owned()
            }
            Key::Pacing => {
                return "expected `pacing`, or `pacing(spread = <bool>)`".to_owned();
            }
            Key::Hedging => {
                return "expected `hedging(delay_ms = <milliseconds>, max_hedged = <integer>)`, \
                        or `hedging()` for the defaults"
                    .to_owned()
            }
        };
        format!("expected `{} = {value}`", self.name())
    }
}

/// A key of `rate_limit_reset(...)`: one per field of `RateLimitReset`, with the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ResetKey {
    Header,
    Form,
    RemainingHeader,
    Statuses,
}

impl ResetKey {
    /// Every key, in the order of the fields of `RateLimitReset`.
    pub(crate) const ALL: [ResetKey; 4] = [
        ResetKey::Header,
        ResetKey::Form,
        ResetKey::RemainingHeader,
        ResetKey::Statuses,
    ];

    /// The key, which is also the name of the `RateLimitReset` field it sets.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ResetKey::Header => "header",
            ResetKey::Form => "form",
            ResetKey::RemainingHeader => "remaining_header",
            ResetKey::Statuses => "statuses",
        }
    }

    /// ``expected `statuses = [<status>, <low>..=<high>, ...]` in `rate_limit_reset(...)` ``.
    pub(crate) fn expected(self) -> String {
        let name = self.name();
        let value = match self {
            ResetKey::Header | ResetKey::RemainingHeader => format!("`{name} = \"<header>\"`"),
            ResetKey::Form => {
                format!("`{name} = \"epoch_seconds\"` or `{name} = \"delta_seconds\"`")
            }
            ResetKey::Statuses => format!("`{name} = {STATUS_LIST}`"),
        };
        format!("expected {value} in `rate_limit_reset(...)`")
    }
}

const STATUS_LIST: &str = "[<status>, <low>..=<high>, ...]";

/// A key of `circuit_breaker(...)`: one per field of `CircuitBreaker`, with the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BreakerKey {
    FailureRatio,
    MinAttempts,
    Window,
    BreakDuration,
    HalfOpenProbes,
    CountStatuses,
    CountConnectionFailures,
    CountTimeouts,
}

impl BreakerKey {
    /// Every key, in the order of the fields of `CircuitBreaker`.
    pub(crate) const ALL: [BreakerKey; 8] = [
        BreakerKey::FailureRatio,
        BreakerKey::MinAttempts,
        BreakerKey::Window,
        BreakerKey::BreakDuration,
        BreakerKey::HalfOpenProbes,
        BreakerKey::CountStatuses,
        BreakerKey::CountConnectionFailures,
        BreakerKey::CountTimeouts,
    ];

    /// The key, which is also the name of the `CircuitBreaker` field it sets.
    pub(crate) fn name(self) -> &'static str {
        match self {
            BreakerKey::FailureRatio => "failure_ratio",
            BreakerKey::MinAttempts => "min_attempts",
            BreakerKey::Window => "window",
            BreakerKey::BreakDuration => "break_duration",
            BreakerKey::HalfOpenProbes => "half_open_probes",
            BreakerKey::CountStatuses => "count_statuses",
            BreakerKey::CountConnectionFailures => "count_connection_failures",
            BreakerKey::CountTimeouts => "count_timeouts",
        }
    }

    /// ``expected `window = <seconds>` in `circuit_breaker(...)` ``.
    pub(crate) fn expected(self) -> String {
        let value = match self {
            BreakerKey::FailureRatio => "<ratio>",
            BreakerKey::MinAttempts | BreakerKey::HalfOpenProbes => "<integer>",
            BreakerKey::Window | BreakerKey::BreakDuration => "<seconds>",
            BreakerKey::CountStatuses
            | BreakerKey::CountConnectionFailures
            | BreakerKey::CountTimeouts => "<bool>",
        };
        format!(
            "expected `{} = {value}` in `circuit_breaker(...)`",
            self.name()
        )
    }
}

impl Named for BreakerKey {
    fn all() -> &'static [Self] {
        &BreakerKey::ALL
    }
    const ATTRIBUTE: &'static str = "circuit_breaker(...)";
    fn name(self) -> &'static str {
        BreakerKey::name(self)
    }
    fn expected(self) -> String {
        BreakerKey::expected(self)
    }
    fn want(self) -> Option<Want> {
        Some(match self {
            BreakerKey::FailureRatio => Want::Number,
            BreakerKey::MinAttempts | BreakerKey::HalfOpenProbes => Want::Int,
            BreakerKey::Window | BreakerKey::BreakDuration => Want::Seconds,
            BreakerKey::CountStatuses
            | BreakerKey::CountConnectionFailures
            | BreakerKey::CountTimeouts => Want::Bool,
        })
    }
}

/// A key of `pacing(...)`: one per field of `Pacing`, with the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PacingKey {
    Spread,
}

impl Named for PacingKey {
    fn all() -> &'static [Self] {
        &[PacingKey::Spread]
    }
    const ATTRIBUTE: &'static str = "pacing(...)";
    fn name(self) -> &'static str {
        match self {
            PacingKey::Spread => "spread",
        }
    }
    fn expected(self) -> String {
        format!("expected `{} = <bool>` in `pacing(...)`", self.name())
    }
    fn want(self) -> Option<Want> {
        Some(Want::Bool)
    }
}

/// One `key = value` of `pacing(...)`.
pub(crate) struct PacingEntry {
    pub(crate) key: PacingKey,
    pub(crate) value: LitBool,
}

/// A key of `throttling(...)`: one per field of `Throttling`, with the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ThrottleKey {
    K,
    Window,
    CountStatuses,
    CountConnectionFailures,
    CountTimeouts,
}

impl ThrottleKey {
    /// Every key, in the order of the fields of `Throttling`.
    pub(crate) const ALL: [ThrottleKey; 5] = [
        ThrottleKey::K,
        ThrottleKey::Window,
        ThrottleKey::CountStatuses,
        ThrottleKey::CountConnectionFailures,
        ThrottleKey::CountTimeouts,
    ];
}

impl Named for ThrottleKey {
    fn all() -> &'static [Self] {
        &ThrottleKey::ALL
    }
    const ATTRIBUTE: &'static str = "throttling(...)";
    fn name(self) -> &'static str {
        match self {
            ThrottleKey::K => "k",
            ThrottleKey::Window => "window",
            ThrottleKey::CountStatuses => "count_statuses",
            ThrottleKey::CountConnectionFailures => "count_connection_failures",
            ThrottleKey::CountTimeouts => "count_timeouts",
        }
    }
    fn expected(self) -> String {
        let value = match self {
            ThrottleKey::K => "<number>",
            ThrottleKey::Window => "<seconds>",
            _ => "<bool>",
        };
        format!("expected `{} = {value}` in `throttling(...)`", self.name())
    }
    fn want(self) -> Option<Want> {
        Some(match self {
            ThrottleKey::K => Want::Number,
            ThrottleKey::Window => Want::Seconds,
            _ => Want::Bool,
        })
    }
}

/// One `key = value` of a nested key whose values are numbers and flags.
pub(crate) struct NestedEntry<K> {
    pub(crate) key: K,
    pub(crate) value: NestedValue,
}

/// One `key = value` of `circuit_breaker(...)`.
pub(crate) type BreakerEntry = NestedEntry<BreakerKey>;

/// One `key = value` of `throttling(...)`.
pub(crate) type ThrottleEntry = NestedEntry<ThrottleKey>;

/// A value of `circuit_breaker(...)` or `throttling(...)`: its shape follows from the key.
pub(crate) enum NestedValue {
    /// `failure_ratio`, `k`.
    Number(Number),
    /// `min_attempts`, `half_open_probes`.
    Count(Int),
    /// `window`, `break_duration`.
    Seconds(Number),
    /// `count_statuses`, `count_connection_failures`, `count_timeouts`.
    Flag(LitBool),
}

/// A key of `hedging(...)`: the fields of `Hedging`, and `delay_ms` for a delay in
/// milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HedgeKey {
    Delay,
    DelayMs,
    MaxHedged,
    Quantile,
}

impl HedgeKey {
    pub(crate) const ALL: [HedgeKey; 4] = [
        HedgeKey::Delay,
        HedgeKey::DelayMs,
        HedgeKey::MaxHedged,
        HedgeKey::Quantile,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            HedgeKey::Delay => "delay",
            HedgeKey::DelayMs => "delay_ms",
            HedgeKey::MaxHedged => "max_hedged",
            HedgeKey::Quantile => "quantile",
        }
    }

    /// ``expected `delay_ms = <milliseconds>` in `hedging(...)` ``.
    pub(crate) fn expected(self) -> String {
        let value = match self {
            HedgeKey::Delay => "<seconds>",
            HedgeKey::DelayMs => "<milliseconds>",
            HedgeKey::MaxHedged => "<integer>",
            HedgeKey::Quantile => "<ratio>",
        };
        format!("expected `{} = {value}` in `hedging(...)`", self.name())
    }
}

impl Named for HedgeKey {
    fn all() -> &'static [Self] {
        &HedgeKey::ALL
    }
    const ATTRIBUTE: &'static str = "hedging(...)";
    fn name(self) -> &'static str {
        HedgeKey::name(self)
    }
    fn expected(self) -> String {
        HedgeKey::expected(self)
    }
    fn want(self) -> Option<Want> {
        Some(match self {
            HedgeKey::Delay => Want::Seconds,
            HedgeKey::DelayMs | HedgeKey::MaxHedged => Want::Int,
            HedgeKey::Quantile => Want::Number,
        })
    }
}

/// One `key = value` of `hedging(...)`.
pub(crate) struct HedgeEntry {
    pub(crate) key: HedgeKey,
    pub(crate) value: HedgeValue,
}

/// A value of `hedging(...)`: its shape follows from the key.
pub(crate) enum HedgeValue {
    /// `delay`.
    Seconds(Number),
    /// `quantile`.
    Ratio(Number),
    /// `delay_ms`, `max_hedged`.
    Count(Int),
}

/// What the keys of one attribute have in common: their names, for lookups, repeats and
/// suggestions, and the message for a value of the wrong shape.
pub(crate) trait Named: Copy + PartialEq + 'static {
    /// Every key of the attribute, in the order of the fields they set.
    fn all() -> &'static [Self];
    /// The attribute, in messages: `#[retry(...)]`.
    const ATTRIBUTE: &'static str;
    fn name(self) -> &'static str;
    fn expected(self) -> String;
    /// What the value takes, for a hint at a value of the wrong form; `None` when no hint
    /// applies.
    fn want(self) -> Option<Want>;

    fn from_path(path: &Path) -> Option<Self> {
        let ident = path.get_ident()?;
        Self::all().iter().copied().find(|key| ident == key.name())
    }
}

impl Named for Key {
    fn all() -> &'static [Self] {
        &Key::ALL
    }
    const ATTRIBUTE: &'static str = "#[retry(...)]";
    fn name(self) -> &'static str {
        Key::name(self)
    }
    fn expected(self) -> String {
        Key::expected(self)
    }
    fn want(self) -> Option<Want> {
        Some(match self {
            Key::MaxRetries | Key::ClassifyBodyBytes | Key::ReplayLimit => Want::Int,
            Key::BackoffFactor | Key::RetryBudget => Want::Number,
            Key::BackoffMax
            | Key::RetryAfterMax
            | Key::TotalTimeout
            | Key::AttemptTimeout
            | Key::BackoffJitter => Want::Seconds,
            Key::StatusForcelist => Want::Statuses,
            Key::AllowedMethods => Want::Methods,
            Key::RaiseOnStatus
            | Key::ErrorForStatus
            | Key::RespectRetryAfterHeader
            | Key::IdempotencyKey
            | Key::ShareRetryAfter
            | Key::RespectRetryAfterMs
            | Key::KeyedRetries => Want::Bool,
            Key::ShouldRetryHeader | Key::RateLimitReset => Want::Header,
            // `parse_path` has its own hint; the nested keys have keys of their own.
            Key::Classify | Key::CircuitBreaker | Key::Throttling | Key::Pacing | Key::Hedging => {
                return None
            }
        })
    }
}

impl Named for ResetKey {
    fn all() -> &'static [Self] {
        &ResetKey::ALL
    }
    const ATTRIBUTE: &'static str = "rate_limit_reset(...)";
    fn name(self) -> &'static str {
        ResetKey::name(self)
    }
    fn expected(self) -> String {
        ResetKey::expected(self)
    }
    fn want(self) -> Option<Want> {
        Some(match self {
            ResetKey::Header | ResetKey::RemainingHeader => Want::Header,
            ResetKey::Form => Want::Form,
            ResetKey::Statuses => Want::Statuses,
        })
    }
}

/// A key of `#[connector(...)]`, which says how the expansion reaches api-toolkit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConnectorKey {
    /// `crate = my_sdk::api_toolkit`, for a crate that re-exports api-toolkit.
    Crate,
}

const EXPECTED_CONNECTOR: &str = "expected `#[connector(crate = <path to api_toolkit>)]`";

impl Named for ConnectorKey {
    fn all() -> &'static [Self] {
        &[ConnectorKey::Crate]
    }
    const ATTRIBUTE: &'static str = "#[connector(...)]";
    fn name(self) -> &'static str {
        match self {
            ConnectorKey::Crate => "crate",
        }
    }
    fn expected(self) -> String {
        EXPECTED_CONNECTOR.to_owned()
    }
    fn want(self) -> Option<Want> {
        None
    }
}

/// The path of `#[connector(crate = path)]`, if given; every mistake is recorded.
pub(crate) fn parse_connector(attrs: &[Attribute], errors: &mut Errors) -> Option<Path> {
    let mut krate = None;
    let mut seen = Vec::new();
    for attr in attrs
        .iter()
        .filter(|attr| attr.path().is_ident("connector"))
    {
        if !matches!(attr.meta, Meta::List(_)) {
            errors.push(Error::new_spanned(&attr.meta, EXPECTED_CONNECTOR));
            continue;
        }
        let result = attr.parse_nested_meta(|meta| {
            if let Some(ConnectorKey::Crate) = parse_key(&meta, &mut seen, errors) {
                if let Some(path) = errors.ok(parse_crate_path(&meta)) {
                    krate = Some(path);
                }
            }
            skip_to_comma(meta.input);
            Ok(())
        });
        // As in `parse`, the closure never fails: this is a token where a key should be.
        if let Err(error) = result {
            errors.push(Error::new(error.span(), EXPECTED_CONNECTOR));
        }
    }
    krate
}

/// `crate = my_sdk::api_toolkit`: a path to a module, without generic arguments.
fn parse_crate_path(meta: &ParseNestedMeta) -> syn::Result<Path> {
    let key = ConnectorKey::Crate;
    if !meta.input.peek(Token![=]) {
        return Err(Error::new_spanned(&meta.path, key.expected()));
    }
    let input = meta.value()?;
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        // `crate = "my_sdk::api_toolkit"`, as serde writes it: say how to write it here.
        let message = match lit.parse_with(Path::parse_mod_style) {
            Ok(_) => format!(
                "{}, not a string: write `crate = {}`",
                key.expected(),
                lit.value()
            ),
            Err(_) => key.expected(),
        };
        return Err(Error::new(lit.span(), message));
    }
    let path =
        Path::parse_mod_style(input).map_err(|error| Error::new(error.span(), key.expected()))?;
    if !at_end(input) {
        return Err(Error::new(input.span(), key.expected()));
    }
    Ok(path)
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
    Statuses(Vec<Status>),
    /// `allowed_methods`.
    Methods(List<LitStr>),
    /// `raise_on_status`, `error_for_status`, `respect_retry_after_header`, `idempotency_key`,
    /// `share_retry_after`, `respect_retry_after_ms` and `keyed_retries`.
    Flag(LitBool),
    /// `should_retry_header`.
    Header(LitStr),
    /// `rate_limit_reset`: the keys of `rate_limit_reset(...)`; `rate_limit_reset = "<header>"`
    /// is read as `rate_limit_reset(header = "<header>")`.
    Reset(Vec<ResetEntry>),
    /// `classify`: a path to a function, whose type the compiler checks.
    Classify(Path),
    /// `classify_body_bytes` and `replay_limit`.
    Bytes(Int),
    /// `circuit_breaker`: the keys of `circuit_breaker(...)`.
    Breaker(Vec<BreakerEntry>),
    /// `throttling`: the keys of `throttling(...)`.
    Throttling(Vec<ThrottleEntry>),
    /// `pacing`: the keys of `pacing(...)`; `pacing` alone has none.
    Pacing(Vec<PacingEntry>),
    /// `hedging`: the keys of `hedging(...)`.
    Hedging(Vec<HedgeEntry>),
}

/// One `key = value` of `rate_limit_reset(...)`.
pub(crate) struct ResetEntry {
    pub(crate) key: ResetKey,
    pub(crate) value: ResetValue,
}

/// A value of `rate_limit_reset(...)`: one variant per key.
pub(crate) enum ResetValue {
    Header(LitStr),
    Form(LitStr),
    RemainingHeader(LitStr),
    Statuses(List<Status>),
}

/// An item of a status list: a code or a range of codes.
pub(crate) enum Status {
    Code(Int),
    /// `500..=599`, or `500..599`, which [`valid`](crate::valid) reports.
    Range {
        start: Int,
        limits: Limits,
        end: Int,
    },
}

/// The `..=` of a range, or the `..` written by mistake.
pub(crate) enum Limits {
    Inclusive(Token![..=]),
    Exclusive(Token![..]),
}

impl ToTokens for Status {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            Status::Code(code) => code.to_tokens(tokens),
            Status::Range { start, limits, end } => {
                start.to_tokens(tokens);
                limits.to_tokens(tokens);
                end.to_tokens(tokens);
            }
        }
    }
}

impl ToTokens for Limits {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            Limits::Inclusive(dots) => dots.to_tokens(tokens),
            Limits::Exclusive(dots) => dots.to_tokens(tokens),
        }
    }
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
                if at_end(meta.input) {
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

/// Whether a value was all there is up to the next key.
fn at_end(input: ParseStream) -> bool {
    input.is_empty() || input.peek(Token![,])
}

/// The key of a `key = value`, if it is one of `K` and not a repeat; else records the mistake.
fn parse_key<K: Named>(
    meta: &ParseNestedMeta,
    seen: &mut Vec<K>,
    errors: &mut Errors,
) -> Option<K> {
    let Some(key) = K::from_path(&meta.path) else {
        errors.push(Error::new_spanned(&meta.path, unknown_key::<K>(&meta.path)));
        return None;
    };
    if seen.contains(&key) {
        let message = format!("duplicate key `{}` in `{}`", key.name(), K::ATTRIBUTE);
        errors.push(Error::new_spanned(&meta.path, message));
        return None;
    }
    seen.push(key);
    Some(key)
}

/// Parses `key = value`; on a mistake, records it and returns `None` (the caller skips the rest).
fn parse_entry(meta: &ParseNestedMeta, seen: &mut Vec<Key>, errors: &mut Errors) -> Option<Entry> {
    let key = parse_key(meta, seen, errors)?;
    if key == Key::RateLimitReset && meta.input.peek(Paren) {
        let entries = parse_reset(meta, errors)?;
        return Some(Entry {
            key,
            value: Value::Reset(entries),
        });
    }
    if matches!(key, Key::CircuitBreaker | Key::Throttling) {
        if !meta.input.peek(Paren) {
            errors.push(Error::new_spanned(&meta.path, key.expected()));
            return None;
        }
        let value = if key == Key::CircuitBreaker {
            Value::Breaker(parse_breaker(meta, errors)?)
        } else {
            Value::Throttling(parse_throttle(meta, errors)?)
        };
        return Some(Entry { key, value });
    }
    if key == Key::Pacing {
        if meta.input.peek(Paren) {
            let entries = parse_pacing(meta, errors)?;
            return Some(Entry {
                key,
                value: Value::Pacing(entries),
            });
        }
        if meta.input.peek(Token![=]) {
            errors.push(Error::new_spanned(&meta.path, key.expected()));
            return None;
        }
        return Some(Entry {
            key,
            value: Value::Pacing(Vec::new()),
        });
    }
    if key == Key::Hedging {
        if !meta.input.peek(Paren) {
            errors.push(Error::new_spanned(&meta.path, key.expected()));
            return None;
        }
        let entries = parse_hedging(meta, errors)?;
        return Some(Entry {
            key,
            value: Value::Hedging(entries),
        });
    }
    if !meta.input.peek(Token![=]) {
        errors.push(Error::new_spanned(&meta.path, key.expected()));
        return None;
    }
    let input = errors.ok(meta.value())?;
    let tokens = value_tokens(input);
    let value = match key {
        Key::MaxRetries => parse_int(input, key, "u32").map(Value::Count),
        Key::BackoffFactor => parse_number(input, key).map(Value::Factor),
        Key::BackoffMax | Key::RetryAfterMax | Key::BackoffJitter => {
            parse_number(input, key).map(Value::Seconds)
        }
        Key::TotalTimeout | Key::AttemptTimeout => parse_number(input, key).map(Value::Timeout),
        Key::RetryBudget => parse_number(input, key).map(Value::Ratio),
        Key::StatusForcelist => {
            parse_list(input, key, status).map(|list| Value::Statuses(list.items))
        }
        Key::AllowedMethods => parse_list(input, key, string).map(Value::Methods),
        Key::RaiseOnStatus
        | Key::ErrorForStatus
        | Key::RespectRetryAfterHeader
        | Key::IdempotencyKey
        | Key::ShareRetryAfter
        | Key::RespectRetryAfterMs
        | Key::KeyedRetries => parse_flag(input, key).map(Value::Flag),
        Key::ShouldRetryHeader => parse_str(input, key).map(Value::Header),
        Key::RateLimitReset => parse_str(input, key).map(|header| {
            Value::Reset(vec![ResetEntry {
                key: ResetKey::Header,
                value: ResetValue::Header(header),
            }])
        }),
        Key::Classify => parse_path(input, key).map(Value::Classify),
        Key::ClassifyBodyBytes | Key::ReplayLimit => {
            parse_int(input, key, "usize").map(Value::Bytes)
        }
        // Parsed above, with their parentheses.
        Key::CircuitBreaker | Key::Throttling | Key::Pacing | Key::Hedging => return None,
    };
    errors
        .ok(with_hint(value, key, &tokens))
        .map(|value| Entry { key, value })
}

/// The tokens of a value, up to the next `,`, without consuming them.
fn value_tokens(input: ParseStream) -> TokenStream {
    let fork = input.fork();
    let mut tokens = TokenStream::new();
    let _ = fork.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tree, next)) = rest.token_tree() {
            match &tree {
                TokenTree::Punct(punct) if punct.as_char() == ',' => break,
                _ => tokens.extend([tree]),
            }
            rest = next;
        }
        Ok(((), rest))
    });
    tokens
}

/// A value of the wrong form gets the message of its key, with what to write instead
/// (``expected `max_retries = <integer>`, not a string: write `max_retries = 3` ``) when a
/// fix is certain.
fn with_hint<K: Named, T>(result: syn::Result<T>, key: K, tokens: &TokenStream) -> syn::Result<T> {
    result.map_err(
        |error| match key.want().and_then(|want| hint::hint(want, tokens)) {
            Some(hint) => {
                let message = hint.message(&key.expected(), Some(key.name()));
                Error::new_spanned(tokens, message)
            }
            None => error,
        },
    )
}

/// Parses a nested `key(key = value, ...)` (`rate_limit_reset(...)`, `circuit_breaker(...)`)
/// like `#[retry(...)]`, each entry with `parse_entry`: every mistake is recorded, and `None`
/// is returned only when the parentheses do not hold keys (reported as `outer`'s mistake).
fn parse_nested<K: Named, E>(
    meta: &ParseNestedMeta,
    errors: &mut Errors,
    outer: Key,
    parse_entry: impl Fn(&ParseNestedMeta, &mut Vec<K>, &mut Errors) -> Option<E>,
    key_of: impl Fn(&E) -> K,
) -> Option<Vec<E>> {
    // Taken whole and parsed on their own, so that a mistake inside leaves no tokens behind to
    // be reported again as unexpected.
    let content = errors.ok(parenthesized_tokens(meta.input))?;
    let mut entries = Vec::new();
    let mut seen = Vec::new();
    let parser = syn::meta::parser(|meta| {
        if let Some(entry) = parse_entry(&meta, &mut seen, errors) {
            if at_end(meta.input) {
                entries.push(entry);
            } else {
                errors.push(Error::new(meta.input.span(), key_of(&entry).expected()));
            }
        }
        skip_to_comma(meta.input);
        Ok(())
    });
    // As in `parse`, the closure never fails: this is a token where a key should be.
    if let Err(error) = parser.parse2(content) {
        errors.push(Error::new(error.span(), outer.expected()));
        return None;
    }
    Some(entries)
}

fn parse_reset(meta: &ParseNestedMeta, errors: &mut Errors) -> Option<Vec<ResetEntry>> {
    parse_nested(
        meta,
        errors,
        Key::RateLimitReset,
        parse_reset_entry,
        |e: &ResetEntry| e.key,
    )
}

fn parse_breaker(meta: &ParseNestedMeta, errors: &mut Errors) -> Option<Vec<BreakerEntry>> {
    parse_nested(
        meta,
        errors,
        Key::CircuitBreaker,
        parse_breaker_entry,
        |e: &BreakerEntry| e.key,
    )
}

fn parse_pacing(meta: &ParseNestedMeta, errors: &mut Errors) -> Option<Vec<PacingEntry>> {
    parse_nested(
        meta,
        errors,
        Key::Pacing,
        |meta, seen, errors| {
            let (key, value) = parse_nested_value(meta, seen, errors, parse_flag)?;
            Some(PacingEntry { key, value })
        },
        |e: &PacingEntry| e.key,
    )
}

fn parse_breaker_entry(
    meta: &ParseNestedMeta,
    seen: &mut Vec<BreakerKey>,
    errors: &mut Errors,
) -> Option<BreakerEntry> {
    let (key, value) = parse_nested_value(meta, seen, errors, |input, key| match key {
        BreakerKey::FailureRatio => parse_number(input, key).map(NestedValue::Number),
        BreakerKey::MinAttempts | BreakerKey::HalfOpenProbes => {
            parse_int(input, key, "u32").map(NestedValue::Count)
        }
        BreakerKey::Window | BreakerKey::BreakDuration => {
            parse_number(input, key).map(NestedValue::Seconds)
        }
        BreakerKey::CountStatuses
        | BreakerKey::CountConnectionFailures
        | BreakerKey::CountTimeouts => parse_flag(input, key).map(NestedValue::Flag),
    })?;
    Some(BreakerEntry { key, value })
}

fn parse_throttle(meta: &ParseNestedMeta, errors: &mut Errors) -> Option<Vec<ThrottleEntry>> {
    parse_nested(
        meta,
        errors,
        Key::Throttling,
        parse_throttle_entry,
        |e: &ThrottleEntry| e.key,
    )
}

fn parse_throttle_entry(
    meta: &ParseNestedMeta,
    seen: &mut Vec<ThrottleKey>,
    errors: &mut Errors,
) -> Option<ThrottleEntry> {
    let (key, value) = parse_nested_value(meta, seen, errors, |input, key| match key {
        ThrottleKey::K => parse_number(input, key).map(NestedValue::Number),
        ThrottleKey::Window => parse_number(input, key).map(NestedValue::Seconds),
        ThrottleKey::CountStatuses
        | ThrottleKey::CountConnectionFailures
        | ThrottleKey::CountTimeouts => parse_flag(input, key).map(NestedValue::Flag),
    })?;
    Some(ThrottleEntry { key, value })
}

fn parse_hedging(meta: &ParseNestedMeta, errors: &mut Errors) -> Option<Vec<HedgeEntry>> {
    parse_nested(
        meta,
        errors,
        Key::Hedging,
        parse_hedging_entry,
        |e: &HedgeEntry| e.key,
    )
}

fn parse_hedging_entry(
    meta: &ParseNestedMeta,
    seen: &mut Vec<HedgeKey>,
    errors: &mut Errors,
) -> Option<HedgeEntry> {
    let (key, value) = parse_nested_value(meta, seen, errors, |input, key| match key {
        HedgeKey::Delay => parse_number(input, key).map(HedgeValue::Seconds),
        HedgeKey::Quantile => parse_number(input, key).map(HedgeValue::Ratio),
        HedgeKey::DelayMs | HedgeKey::MaxHedged => {
            parse_int(input, key, "u32").map(HedgeValue::Count)
        }
    })?;
    Some(HedgeEntry { key, value })
}

/// Parses one `key = value` inside a nested key, the value with `parse_value`; a mistake is
/// recorded (with a hint at what to write, where there is one) and gives `None`.
fn parse_nested_value<K: Named, V>(
    meta: &ParseNestedMeta,
    seen: &mut Vec<K>,
    errors: &mut Errors,
    parse_value: impl FnOnce(ParseStream, K) -> syn::Result<V>,
) -> Option<(K, V)> {
    let key = parse_key(meta, seen, errors)?;
    if !meta.input.peek(Token![=]) {
        errors.push(Error::new_spanned(&meta.path, key.expected()));
        return None;
    }
    let input = errors.ok(meta.value())?;
    let tokens = value_tokens(input);
    let value = parse_value(input, key);
    errors
        .ok(with_hint(value, key, &tokens))
        .map(|value| (key, value))
}

fn parenthesized_tokens(input: ParseStream) -> syn::Result<TokenStream> {
    let content;
    parenthesized!(content in input);
    content.parse()
}

fn parse_reset_entry(
    meta: &ParseNestedMeta,
    seen: &mut Vec<ResetKey>,
    errors: &mut Errors,
) -> Option<ResetEntry> {
    let (key, value) = parse_nested_value(meta, seen, errors, |input, key| match key {
        ResetKey::Header => parse_str(input, key).map(ResetValue::Header),
        ResetKey::Form => parse_str(input, key).map(ResetValue::Form),
        ResetKey::RemainingHeader => parse_str(input, key).map(ResetValue::RemainingHeader),
        ResetKey::Statuses => parse_list(input, key, status).map(ResetValue::Statuses),
    })?;
    Some(ResetEntry { key, value })
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
fn parse_lit<K: Named>(input: ParseStream, key: K) -> syn::Result<SignedLit> {
    input
        .parse()
        .map_err(|error| Error::new(error.span(), key.expected()))
}

fn parse_int<K: Named>(input: ParseStream, key: K, suffix: &str) -> syn::Result<Int> {
    int(parse_lit(input, key)?, key, suffix)
}

/// An integer literal, without a suffix or with `suffix` (the type of the field).
fn int<K: Named>(lit: SignedLit, key: K, suffix: &str) -> syn::Result<Int> {
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

fn parse_number<K: Named>(input: ParseStream, key: K) -> syn::Result<Number> {
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
fn check_suffix<K: Named>(
    lit: &impl ToTokens,
    suffix: &str,
    allowed: &[&str],
    key: K,
) -> syn::Result<()> {
    if allowed.contains(&suffix) {
        Ok(())
    } else {
        let message = format!("{}; remove the suffix `{suffix}`", key.expected());
        Err(Error::new_spanned(lit, message))
    }
}

fn parse_flag<K: Named>(input: ParseStream, key: K) -> syn::Result<LitBool> {
    match parse_lit(input, key)? {
        SignedLit {
            minus: None,
            lit: Lit::Bool(lit),
        } => Ok(lit),
        other => Err(Error::new_spanned(other, key.expected())),
    }
}

fn parse_str<K: Named>(input: ParseStream, key: K) -> syn::Result<LitStr> {
    string(parse_lit(input, key)?, key)
}

fn string<K: Named>(lit: SignedLit, key: K) -> syn::Result<LitStr> {
    match lit {
        SignedLit {
            minus: None,
            lit: Lit::Str(lit),
        } => Ok(lit),
        other => Err(Error::new_spanned(other, key.expected())),
    }
}

/// The tokens of a status or a range: `429`, `500..=599`, `500..599`.
struct StatusTokens {
    start: SignedLit,
    end: Option<(Limits, SignedLit)>,
}

impl Parse for StatusTokens {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let start = input.parse()?;
        // `..=` first: `..` is a prefix of it.
        let limits = if input.peek(Token![..=]) {
            Some(Limits::Inclusive(input.parse()?))
        } else if input.peek(Token![..]) {
            Some(Limits::Exclusive(input.parse()?))
        } else {
            None
        };
        let end = match limits {
            // `500..]`: point at the range, not at the bracket after it.
            Some(limits) if input.is_empty() || input.peek(Token![,]) => {
                let message = "expected `<low>..=<high>`";
                return Err(Error::new_spanned(quote!(#start #limits), message));
            }
            Some(limits) => Some((limits, input.parse()?)),
            None => None,
        };
        Ok(StatusTokens { start, end })
    }
}

/// A status or a range of them, each end an integer (a `u16`).
fn status<K: Named>(tokens: StatusTokens, key: K) -> syn::Result<Status> {
    let start = int(tokens.start, key, "u16")?;
    Ok(match tokens.end {
        None => Status::Code(start),
        Some((limits, end)) => Status::Range {
            start,
            limits,
            end: int(end, key, "u16")?,
        },
    })
}

/// `classify = path::to::function`. The path is not resolved here: the expansion makes the
/// compiler check it, and its type, at the user's tokens.
fn parse_path(input: ParseStream, key: Key) -> syn::Result<Path> {
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        // `classify = "rules"` is a likely slip: say how to write it.
        let message = match lit.parse::<Path>() {
            Ok(_) => format!(
                "{}, not a string: write `{} = {}`",
                key.expected(),
                key.name(),
                lit.value()
            ),
            Err(_) => key.expected(),
        };
        return Err(Error::new(lit.span(), message));
    }
    let path: Path = input
        .parse()
        .map_err(|error| Error::new(error.span(), key.expected()))?;
    for segment in &path.segments {
        match &segment.arguments {
            PathArguments::None => {}
            PathArguments::AngleBracketed(args) if args.colon2_token.is_some() => {}
            // `rules<u8>` would be a comparison where the path becomes an expression.
            arguments => {
                let message = format!("{}; write generic arguments as `::<...>`", key.expected());
                return Err(Error::new_spanned(arguments, message));
            }
        }
    }
    Ok(path)
}

/// Parses `[item, ...]`; the error holds every item of the wrong kind, each with what to write
/// instead when a fix is certain.
fn parse_list<K: Named, T: Parse, U>(
    input: ParseStream,
    key: K,
    item: impl Fn(T, K) -> syn::Result<U>,
) -> syn::Result<List<U>> {
    let (brackets, content) =
        bracketed_tokens(input).map_err(|error| Error::new(error.span(), key.expected()))?;
    let want = key.want().and_then(Want::item);
    let mut errors = Errors::default();
    let mut items = Vec::new();
    for chunk in split_items(content) {
        let tokens = match chunk {
            Ok(tokens) => tokens,
            // `[500,, 503]`.
            Err(comma) => {
                errors.push(Error::new(comma.span(), key.expected()));
                continue;
            }
        };
        let parsed = T::parse
            .parse2(tokens.clone())
            .map_err(|error| Error::new(error.span(), key.expected()))
            .and_then(|parsed| item(parsed, key))
            .map_err(
                |error| match want.and_then(|want| hint::hint(want, &tokens)) {
                    Some(hint) => Error::new_spanned(&tokens, hint.message(&key.expected(), None)),
                    None => error,
                },
            );
        items.extend(errors.ok(parsed));
    }
    errors.finish()?;
    Ok(List { brackets, items })
}

/// The brackets of a `[...]` and what is inside.
fn bracketed_tokens(input: ParseStream) -> syn::Result<(Bracket, TokenStream)> {
    let content;
    let brackets = bracketed!(content in input);
    Ok((brackets, content.parse()?))
}

/// The items of a list, split at its commas (`bracketed!` + `Punctuated` would stop at the first
/// bad item): each item's tokens, or the comma of an empty item. A trailing comma is allowed.
fn split_items(content: TokenStream) -> Vec<Result<TokenStream, Punct>> {
    let mut items = Vec::new();
    let mut item = TokenStream::new();
    for tree in content {
        match tree {
            TokenTree::Punct(punct) if punct.as_char() == ',' => {
                if item.is_empty() {
                    items.push(Err(punct));
                } else {
                    items.push(Ok(std::mem::take(&mut item)));
                }
            }
            tree => item.extend([tree]),
        }
    }
    if !item.is_empty() {
        items.push(Ok(item));
    }
    items
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
fn unknown_key<K: Named>(path: &Path) -> String {
    let name = path
        .segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect::<Vec<_>>()
        .join("::");
    let candidates = closest_keys::<K>(&name);
    let attribute = K::ATTRIBUTE;
    if candidates.is_empty() {
        format!(
            "unknown key `{name}` in `{attribute}`; expected one of {}",
            quoted(K::all(), ", ")
        )
    } else {
        format!(
            "unknown key `{name}` in `{attribute}`; did you mean {}?",
            quoted(&candidates, " or ")
        )
    }
}

/// `` `a`, `b`, `c` ``, with `last_separator` (`" or "`) before the last name.
fn quoted<K: Named>(keys: &[K], last_separator: &str) -> String {
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
fn closest_keys<K: Named>(name: &str) -> Vec<K> {
    let normalize = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let name = normalize(name);
    let misspelled = K::all()
        .iter()
        .copied()
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
    K::all()
        .iter()
        .copied()
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
        assert_eq!(closest_keys::<Key>("max_retry"), [Key::MaxRetries]);
        assert_eq!(closest_keys::<Key>("backof_factor"), [Key::BackoffFactor]);
        assert_eq!(closest_keys::<Key>("MaxRetries"), [Key::MaxRetries]);
        assert_eq!(closest_keys::<Key>("methods"), [Key::AllowedMethods]);
        assert_eq!(
            closest_keys::<Key>("status_force_list"),
            [Key::StatusForcelist]
        );
        assert_eq!(closest_keys::<Key>("retry_after"), [Key::RetryAfterMax]);
        assert_eq!(closest_keys::<Key>("total_timeuot"), [Key::TotalTimeout]);
        assert_eq!(closest_keys::<Key>("jitter"), [Key::BackoffJitter]);
        assert_eq!(closest_keys::<Key>("budget"), [Key::RetryBudget]);
        assert_eq!(closest_keys::<Key>("idempotency"), [Key::IdempotencyKey]);
        assert_eq!(
            closest_keys::<Key>("share_retry_afer"),
            [Key::ShareRetryAfter]
        );
        assert_eq!(
            closest_keys::<Key>("should_retry"),
            [Key::ShouldRetryHeader]
        );
        assert_eq!(closest_keys::<Key>("rate_limit"), [Key::RateLimitReset]);
        assert_eq!(closest_keys::<Key>("keyed_retry"), [Key::KeyedRetries]);
        assert_eq!(closest_keys::<Key>("clasify"), [Key::Classify]);
        assert_eq!(closest_keys::<Key>("body_bytes"), [Key::ClassifyBodyBytes]);
        assert_eq!(closest_keys::<Key>("replay_limits"), [Key::ReplayLimit]);
        assert_eq!(
            closest_keys::<Key>("respect_retry_after_msec"),
            [Key::RespectRetryAfterMs]
        );
    }

    #[test]
    fn a_part_of_several_keys_suggests_them_all() {
        assert_eq!(
            closest_keys::<Key>("timeout"),
            [Key::TotalTimeout, Key::AttemptTimeout]
        );
        assert_eq!(
            unknown_key::<Key>(&syn::parse_quote!(timeout)),
            "unknown key `timeout` in `#[retry(...)]`; did you mean `total_timeout` or `attempt_timeout`?"
        );
    }

    #[test]
    fn unrelated_names_get_the_list_of_keys() {
        assert_eq!(closest_keys::<Key>("proxy"), []);
        assert_eq!(closest_keys::<Key>("x"), []);
        let message = unknown_key::<Key>(&syn::parse_quote!(proxy));
        assert!(message.contains("expected one of `max_retries`, `backoff_factor`"));
        assert!(message.ends_with(
            ", `classify_body_bytes`, `replay_limit`, `circuit_breaker`, `throttling`, `pacing`, `hedging`"
        ));
    }

    #[test]
    fn keys_of_rate_limit_reset_get_their_own_suggestions() {
        assert_eq!(closest_keys::<ResetKey>("headers"), [ResetKey::Header]);
        assert_eq!(closest_keys::<ResetKey>("forms"), [ResetKey::Form]);
        assert_eq!(
            closest_keys::<ResetKey>("remaining"),
            [ResetKey::RemainingHeader]
        );
        assert_eq!(closest_keys::<ResetKey>("status"), [ResetKey::Statuses]);
        assert_eq!(
            unknown_key::<ResetKey>(&syn::parse_quote!(remaining_headers)),
            "unknown key `remaining_headers` in `rate_limit_reset(...)`; did you mean `remaining_header`?"
        );
        assert_eq!(
            unknown_key::<ResetKey>(&syn::parse_quote!(reset)),
            "unknown key `reset` in `rate_limit_reset(...)`; expected one of `header`, `form`, `remaining_header`, `statuses`"
        );
    }

    #[test]
    fn edit_distance_counts_insertions_deletions_and_substitutions() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
