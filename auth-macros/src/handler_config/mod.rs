//! `#[derive(AuthHandlerConfig)]` on a config type and `#[auth_handler]` on
//! the handler type it builds.
//!
//! `ast` reads the inputs, `attr` the `#[auth_config(...)]` and
//! `#[auth_handler(...)]` keys, `valid` checks the rules and settles the
//! values, `expand` writes the impl, the type checks and the registration.

mod ast;
mod attr;
mod expand;
mod valid;

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::support::errors::Errors;

/// Expands `#[derive(AuthHandlerConfig)]`; on any error, only the errors.
pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let Some(config) = ast::Config::from_syn(input, &mut errors) else {
        return errors.into_compile_errors();
    };
    let settled = valid::check_config(&config, &mut errors);
    match (settled, errors.finish()) {
        (Some(settled), Ok(())) => expand::config(&config, &settled),
        (_, result) => result
            .err()
            .map(|e| e.to_compile_error())
            .unwrap_or_default(),
    }
}

/// Expands `#[auth_handler(config = C)]`; on any error, the item unchanged
/// plus the errors.
pub(crate) fn auth_handler(args: TokenStream, item: TokenStream) -> TokenStream {
    let parsed = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(parsed) => parsed,
        Err(e) => {
            let e = e.to_compile_error();
            return quote!(#item #e);
        }
    };
    let mut errors = Errors::default();
    let handler = ast::Handler::from_syn(&parsed, args, &mut errors);
    let checked = handler.and_then(|h| valid::check_handler(h, &mut errors));
    match (checked, errors.is_empty()) {
        (Some(handler), true) => expand::handler(&parsed, &handler),
        _ => {
            let errors = errors.into_compile_errors();
            quote!(#item #errors)
        }
    }
}
