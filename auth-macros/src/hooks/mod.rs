//! `#[before_authentication]` and `#[after_authentication]`: an `async fn`
//! that borrows the hook context becomes a unit struct of the same name that
//! implements `BeforeHook` / `AfterHook`.
//!
//! `ast` reads the fn, `valid` checks the signature the macro can judge by
//! its shape (async, one argument, a return type, no generics), `expand`
//! writes the struct and its impl, with type checks of the argument and
//! return types spanned on the user's tokens.

mod ast;
mod expand;
mod valid;

use proc_macro2::TokenStream;
use quote::quote;

use crate::support::errors::Errors;

/// Which hook.
#[derive(Clone, Copy)]
pub(crate) enum Stage {
    /// `#[before_authentication]`.
    Before,
    /// `#[after_authentication]`.
    After,
}

impl Stage {
    /// The attribute's name.
    pub(crate) fn attr(self) -> &'static str {
        match self {
            Self::Before => "before_authentication",
            Self::After => "after_authentication",
        }
    }

    /// The right signature, for messages.
    pub(crate) fn signature(self, name: &str) -> String {
        match self {
            Self::Before => format!("async fn {name}(cx: &mut BeforeAuth) -> AuthResult<()>"),
            Self::After => format!("async fn {name}(cx: &AfterAuth) -> AuthResult<()>"),
        }
    }

    /// "a before-authentication hook", for messages.
    pub(crate) fn what(self) -> &'static str {
        match self {
            Self::Before => "a `#[before_authentication]` hook",
            Self::After => "an `#[after_authentication]` hook",
        }
    }
}

/// Expands the attribute; on any error, the fn unchanged plus the errors.
pub(crate) fn hook(stage: Stage, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let hook = ast::Hook::parse(stage, args, item.clone(), &mut errors);
    let checked = hook.and_then(|h| valid::check(stage, h, &mut errors));
    match (checked, errors.is_empty()) {
        (Some(checked), true) => expand::expand(stage, &checked),
        _ => {
            let errors = errors.into_compile_errors();
            quote!(#item #errors)
        }
    }
}
