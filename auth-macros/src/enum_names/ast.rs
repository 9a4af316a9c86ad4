//! The derive input as an enum of named variants.

use syn::{Attribute, Data, DeriveInput, Fields, Generics, Ident, LitStr};

use super::attr;
use crate::support::errors::Errors;

/// Which derive: they differ only in the trait and the words of messages.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// `#[derive(Resource)]`.
    Resource,
    /// `#[derive(Permission)]`.
    Permission,
}

impl Kind {
    /// The derive's name, as written in `#[derive(...)]`.
    pub(crate) fn derive_name(self) -> &'static str {
        match self {
            Self::Resource => "Resource",
            Self::Permission => "Permission",
        }
    }

    /// The helper attribute: `resource` or `permission`.
    pub(crate) fn attr(self) -> &'static str {
        match self {
            Self::Resource => "resource",
            Self::Permission => "permission",
        }
    }
}

/// An enum deriving `Resource` or `Permission`.
pub(crate) struct Enum<'a> {
    pub(crate) kind: Kind,
    pub(crate) ident: &'a Ident,
    pub(crate) generics: &'a Generics,
    pub(crate) variants: Vec<Variant<'a>>,
}

/// One variant and its `rename`, if any.
pub(crate) struct Variant<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) fields: &'a Fields,
    pub(crate) rename: Option<LitStr>,
}

impl<'a> Enum<'a> {
    /// Reads the input; `None` (with an error recorded) when it is not an enum.
    pub(crate) fn from_syn(
        input: &'a DeriveInput,
        kind: Kind,
        errors: &mut Errors,
    ) -> Option<Self> {
        container_attrs(&input.attrs, kind, errors);
        let data = match &input.data {
            Data::Enum(data) => data,
            Data::Struct(data) => {
                not_an_enum(data.struct_token.span, kind, errors);
                return None;
            }
            Data::Union(data) => {
                not_an_enum(data.union_token.span, kind, errors);
                return None;
            }
        };
        let variants = data
            .variants
            .iter()
            .map(|v| Variant {
                ident: &v.ident,
                fields: &v.fields,
                rename: attr::rename(&v.attrs, kind, errors),
            })
            .collect();
        Some(Self {
            kind,
            ident: &input.ident,
            generics: &input.generics,
            variants,
        })
    }
}

fn not_an_enum(span: proc_macro2::Span, kind: Kind, errors: &mut Errors) {
    errors.at(
        span,
        format!(
            "`#[derive({})]` works on enums only, with one unit variant per {}",
            kind.derive_name(),
            kind.attr()
        ),
    );
}

/// The helper attribute belongs on variants; on the enum it would be ignored.
fn container_attrs(attrs: &[Attribute], kind: Kind, errors: &mut Errors) {
    for attr in attrs.iter().filter(|a| a.path().is_ident(kind.attr())) {
        errors.spanned(
            attr,
            format!(
                "`#[{}(...)]` goes on a variant, to rename it; the enum itself takes no options",
                kind.attr()
            ),
        );
    }
}
