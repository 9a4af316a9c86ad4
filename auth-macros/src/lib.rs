//! Procedural macros for poem-auth.
//!
//! Depend on `auth-core` (or `auth-poem`) and use the macros from there:
//! generated code names its runtime items through `auth_core`. Each macro is
//! documented where it is re-exported, in `auth-core`.
//!
//! Every macro is parse → validate → expand, in its own module; this file
//! holds only the entry points.

mod enum_names;
mod handler_config;
mod hooks;
mod support;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Implements `auth_core::Resource`, `Display` and `FromStr` for a fieldless
/// enum; see `auth_core::permission`.
///
/// Each variant is named in SCREAMING_SNAKE_CASE (`AuthHandler` →
/// `AUTH_HANDLER`); `#[resource(rename = "...")]` names it otherwise (ASCII
/// letters, digits and `_`; normalized to upper case).
#[proc_macro_derive(Resource, attributes(resource))]
pub fn derive_resource(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    enum_names::derive(&input, enum_names::Kind::Resource).into()
}

/// Implements `auth_core::Permission`, `Display` and `FromStr` for a
/// fieldless enum; like `#[derive(Resource)]`, with `#[permission(rename = "...")]`.
#[proc_macro_derive(Permission, attributes(permission))]
pub fn derive_permission(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    enum_names::derive(&input, enum_names::Kind::Permission).into()
}

/// Implements `auth_core::AuthHandlerConfig` for a config type, with
/// `#[auth_config(name = "...", handler = MyHandler)]` and optionally
/// `id = "..."` and `description = "..."` (else the doc comment).
#[proc_macro_derive(AuthHandlerConfig, attributes(auth_config))]
pub fn derive_auth_handler_config(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    handler_config::derive(&input).into()
}

/// `#[auth_handler(config = MyConfig)]` on a handler type: checks that it is
/// an `AuthHandler` built by `MyConfig`, and registers `MyConfig` for
/// `HandlerRegistry::with_registered()`.
#[proc_macro_attribute]
pub fn auth_handler(args: TokenStream, item: TokenStream) -> TokenStream {
    handler_config::auth_handler(args.into(), item.into()).into()
}

/// Turns `async fn name(cx: &mut BeforeAuth) -> AuthResult<()>` into a unit
/// struct `name` that implements `auth_core::BeforeHook`.
#[proc_macro_attribute]
pub fn before_authentication(args: TokenStream, item: TokenStream) -> TokenStream {
    hooks::hook(hooks::Stage::Before, args.into(), item.into()).into()
}

/// Turns `async fn name(cx: &AfterAuth) -> AuthResult<()>` into a unit struct
/// `name` that implements `auth_core::AfterHook`.
#[proc_macro_attribute]
pub fn after_authentication(args: TokenStream, item: TokenStream) -> TokenStream {
    hooks::hook(hooks::Stage::After, args.into(), item.into()).into()
}
