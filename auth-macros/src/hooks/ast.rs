//! The attribute's input: no arguments, and a fn.

use proc_macro2::TokenStream;
use syn::{Item, ItemFn};

use super::Stage;
use crate::support::errors::Errors;
use crate::support::item::keyword_span;

/// A fn under a hook attribute.
pub(crate) struct Hook {
    pub(crate) func: ItemFn,
}

impl Hook {
    /// Reads the input; `None` (with an error recorded) when it is not a fn.
    pub(crate) fn parse(
        stage: Stage,
        args: TokenStream,
        item: TokenStream,
        errors: &mut Errors,
    ) -> Option<Self> {
        if !args.is_empty() {
            errors.spanned(&args, format!("`#[{}]` takes no arguments", stage.attr()));
        }
        match errors.ok(syn::parse2::<Item>(item))? {
            Item::Fn(func) => Some(Self { func }),
            other => {
                errors.at(
                    keyword_span(&other),
                    format!(
                        "`#[{}]` goes on an `async fn`: `{}`",
                        stage.attr(),
                        stage.signature("name")
                    ),
                );
                None
            }
        }
    }
}
