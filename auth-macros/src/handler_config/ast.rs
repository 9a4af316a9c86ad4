//! The inputs: a config type with its `#[auth_config]`, and a handler type
//! with its `#[auth_handler]` arguments.

use proc_macro2::TokenStream;
use syn::{Attribute, Data, DeriveInput, Expr, Generics, Ident, Item, Lit, Meta};

use super::attr::{self, ConfigKeys};
use crate::support::errors::Errors;
use crate::support::item::keyword_span;

/// The helper attribute of the derive.
pub(crate) const CONFIG_ATTR: &str = "auth_config";

/// A type deriving `AuthHandlerConfig`.
pub(crate) struct Config<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) generics: &'a Generics,
    /// The first `#[auth_config]`, where a missing key is reported.
    pub(crate) attr: Option<&'a Attribute>,
    pub(crate) keys: ConfigKeys,
    /// The doc comment, the description when the attribute has none.
    pub(crate) doc: Option<String>,
}

impl<'a> Config<'a> {
    /// Reads the input; `None` (with an error recorded) for a union.
    pub(crate) fn from_syn(input: &'a DeriveInput, errors: &mut Errors) -> Option<Self> {
        match &input.data {
            Data::Struct(data) => {
                for field in &data.fields {
                    misplaced(&field.attrs, "a field", errors);
                }
            }
            Data::Enum(data) => {
                for variant in &data.variants {
                    misplaced(&variant.attrs, "a variant", errors);
                    for field in &variant.fields {
                        misplaced(&field.attrs, "a field", errors);
                    }
                }
            }
            Data::Union(data) => {
                errors.at(
                    data.union_token.span,
                    "`#[derive(AuthHandlerConfig)]` works on structs and enums, which serde can read; not on unions",
                );
                return None;
            }
        }
        let attrs: Vec<&Attribute> = input
            .attrs
            .iter()
            .filter(|a| a.path().is_ident(CONFIG_ATTR))
            .collect();
        let keys = attr::config_keys(&attrs, errors);
        Some(Self {
            ident: &input.ident,
            generics: &input.generics,
            attr: attrs.first().copied(),
            keys,
            doc: doc_comment(&input.attrs),
        })
    }
}

/// `#[auth_config]` belongs on the type; elsewhere it would be ignored.
fn misplaced(attrs: &[Attribute], place: &str, errors: &mut Errors) {
    for attr in attrs.iter().filter(|a| a.path().is_ident(CONFIG_ATTR)) {
        errors.spanned(
            attr,
            format!("`#[auth_config(...)]` goes on the config type itself, not on {place}"),
        );
    }
}

/// The `///` lines, joined; `None` when there are none or they are blank.
fn doc_comment(attrs: &[Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter_map(|attr| match &attr.meta {
            Meta::NameValue(nv) if nv.path.is_ident("doc") => match &nv.value {
                Expr::Lit(lit) => match &lit.lit {
                    Lit::Str(s) => Some(s.value()),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        })
        .map(|line| {
            line.strip_prefix(' ')
                .unwrap_or(&line)
                .trim_end()
                .to_owned()
        })
        .collect();
    let text = lines.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// A type under `#[auth_handler(...)]`.
pub(crate) struct Handler<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) generics: &'a Generics,
    pub(crate) config: Option<syn::Type>,
    /// Whether `config` was written, well-formed or not.
    pub(crate) config_written: bool,
}

impl<'a> Handler<'a> {
    /// Reads the item and the arguments; `None` (with an error recorded) when
    /// the item is not a struct or an enum.
    pub(crate) fn from_syn(item: &'a Item, args: TokenStream, errors: &mut Errors) -> Option<Self> {
        let (config, config_written) = attr::handler_config(args, errors);
        let (ident, generics) = match item {
            Item::Struct(s) => (&s.ident, &s.generics),
            Item::Enum(e) => (&e.ident, &e.generics),
            other => {
                errors.at(
                    keyword_span(other),
                    "`#[auth_handler(...)]` goes on the handler type: a struct or an enum that implements `AuthHandler`",
                );
                return None;
            }
        };
        Some(Self {
            ident,
            generics,
            config,
            config_written,
        })
    }
}
