//! `#[resource(rename = "...")]` / `#[permission(rename = "...")]` on a variant.

use syn::{Attribute, LitStr};

use super::ast::Kind;
use crate::support::attr::{KeyList, string_value};
use crate::support::errors::Errors;

/// The variant's `rename`, read from every helper attribute on it.
pub(crate) fn rename(attrs: &[Attribute], kind: Kind, errors: &mut Errors) -> Option<LitStr> {
    let mut keys = KeyList::new(kind.attr(), &["rename"]);
    let mut rename = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident(kind.attr())) {
        keys.parse_attr(attr, errors, |key, meta, errors| {
            debug_assert_eq!(key, "rename");
            rename = string_value(meta, key, errors)?;
            Ok(())
        });
    }
    rename
}
