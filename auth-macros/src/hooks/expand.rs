//! The unit struct and its hook impl.
//!
//! ```text
//! /// docs
//! pub struct pick_key;
//! impl BeforeHook for pick_key {
//!     fn call(&self, cx: BeforeAuth) -> BoxFuture<'static, AuthResult<BeforeAuth>> {
//!         async fn pick_key(cx: &mut BeforeAuth) -> AuthResult<()> { /* the user's body */ }
//!         let mut cx = cx;
//!         Box::pin(async move {
//!             let outcome = <Ret as BeforeHookOutput>::into_result(
//!                 pick_key(<Arg as BeforeHookArg<'_>>::from_cx(&mut cx)).await,
//!             );
//!             finish_hook(outcome, cx)
//!         })
//!     }
//! }
//! ```
//!
//! `Arg` and `Ret` are the user's own type tokens, so a wrong argument or
//! return type is reported on them, with the trait's message.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{Attribute, Ident, Visibility};

use super::Stage;
use super::valid::Checked;
use crate::support::runtime;

/// The struct and impl for a checked hook.
pub(crate) fn expand(stage: Stage, checked: &Checked) -> TokenStream {
    let private = runtime::private();
    let (hook_trait, cx_type, arg_trait, output_trait) = match stage {
        Stage::Before => (
            "BeforeHook",
            "BeforeAuth",
            "BeforeHookArg",
            "BeforeHookOutput",
        ),
        Stage::After => ("AfterHook", "AfterAuth", "AfterHookArg", "AfterHookOutput"),
    };
    let hook_trait = format_ident!("{hook_trait}");
    let cx_type = format_ident!("{cx_type}");
    let arg_trait = format_ident!("{arg_trait}");
    let output_trait = format_ident!("{output_trait}");

    let func = &checked.func;
    let name = &func.sig.ident;
    let vis = &func.vis;
    let (docs, cfgs, rest) = split_attrs(&func.attrs);
    let mut inner = func.clone();
    inner.vis = Visibility::Inherited;
    inner.attrs = rest;

    // Locals the user's body cannot see. Their names must not be those of a
    // unit struct in scope (a pattern would match it instead of binding), and
    // the hook itself becomes one: hence names no hook is called.
    let cx = Ident::new("__auth_hook_cx", Span::mixed_site());
    let outcome = Ident::new("__auth_hook_outcome", Span::mixed_site());
    let (arg, output) = (&checked.arg, &checked.output);
    // At the fn's name: where "future cannot be sent between threads" lands.
    let at_name = runtime::private_at(name.span());
    let call = quote_spanned! {name.span()=>
        #at_name::Box::pin(async move {
            let #outcome = <#output as #private::#output_trait>::into_result(
                #name(<#arg as #private::#arg_trait<'_>>::from_cx(&mut #cx)).await,
            );
            #private::finish_hook(#outcome, #cx)
        })
    };
    quote! {
        #(#docs)*
        #(#cfgs)*
        #[allow(non_camel_case_types)]
        #vis struct #name;

        #(#cfgs)*
        impl #private::#hook_trait for #name {
            fn call(
                &self,
                #cx: #private::#cx_type,
            ) -> #private::BoxFuture<'static, #private::AuthResult<#private::#cx_type>> {
                #inner
                let mut #cx = #cx;
                #call
            }
        }
    }
}

/// The fn's doc comments (for the struct), `cfg`s (for struct and impl) and
/// the rest (for the fn itself).
fn split_attrs(attrs: &[Attribute]) -> (Vec<&Attribute>, Vec<&Attribute>, Vec<Attribute>) {
    let mut docs = Vec::new();
    let mut cfgs = Vec::new();
    let mut rest = Vec::new();
    for attr in attrs {
        if attr.path().is_ident("doc") {
            docs.push(attr);
        } else if attr.path().is_ident("cfg") {
            cfgs.push(attr);
        } else {
            rest.push(attr.clone());
        }
    }
    (docs, cfgs, rest)
}
