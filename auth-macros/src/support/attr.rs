//! `key = value` lists in attributes, read without stopping at the first
//! mistake: unknown keys list the known ones, a repeated key is reported at
//! its second use, and a bad value is skipped so the keys after it are read.

use proc_macro2::{TokenStream, TokenTree};
use syn::meta::ParseNestedMeta;
use syn::parse::{ParseStream, Parser};
use syn::{LitStr, Token, Type};

use super::errors::Errors;

/// The keys of one attribute (`#[resource(...)]`), read across every use of
/// it on one item.
pub(crate) struct KeyList {
    attr: &'static str,
    allowed: &'static [&'static str],
    seen: Vec<String>,
}

impl KeyList {
    /// Keys of `#[attr(...)]`, of which `allowed` are known.
    pub(crate) fn new(attr: &'static str, allowed: &'static [&'static str]) -> Self {
        Self {
            attr,
            allowed,
            seen: Vec::new(),
        }
    }

    /// Reads one attribute; `on_key` is called once for each known key, with
    /// the input positioned at its `= value`.
    pub(crate) fn parse_attr(
        &mut self,
        attr: &syn::Attribute,
        errors: &mut Errors,
        on_key: impl FnMut(&str, &ParseNestedMeta, &mut Errors) -> syn::Result<()>,
    ) {
        let mut on_key = on_key;
        let result = attr.parse_nested_meta(|meta| self.key(&meta, errors, &mut on_key));
        errors.ok(result);
    }

    /// Reads the arguments of an attribute macro (`#[auth_handler(...)]`).
    pub(crate) fn parse_args(
        &mut self,
        args: TokenStream,
        errors: &mut Errors,
        on_key: impl FnMut(&str, &ParseNestedMeta, &mut Errors) -> syn::Result<()>,
    ) {
        let mut on_key = on_key;
        let parser = syn::meta::parser(|meta| self.key(&meta, errors, &mut on_key));
        let result = parser.parse2(args);
        errors.ok(result);
    }

    fn key(
        &mut self,
        meta: &ParseNestedMeta,
        errors: &mut Errors,
        on_key: &mut impl FnMut(&str, &ParseNestedMeta, &mut Errors) -> syn::Result<()>,
    ) -> syn::Result<()> {
        let name = meta.path.get_ident().map(ToString::to_string);
        match name {
            Some(name) if self.allowed.contains(&name.as_str()) => {
                if self.seen.contains(&name) {
                    errors.spanned(&meta.path, format!("`{name}` is set twice: keep one"));
                    skip_value(meta.input)
                } else {
                    self.seen.push(name.clone());
                    on_key(&name, meta, errors)
                }
            }
            _ => {
                let key = quote::ToTokens::to_token_stream(&meta.path)
                    .to_string()
                    .replace(' ', "");
                errors.spanned(
                    &meta.path,
                    format!(
                        "unknown key `{key}` in `#[{}(...)]`: {}",
                        self.attr,
                        self.known()
                    ),
                );
                skip_value(meta.input)
            }
        }
    }

    /// Whether `key` was written, even with a bad value (so that a missing-key
    /// error does not follow a bad-value one).
    pub(crate) fn written(&self, key: &str) -> bool {
        self.seen.iter().any(|k| k == key)
    }

    fn known(&self) -> String {
        let quoted: Vec<String> = self.allowed.iter().map(|k| format!("`{k}`")).collect();
        match quoted.as_slice() {
            [one] => format!("the only key is {one}"),
            [init @ .., last] => format!("the keys are {} and {last}", init.join(", ")),
            [] => "it takes no keys".to_owned(),
        }
    }
}

/// A string value: `key = "..."`. A missing or non-string value is reported
/// and skipped.
pub(crate) fn string_value(
    meta: &ParseNestedMeta,
    key: &str,
    errors: &mut Errors,
) -> syn::Result<Option<LitStr>> {
    if !meta.input.peek(Token![=]) {
        errors.spanned(&meta.path, format!("expected `{key} = \"...\"`"));
        return skip_value(meta.input).map(|()| None);
    }
    let value = meta.value()?;
    if value.peek(LitStr) {
        return value.parse().map(Some);
    }
    let tokens = take_value(value)?;
    errors.spanned(&tokens, format!("expected a string: `{key} = \"...\"`"));
    Ok(None)
}

/// A type value: `key = Type`. A string is refused with a hint to drop the
/// quotes; a missing value is reported.
pub(crate) fn type_value(
    meta: &ParseNestedMeta,
    key: &str,
    example: &str,
    errors: &mut Errors,
) -> syn::Result<Option<Type>> {
    if !meta.input.peek(Token![=]) {
        errors.spanned(&meta.path, format!("expected `{key} = {example}`"));
        return skip_value(meta.input).map(|()| None);
    }
    let value = meta.value()?;
    if value.peek(LitStr) {
        let lit: LitStr = value.parse()?;
        errors.spanned(
            &lit,
            format!(
                "`{key}` takes a type, not a string: write `{key} = {}`",
                lit.value()
            ),
        );
        return Ok(None);
    }
    value.parse().map(Some)
}

/// Consumes `= value` (or `(...)`) up to the next top-level comma.
fn skip_value(input: ParseStream) -> syn::Result<()> {
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
    }
    take_value(input).map(drop)
}

/// The tokens up to the next top-level comma.
fn take_value(input: ParseStream) -> syn::Result<TokenStream> {
    input.step(|cursor| {
        let mut rest = *cursor;
        let mut taken = TokenStream::new();
        while let Some((tt, next)) = rest.token_tree() {
            if matches!(&tt, TokenTree::Punct(p) if p.as_char() == ',') {
                break;
            }
            taken.extend([tt]);
            rest = next;
        }
        Ok((taken, rest))
    })
}
