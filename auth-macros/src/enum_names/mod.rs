//! `#[derive(Resource)]` and `#[derive(Permission)]`: a fieldless enum whose
//! variants are named on the wire in SCREAMING_SNAKE_CASE.
//!
//! `ast` reads the `syn` input, `attr` the `#[resource(...)]` attributes,
//! `valid` checks the rules and settles the names, `expand` writes the impls.

mod ast;
mod attr;
mod case;
mod expand;
mod valid;

use proc_macro2::TokenStream;
use syn::DeriveInput;

pub(crate) use ast::Kind;

use crate::support::errors::Errors;

/// Expands one derive; on any error, only the errors (the enum itself stays,
/// as for every derive).
pub(crate) fn derive(input: &DeriveInput, kind: Kind) -> TokenStream {
    let mut errors = Errors::default();
    let Some(parsed) = ast::Enum::from_syn(input, kind, &mut errors) else {
        return errors.into_compile_errors();
    };
    let names = valid::check(&parsed, &mut errors);
    if !errors.is_empty() {
        return errors.into_compile_errors();
    }
    expand::expand(&parsed, &names)
}
