//! The `AuthHandlerConfig` impl, and for `#[auth_handler]` the type checks
//! and the process-wide registration.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::Item;
use syn::spanned::Spanned;

use super::ast::Config;
use super::valid::{CheckedHandler, Settled};
use crate::support::runtime;

/// The impl for a checked config. `type Handler` carries the span of the
/// user's `handler = ...`, so a handler without `FromConfig` is reported there.
pub(crate) fn config(config: &Config<'_>, settled: &Settled<'_>) -> TokenStream {
    let private = runtime::private();
    let ident = config.ident;
    let Settled {
        id,
        name,
        description,
        handler,
    } = settled;
    quote! {
        #[automatically_derived]
        impl #private::AuthHandlerConfig for #ident {
            type Handler = #handler;
            const ID: &'static #private::str = #id;
            const NAME: &'static #private::str = #name;
            const DESCRIPTION: &'static #private::str = #description;
        }
    }
}

/// The item, unchanged, then checks that it is a handler built by its config
/// (each reported at the user's token) and its registration with `inventory`.
pub(crate) fn handler(item: &Item, handler: &CheckedHandler<'_>) -> TokenStream {
    let private = runtime::private();
    let ident = handler.ident;
    let config = &handler.config;
    let at_ident = runtime::private_at(ident.span());
    let is_handler = quote_spanned! {ident.span()=>
        #at_ident::assert_auth_handler::<#ident>()
    };
    // Also the check that the config builds this handler, at `config = ..`.
    let at_config = runtime::private_at(config.span());
    let registration = quote_spanned! {config.span()=>
        #at_config::Registration::of::<#config, #ident>()
    };
    quote! {
        #item

        const _: () = #is_handler;

        #private::inventory::submit! {
            #registration
        }
    }
}
