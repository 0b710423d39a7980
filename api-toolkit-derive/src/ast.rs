//! A typed view of the input: a struct, the field holding its session, and its checked
//! `#[retry(...)]` settings.

use proc_macro2::Span;
use syn::{
    Attribute, Data, DeriveInput, Error, Fields, Generics, Ident, Index, Member, Meta, Result, Type,
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
    /// The session field's type, as written.
    pub(crate) session_ty: &'a Type,
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
        let entries = attr::parse(&node.attrs, &mut errors);
        let settings = valid::check(entries, &mut errors);
        let session = session_field(&node.ident, fields, &mut errors);
        errors.finish()?;
        let (session, session_ty) = session.expect("a struct without a session field is an error");
        Ok(Input {
            ident: &node.ident,
            generics: &node.generics,
            session,
            session_ty,
            settings,
        })
    }
}

const STRUCTS_ONLY: &str = "#[derive(Connector)] supports structs only";

/// The field marked `#[session]`, else the field named `session`, and its type; mistakes are
/// recorded.
fn session_field<'a>(
    ident: &Ident,
    fields: &'a Fields,
    errors: &mut Errors,
) -> Option<(Member, &'a Type)> {
    let mut marked = None;
    for (index, field) in fields.iter().enumerate() {
        for attr in helpers(&field.attrs, "retry") {
            let message = "`#[retry(...)]` goes on the struct, not on a field";
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
    let named = || {
        fields.iter().find_map(|field| {
            let name = field.ident.as_ref().filter(|name| *name == "session")?;
            Some((Member::Named(name.clone()), &field.ty))
        })
    };
    let session = marked.or_else(named);
    if session.is_none() {
        let message = "#[derive(Connector)] needs a field `session: api_toolkit::Session` or a field marked `#[session]`";
        errors.push(Error::new_spanned(ident, message));
    }
    session
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
