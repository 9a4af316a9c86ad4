//! `#[requires(...)]` and `#[auth_poem::api]`: parse ([`parse`]), check
//! ([`validate`]), generate ([`expand`]).
//!
//! On a plain poem handler, `#[requires]` goes *above* `#[handler]`: it
//! adds an argument and changes the return type, which `#[handler]` must
//! see. Below `#[handler]` it would only see the function poem already
//! extracted the arguments for, so there it is a compile error that says
//! to swap them. On poem-openapi operations, `#[auth_poem::api]` above
//! `#[OpenApi]` rewrites every `#[requires]` method of the impl before
//! `#[OpenApi]` reads it.

mod expand;
mod parse;
mod validate;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::{Attribute, FnArg, ImplItem, Item, ItemImpl, Meta};

use parse::Node;

pub(crate) use crate::support::errors::Errors;

/// Whether `attr` is a `#[requires]` (by any path ending in `requires`).
fn is_requires(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "requires")
}

/// Takes the `#[requires]` attributes out of `attrs`, in order.
fn take_requires(attrs: &mut Vec<Attribute>) -> Vec<Attribute> {
    let (taken, kept) = std::mem::take(attrs).into_iter().partition(is_requires);
    *attrs = kept;
    taken
}

/// Whether `attr` is a `#[public]` (by any path ending in `public`).
fn is_public(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "public")
}

/// Takes the `#[public]` attributes out of `attrs`, in order.
fn take_public(attrs: &mut Vec<Attribute>) -> Vec<Attribute> {
    let (taken, kept) = std::mem::take(attrs).into_iter().partition(is_public);
    *attrs = kept;
    taken
}

/// `#[public]` outside an `#[auth_poem::api]` impl: a mistake.
pub(crate) fn public(item: TokenStream) -> TokenStream {
    let error = syn::Error::new(
        Span::call_site(),
        "`#[public]` opens an operation of an impl marked `#[auth_poem::api]` (above \
         `#[OpenApi]`) to anyone; elsewhere it means nothing. A poem `#[handler]` without \
         `#[requires]` is open already",
    );
    fallback(item, error)
}

/// Parses the arguments of `#[requires]` attributes.
fn parse_attributes(attrs: &[Attribute], errors: &mut Errors) -> Vec<Node> {
    attrs
        .iter()
        .filter_map(|attr| match &attr.meta {
            Meta::List(list) => {
                parse::parse_attribute(list.tokens.clone(), attr.path().span_of(), errors)
            }
            other => parse::parse_attribute(TokenStream::new(), other.span_of(), errors),
        })
        .collect()
}

/// A spanned item's span, for errors that point at a whole attribute.
trait SpanOf {
    fn span_of(&self) -> Span;
}

impl<T: ToTokens> SpanOf for T {
    fn span_of(&self) -> Span {
        self.to_token_stream()
            .into_iter()
            .next()
            .map_or_else(Span::call_site, |tree| tree.span())
    }
}

/// `#[requires(...)]` on an item that is not inside an `#[auth_poem::api]`
/// impl: a poem `#[handler]` function, or a mistake.
pub(crate) fn requires(args: TokenStream, item: TokenStream) -> TokenStream {
    let parsed = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Fn(function)) => function,
        Ok(other) => {
            let error = syn::Error::new_spanned(
                item_keyword(&other),
                "`#[requires]` goes on a poem `#[handler]` function (above `#[handler]`), or on \
                 a method of an impl marked `#[auth_poem::api]` above `#[OpenApi]`",
            );
            return fallback(item, error);
        }
        Err(_) => {
            let error = syn::Error::new(
                Span::call_site(),
                "`#[requires]` goes on a poem `#[handler]` function (above `#[handler]`), or on \
                 a method of an impl marked `#[auth_poem::api]` above `#[OpenApi]`",
            );
            return fallback(item, error);
        }
    };
    let mut function = parsed;
    let mut attrs = take_requires(&mut function.attrs);
    if function
        .sig
        .inputs
        .iter()
        .any(|a| matches!(a, FnArg::Receiver(_)))
    {
        let error = syn::Error::new(
            Span::call_site(),
            "`#[requires]` on a method needs `#[auth_poem::api]` on its impl, written above \
             `#[OpenApi]`: it rewrites the impl's `#[requires]` methods before `#[OpenApi]` reads \
             them",
        );
        return fallback(function.into_token_stream(), error);
    }
    let has_handler = function.attrs.iter().any(|attr| {
        attr.path()
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "handler")
    });
    if !has_handler {
        let error = syn::Error::new(
            Span::call_site(),
            "`#[requires]` goes above `#[handler]` on a poem handler: it adds an argument and \
             changes the return type, which `#[handler]` must see, and here it sees no \
             `#[handler]` below it. If `#[handler]` is written above it, swap the two",
        );
        return fallback(function.into_token_stream(), error);
    }

    let mut errors = Errors::default();
    let mut nodes = Vec::with_capacity(attrs.len() + 1);
    nodes.extend(parse::parse_attribute(args, Span::call_site(), &mut errors));
    nodes.extend(parse_attributes(&attrs, &mut errors));
    attrs.clear();
    let req = validate::validate(nodes, &mut errors);
    match (errors.finish(), req) {
        (Ok(()), Some(req)) => expand::handler(function, &req),
        (Err(error), _) => fallback(function.into_token_stream(), error),
        (Ok(()), None) => fallback(
            function.into_token_stream(),
            syn::Error::new(Span::call_site(), "`#[requires]` needs a requirement"),
        ),
    }
}

/// `#[auth_poem::api]` on an impl: rewrites its `#[requires]` methods.
pub(crate) fn api(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut item_impl = match syn::parse2::<ItemImpl>(item.clone()) {
        Ok(item_impl) => item_impl,
        Err(_) => {
            let error = syn::Error::new(
                Span::call_site(),
                "`#[auth_poem::api]` goes on an `impl` block marked `#[OpenApi]`, written above \
                 `#[OpenApi]`",
            );
            return fallback(item, error);
        }
    };
    let mut errors = Errors::default();
    if !args.is_empty() {
        errors.push(syn::Error::new_spanned(
            &args,
            "`#[auth_poem::api]` takes no arguments: give them to `#[OpenApi(...)]`",
        ));
    }
    let has_openapi = item_impl.attrs.iter().any(|attr| {
        attr.path()
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "OpenApi")
    });
    if !has_openapi {
        // Below `#[OpenApi]`, the operations are already generated: say
        // only that, and leave the methods as they are.
        for impl_item in &mut item_impl.items {
            if let ImplItem::Fn(method) = impl_item {
                take_requires(&mut method.attrs);
            }
        }
        errors.push(syn::Error::new(
            Span::call_site(),
            "`#[auth_poem::api]` must be written above `#[OpenApi]` on the same impl: it \
             rewrites the `#[requires]` methods before `#[OpenApi]` reads them",
        ));
        return match errors.finish() {
            Err(error) => fallback(item_impl.into_token_stream(), error),
            Ok(()) => item_impl.into_token_stream(),
        };
    }

    // Every operation, checked before anything is generated: each declares
    // its access rule, `#[requires(...)]` or `#[public]`.
    let mut operations = Vec::new();
    let mut publics = Vec::new();
    for (position, impl_item) in item_impl.items.iter_mut().enumerate() {
        match impl_item {
            ImplItem::Fn(method) => {
                let attrs = take_requires(&mut method.attrs);
                let public = take_public(&mut method.attrs);
                let is_operation = method.attrs.iter().any(|a| a.path().is_ident("oai"));
                if !is_operation {
                    if let Some(attr) = attrs.first() {
                        errors.push(syn::Error::new_spanned(
                            attr,
                            "`#[requires]` protects poem-openapi operations: this method has no \
                             `#[oai(path = \"...\", method = \"...\")]`",
                        ));
                    }
                    if let Some(attr) = public.first() {
                        errors.push(syn::Error::new_spanned(
                            attr,
                            "`#[public]` opens a poem-openapi operation to anyone: this method \
                             has no `#[oai(path = \"...\", method = \"...\")]`",
                        ));
                    }
                    continue;
                }
                if let Some(attr) = public.get(1) {
                    errors.push(syn::Error::new_spanned(
                        attr,
                        "`#[public]` is written once per operation",
                    ));
                }
                if let Some(attr) = public.first() {
                    if !matches!(attr.meta, Meta::Path(_)) {
                        errors.push(syn::Error::new_spanned(
                            &attr.meta,
                            "`#[public]` takes no arguments: write `#[public]`",
                        ));
                    }
                    if !attrs.is_empty() {
                        errors.push(syn::Error::new_spanned(
                            attr,
                            "an operation is either `#[public]` or `#[requires(...)]`, not both: \
                             drop `#[public]` to keep the requirement, or the `#[requires]` to \
                             open it to anyone",
                        ));
                        continue;
                    }
                    publics.push(position);
                    continue;
                }
                if attrs.is_empty() {
                    errors.push(syn::Error::new_spanned(
                        &method.sig.ident,
                        "this operation declares no access rule, and `#[auth_poem::api]` denies \
                         by default: write `#[requires(...)]` above it with what a caller needs \
                         (`#[requires(authenticated)]` for any signed-in caller), or \
                         `#[public]` if anyone may call it",
                    ));
                    continue;
                }
                let before = errors.len();
                match method.sig.inputs.first() {
                    Some(FnArg::Receiver(receiver))
                        if receiver.reference.is_some() && receiver.mutability.is_none() => {}
                    _ => errors.push(syn::Error::new_spanned(
                        &method.sig,
                        "a `#[requires]` operation takes `&self` first, as every `#[OpenApi]` \
                         operation does",
                    )),
                }
                if method.sig.asyncness.is_none() {
                    errors.push(syn::Error::new_spanned(
                        method.sig.fn_token,
                        "a `#[requires]` operation is an `async fn`, as every `#[OpenApi]` \
                         operation is",
                    ));
                }
                let nodes = parse_attributes(&attrs, &mut errors);
                let req = validate::validate(nodes, &mut errors);
                if let (Some(req), true) = (req, errors.len() == before) {
                    operations.push((position, req));
                }
            }
            ImplItem::Const(syn::ImplItemConst { attrs, .. })
            | ImplItem::Type(syn::ImplItemType { attrs, .. })
            | ImplItem::Macro(syn::ImplItemMacro { attrs, .. }) => {
                for attr in take_requires(attrs) {
                    errors.push(syn::Error::new_spanned(
                        attr,
                        "`#[requires]` goes on the operation methods of this impl",
                    ));
                }
                for attr in take_public(attrs) {
                    errors.push(syn::Error::new_spanned(
                        attr,
                        "`#[public]` goes on the operation methods of this impl",
                    ));
                }
            }
            _ => {}
        }
    }
    if let Err(error) = errors.finish() {
        return fallback(item_impl.into_token_stream(), error);
    }
    expand::api(item_impl, operations, &publics)
}

/// The user's item unchanged (less our attributes) and the errors: the
/// item keeps compiling for IDEs and later code.
fn fallback(item: TokenStream, error: syn::Error) -> TokenStream {
    let error = error.into_compile_error();
    quote! {
        #item
        #error
    }
}

/// The tokens that name what kind of item `item` is, to span an error on.
fn item_keyword(item: &Item) -> TokenStream {
    match item {
        Item::Struct(item) => item.struct_token.into_token_stream(),
        Item::Enum(item) => item.enum_token.into_token_stream(),
        Item::Impl(item) => item.impl_token.into_token_stream(),
        Item::Mod(item) => item.mod_token.into_token_stream(),
        Item::Trait(item) => item.trait_token.into_token_stream(),
        Item::Const(item) => item.const_token.into_token_stream(),
        Item::Static(item) => item.static_token.into_token_stream(),
        Item::Type(item) => item.type_token.into_token_stream(),
        Item::Use(item) => item.use_token.into_token_stream(),
        other => other.into_token_stream(),
    }
}
