//! The signature rules a macro can judge by shape. The argument and return
//! *types* are checked by rustc, through traits, at the user's tokens (see
//! `expand`): a type alias or a re-export is as good as the plain name.

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::{FnArg, ItemFn, ReturnType, Type};

use super::Stage;
use super::ast::Hook;
use crate::support::errors::Errors;

/// A hook whose signature has the right shape.
pub(crate) struct Checked {
    pub(crate) func: ItemFn,
    pub(crate) arg: Type,
    pub(crate) output: Type,
}

/// Checks the signature; every mistake is recorded, with the right signature
/// (under the user's fn name) in the message.
pub(crate) fn check(stage: Stage, hook: Hook, errors: &mut Errors) -> Option<Checked> {
    let sig = &hook.func.sig;
    let right = stage.signature(&sig.ident.to_string());
    let what = stage.what();

    if sig.asyncness.is_none() {
        errors.at(
            sig.fn_token.span,
            format!("{what} is an `async fn`: `{right}`"),
        );
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.spanned(unsafety, format!("{what} cannot be `unsafe`: `{right}`"));
    }
    if let Some(abi) = &sig.abi {
        errors.spanned(abi, format!("{what} cannot be `extern`: `{right}`"));
    }
    // The hook becomes a unit struct: there is nothing to instantiate
    // generics with.
    if sig.generics.lt_token.is_some() {
        errors.spanned(
            &sig.generics,
            format!("{what} cannot be generic: `{right}`"),
        );
    }
    if let Some(clause) = &sig.generics.where_clause {
        errors.spanned(clause, format!("{what} cannot be generic: `{right}`"));
    }

    let mut typed = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.spanned(
                receiver,
                format!("{what} is a free fn, it cannot take `self`: `{right}`"),
            ),
            FnArg::Typed(pat) => typed.push(pat),
        }
    }
    let arg = match typed.as_slice() {
        [one] => {
            if has_impl_trait(one.ty.to_token_stream()) {
                errors.spanned(&one.ty, format!("{what} cannot be generic: `{right}`"));
                None
            } else {
                Some((*one.ty).clone())
            }
        }
        [] => {
            if !sig.inputs.iter().any(|i| matches!(i, FnArg::Receiver(_))) {
                errors.at(
                    sig.paren_token.span.join(),
                    format!("{what} takes one argument, the hook context: `{right}`"),
                );
            }
            None
        }
        [_, extra @ ..] => {
            let extra: TokenStream = extra.iter().map(|a| a.to_token_stream()).collect();
            errors.spanned(
                extra,
                format!("{what} takes one argument, the hook context: `{right}`"),
            );
            None
        }
    };

    let output = match &sig.output {
        ReturnType::Type(_, ty) if !has_impl_trait(ty.to_token_stream()) => Some((**ty).clone()),
        ReturnType::Type(_, ty) => {
            errors.spanned(ty, format!("{what} returns `AuthResult<()>`: `{right}`"));
            None
        }
        ReturnType::Default => {
            errors.at(
                sig.paren_token.span.close(),
                format!("{what} returns `AuthResult<()>`: `{right}`"),
            );
            None
        }
    };

    Some(Checked {
        arg: arg?,
        output: output?,
        func: hook.func,
    })
}

/// Whether a type mentions `impl Trait`, which makes the fn generic.
fn has_impl_trait(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tt| match tt {
        TokenTree::Ident(ident) => ident == "impl",
        TokenTree::Group(group) => has_impl_trait(group.stream()),
        _ => false,
    })
}
