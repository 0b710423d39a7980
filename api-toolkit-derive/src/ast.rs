//! A typed view of the input: a struct, the field holding its session, and its checked
//! `#[retry(...)]` settings.

use proc_macro2::Span;
use quote::quote;
use syn::ext::IdentExt;
use syn::{
    parse_quote, Attribute, Data, DeriveInput, Error, Fields, GenericArgument, Generics, Ident,
    Index, Member, Meta, Path, PathArguments, Result, Type,
};

use crate::errors::Errors;
use crate::valid::Setting;
use crate::{attr, valid};

/// A struct that `#[derive(Connector)]` accepts.
pub(crate) struct Input<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) generics: &'a Generics,
    /// How `self` reaches the session: `session`, `0`, or the field marked `#[session]`.
    pub(crate) session: Member,
    /// The session type: the field's type, or what its reference, `Arc`, `Rc` or `Box` points
    /// at (see [`pointee`]).
    pub(crate) session_ty: &'a Type,
    /// How the expansion names api-toolkit: `::api_toolkit`, or the path of
    /// `#[connector(crate = path)]`.
    pub(crate) krate: Path,
    /// The keys given in `#[retry(...)]`, in the order written.
    pub(crate) settings: Vec<Setting>,
}

impl<'a> Input<'a> {
    /// Checks the input; the error holds every mistake found.
    pub(crate) fn from_syn(node: &'a DeriveInput) -> Result<Self> {
        let fields = match &node.data {
            Data::Struct(data) => &data.fields,
            Data::Enum(data) => return Err(Error::new_spanned(data.enum_token, STRUCTS_ONLY)),
            Data::Union(data) => return Err(Error::new_spanned(data.union_token, STRUCTS_ONLY)),
        };
        let mut errors = Errors::default();
        for attr in helpers(&node.attrs, "session") {
            let message =
                "`#[session]` goes on the field that holds the session, not on the struct";
            errors.push(Error::new_spanned(attr, message));
        }
        let krate = attr::parse_connector(&node.attrs, &mut errors);
        let entries = attr::parse(&node.attrs, &mut errors);
        let settings = valid::check(entries, &mut errors);
        let krate = krate.unwrap_or_else(default_crate);
        let session = session_field(node, fields, &krate, &mut errors);
        errors.finish()?;
        let (session, session_ty) = session.expect("a struct without a session field is an error");
        Ok(Input {
            ident: &node.ident,
            generics: &node.generics,
            session,
            session_ty: pointee(session_ty),
            krate,
            settings,
        })
    }
}

const STRUCTS_ONLY: &str = "#[derive(Connector)] supports structs only";

/// `::api_toolkit`, the crate's name unless `#[connector(crate = path)]` says otherwise.
pub(crate) fn default_crate() -> Path {
    parse_quote!(::api_toolkit)
}

/// The field marked `#[session]`, else the field named `session` (or `r#session`), and its
/// type; mistakes are recorded.
///
/// A marked field may have any type: the compiler checks it (the expansion spans
/// `type Session = <type>` at the field's type, so "the trait `ConnectorSession` is not
/// implemented" points there). A field found by its name is checked here first, because a
/// field named `session` that holds something else (`String`, `Option<Session>`) is a mistake
/// worth saying how to fix; a type alias of `Session` is the marker's business.
fn session_field<'a>(
    node: &DeriveInput,
    fields: &'a Fields,
    krate: &Path,
    errors: &mut Errors,
) -> Option<(Member, &'a Type)> {
    let mut marked = None;
    for (index, field) in fields.iter().enumerate() {
        for attr in helpers(&field.attrs, "retry") {
            let message = "`#[retry(...)]` goes on the struct, not on a field";
            errors.push(Error::new_spanned(attr, message));
        }
        for attr in helpers(&field.attrs, "connector") {
            let message = "`#[connector(...)]` goes on the struct, not on a field";
            errors.push(Error::new_spanned(attr, message));
        }
        for attr in helpers(&field.attrs, "session") {
            if !matches!(attr.meta, Meta::Path(_)) {
                let message = "`#[session]` takes no arguments; write `#[session]`";
                errors.push(Error::new_spanned(&attr.meta, message));
            }
            if marked.is_some() {
                let message = "`#[session]` is on more than one field; mark only the field that holds the session";
                errors.push(Error::new_spanned(attr, message));
            } else {
                marked = Some((member(field.ident.as_ref(), index), &field.ty));
            }
        }
    }
    if marked.is_some() {
        return marked;
    }
    let named = fields.iter().find_map(|field| {
        let name = field
            .ident
            .as_ref()
            .filter(|name| name.unraw() == "session")?;
        Some((Member::Named(name.clone()), &field.ty))
    });
    match &named {
        Some((_, ty)) => {
            if let Err(message) = check_session_type(ty, &node.generics, krate) {
                errors.push(Error::new_spanned(ty, message));
            }
        }
        None => {
            let message = format!(
                "#[derive(Connector)] needs a field `session: {}::Session` or a field marked `#[session]`",
                path_text(krate)
            );
            errors.push(Error::new_spanned(&node.ident, message));
        }
    }
    named
}

/// Whether `ty` is a session, by its form: a proc macro cannot resolve types, so a path is
/// taken by its last segment (`Session`, `api_toolkit::blocking::Session`, `S::Session`), and a
/// type parameter of the struct is left to its bounds. Anything else is an error saying what to
/// write instead.
fn check_session_type(
    ty: &Type,
    generics: &Generics,
    krate: &Path,
) -> std::result::Result<(), String> {
    let session = pointee(ty);
    let Type::Path(path) = session else {
        // A macro or tokens syn does not know: the compiler checks them.
        return match session {
            Type::Macro(_) | Type::Verbatim(_) => Ok(()),
            _ => Err(wrong_session_type(krate, None)),
        };
    };
    let Some(last) = path.path.segments.last() else {
        return Ok(());
    };
    let parameter = path.qself.is_none()
        && path
            .path
            .get_ident()
            .is_some_and(|ident| generics.type_params().any(|param| param.ident == *ident));
    if parameter || (last.ident == "Session" && last.arguments.is_none()) {
        return Ok(());
    }
    // `Option<Session>`: a connector always holds its session.
    let option = match (&last.arguments, last.ident == "Option") {
        (PathArguments::AngleBracketed(arguments), true) => match arguments.args.first() {
            Some(GenericArgument::Type(inner)) if arguments.args.len() == 1 => {
                check_session_type(inner, generics, krate)
                    .ok()
                    .map(|()| inner)
            }
            _ => None,
        },
        _ => None,
    };
    Err(wrong_session_type(krate, option))
}

fn wrong_session_type(krate: &Path, option: Option<&Type>) -> String {
    let krate = path_text(krate);
    if let Some(inner) = option {
        let inner = type_text(inner);
        return format!(
            "a connector always holds its session, so the field `session` cannot be an `Option`: \
             write `session: {inner}`"
        );
    }
    format!(
        "the field `session` must hold a session: write `session: {krate}::Session` or \
         `session: {krate}::blocking::Session`, perhaps behind `&`, `Arc`, `Rc` or `Box`; \
         for a type alias of one, mark the field `#[session]`"
    )
}

/// A type as written in source, near enough for a message: `Arc<Session>`.
fn type_text(ty: &Type) -> String {
    quote!(#ty)
        .to_string()
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace("& ", "&")
}

/// A path as written in source: `my_sdk::api_toolkit`; `::api_toolkit` as `api_toolkit`.
pub(crate) fn path_text(path: &Path) -> String {
    path.segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

/// The session a field of type `ty` holds: `ty` itself, or what a reference or an `Arc`, `Rc`
/// or `Box` of it points at, to which `&self.field` derefs (`&Arc<Session>` to `&Session`).
/// Pointers are recognized by their last path segment, as written: one behind a type alias
/// is taken as the session type itself.
pub(crate) fn pointee(ty: &Type) -> &Type {
    match ty {
        Type::Reference(reference) => pointee(&reference.elem),
        // A type passed through a `macro_rules!` fragment, or written in parentheses.
        Type::Group(group) => pointee(&group.elem),
        Type::Paren(paren) => pointee(&paren.elem),
        Type::Path(path) if path.qself.is_none() => {
            let Some(last) = path.path.segments.last() else {
                return ty;
            };
            let PathArguments::AngleBracketed(arguments) = &last.arguments else {
                return ty;
            };
            let pointer = ["Arc", "Rc", "Box"].iter().any(|name| last.ident == name);
            match (pointer, arguments.args.len(), arguments.args.first()) {
                (true, 1, Some(GenericArgument::Type(pointee_ty))) => pointee(pointee_ty),
                _ => ty,
            }
        }
        _ => ty,
    }
}

fn member(ident: Option<&Ident>, index: usize) -> Member {
    match ident {
        Some(ident) => Member::Named(ident.clone()),
        None => Member::Unnamed(Index {
            index: u32::try_from(index).expect("a struct has fewer than 2^32 fields"),
            span: Span::call_site(),
        }),
    }
}

/// The attributes named `name`.
fn helpers<'a>(attrs: &'a [Attribute], name: &'a str) -> impl Iterator<Item = &'a Attribute> {
    attrs.iter().filter(move |attr| attr.path().is_ident(name))
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    fn check(ty: Type) -> std::result::Result<(), String> {
        let generics: Generics = parse_quote!(<S: ConnectorSession>);
        check_session_type(&ty, &generics, &default_crate())
    }

    #[test]
    fn sessions_are_known_by_their_last_segment() {
        assert!(check(parse_quote!(Session)).is_ok());
        assert!(check(parse_quote!(api_toolkit::blocking::Session)).is_ok());
        assert!(check(parse_quote!(&'a Session)).is_ok());
        assert!(check(parse_quote!(std::sync::Arc<Session>)).is_ok());
        assert!(check(parse_quote!(Box<blocking::Session>)).is_ok());
        assert!(check(parse_quote!(<T as Api>::Session)).is_ok());
        // A type parameter is left to its bounds.
        assert!(check(parse_quote!(S)).is_ok());
        assert!(check(parse_quote!(Arc<S>)).is_ok());
    }

    #[test]
    fn other_types_are_reported() {
        for ty in [
            parse_quote!(String),
            parse_quote!(reqwest::Client),
            parse_quote!(Vec<Session>),
            parse_quote!((Session, Session)),
            parse_quote!([Session; 2]),
            parse_quote!(T),
            parse_quote!(HttpSession),
        ] {
            assert!(check(ty).is_err());
        }
    }

    #[test]
    fn an_option_is_told_to_drop_the_option() {
        let message = check(parse_quote!(Option<Arc<Session>>)).unwrap_err();
        assert!(
            message.ends_with("write `session: Arc<Session>`"),
            "{message}"
        );
        let message = check(parse_quote!(Option<String>)).unwrap_err();
        assert!(message.contains("must hold a session"), "{message}");
    }
}
