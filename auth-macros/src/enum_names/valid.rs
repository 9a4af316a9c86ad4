//! The rules of a resource or permission enum, each with its reason, and the
//! names the variants end up with.

use std::collections::HashMap;

use quote::ToTokens;
use syn::Fields;
use syn::ext::IdentExt;

use super::ast::Enum;
use super::case::screaming_snake;
use crate::support::errors::Errors;

/// Checks the enum and returns each variant's name, in order.
///
/// Names are normalized to upper case: names are case-insensitive everywhere
/// in auth-core (scopes, permission sets, `FromStr`), so `rename = "auth_handler"`
/// and `rename = "AUTH_HANDLER"` mean the same, and the wire form is the upper one.
pub(crate) fn check(input: &Enum<'_>, errors: &mut Errors) -> Vec<String> {
    let (kind, attr) = (input.kind, input.kind.attr());
    // `all()` hands out `&'static [Self]`, and the names are fixed: a
    // generic enum could be neither.
    if input.generics.lt_token.is_some() {
        errors.spanned(
            input.generics,
            format!("a {attr} enum cannot have generic parameters: it is a fixed list of names"),
        );
    }
    if input.variants.is_empty() {
        errors.spanned(
            input.ident,
            format!(
                "`{}` has no variants: a {attr} enum lists its {attr}s as unit variants",
                input.ident
            ),
        );
    }

    let mut names = Vec::with_capacity(input.variants.len());
    let mut first_of: HashMap<String, &syn::Ident> = HashMap::new();
    for variant in &input.variants {
        let ident = variant.ident.unraw();
        match variant.fields {
            Fields::Unit => {}
            Fields::Unnamed(fields) => errors.spanned(
                fields,
                format!(
                    "`{ident}(..)` is a tuple variant: a {attr} variant carries no data, write `{ident}`"
                ),
            ),
            Fields::Named(fields) => errors.spanned(
                fields,
                format!(
                    "`{ident} {{ .. }}` is a struct variant: a {attr} variant carries no data, write `{ident}`"
                ),
            ),
        }

        let name = match &variant.rename {
            Some(lit) => {
                let text = lit.value();
                if text.is_empty() {
                    errors.spanned(lit, "the name cannot be empty");
                } else if !valid_name(&text) {
                    errors.spanned(
                        lit,
                        format!(
                            "`{text}` is not a valid name: use only ASCII letters, digits and `_`"
                        ),
                    );
                }
                text.to_ascii_uppercase()
            }
            None => {
                let name = screaming_snake(&ident.to_string());
                if !valid_name(&name) {
                    errors.spanned(
                        variant.ident,
                        format!(
                            "variant `{ident}` gives the name `{name}`, which is not only ASCII letters, digits and `_`: set one with `#[{attr}(rename = \"...\")]`"
                        ),
                    );
                }
                name
            }
        };
        if let Some(first) = first_of.get(&name) {
            let at = variant.rename.as_ref().map_or_else(
                || variant.ident.to_token_stream(),
                ToTokens::to_token_stream,
            );
            errors.spanned(
                at,
                format!(
                    "duplicate {} name `{name}`: variant `{}` already has it; rename one with `#[{attr}(rename = \"...\")]`",
                    kind.attr(),
                    first.unraw()
                ),
            );
        } else {
            first_of.insert(name.clone(), variant.ident);
        }
        names.push(name);
    }
    names
}

/// A name auth-core accepts: letters, digits and `_`.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}
