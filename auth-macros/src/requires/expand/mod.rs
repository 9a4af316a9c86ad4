//! Code generation for `#[requires]` on poem handlers and for
//! `#[auth_poem::api]` on poem-openapi impls.
//!
//! Everything generated names `::auth_poem::__private::...` by absolute
//! path, through the name the user's `Cargo.toml` gives `auth-poem`. Which argument carries the caller is decided by the argument's
//! *type* (`Probe<T>` asks whether `T: AuthArg`), never by its name: the
//! hidden guard argument takes the principal from such an argument when
//! there is one, and authenticates by itself otherwise. So is the channel
//! (`Probe<T>` asks whether `T: OnChannel` is the WebSocket channel, through
//! `Option` and `Result` too): a WebSocket route is authenticated on the
//! WebSocket channel only.

use std::collections::BTreeSet;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{
    Attribute, FnArg, GenericParam, Ident, ImplItem, ImplItemFn, ItemFn, ItemImpl, LitStr, Meta,
    Pat, PatIdent, ReturnType, Type, parse_quote,
};

use super::validate::{Req, condition_tokens, conditions, scope_count};

mod doc;
mod types;

use doc::{doc_attributes, doc_line};
use types::{elided, param_names, sanitized};

/// `::auth_poem::__private`, by the name the user's `Cargo.toml` gives
/// `auth-poem` (see `auth-macros/renamed`).
fn private() -> TokenStream {
    crate::support::runtime::poem_private()
}

// ---- shared pieces ----

/// A local the generated code binds: mixed-site, like a `macro_rules!`
/// local, so neither the user's handler body nor a condition can see it or
/// be shadowed by it.
fn hidden(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// The expression building the runtime `Rule` of `req`.
fn rule(req: &Req) -> TokenStream {
    let p = private();
    match req {
        Req::Pair {
            resource,
            permission,
        } => {
            let span = resource.span();
            quote_spanned!(span=> #p::Rule::permission(#resource, #permission))
        }
        Req::Role(lit) => quote!(#p::Rule::role(#lit)),
        Req::Scope { lit, .. } => quote!(#p::Rule::scope(#lit)),
        Req::Any(items) => {
            let items = items.iter().map(rule);
            quote!(#p::Rule::any([#(#items),*]))
        }
        Req::All(items) => {
            let items = items.iter().map(rule);
            quote!(#p::Rule::all([#(#items),*]))
        }
        Req::Expr { index, source, .. } => quote!(#p::Rule::expr(#index, #source)),
        Req::Authenticated => quote!(#p::Rule::authenticated()),
    }
}

/// `false || <Probe<T>>::QUESTION || ...` over `types`, in a block that
/// brings the fallback answers into scope.
fn any_probe(types: &[Type], question: &str) -> TokenStream {
    let p = private();
    let question = Ident::new(question, Span::call_site());
    quote!({
        #[allow(unused_imports)]
        use #p::Fallback as _;
        false #(|| <#p::Probe<#types>>::#question)*
    })
}

/// The closure that evaluates the conditions of `req`, or the evaluator
/// that is never called when there are none. `bindings` bind what the
/// conditions may use besides the arguments' own names.
fn condition_closure(req: &Req, bindings: &[TokenStream]) -> TokenStream {
    let p = private();
    let conditions = conditions(req);
    if conditions.is_empty() {
        return quote!(&mut #p::no_condition);
    }
    // `user` is spanned on the first condition's literal: the condition's
    // tokens carry that span, so they see the binding.
    let user = Ident::new("user", conditions[0].0.span());
    let caller = hidden("__auth_poem_caller");
    let index_var = hidden("__auth_poem_index");
    let arms = conditions
        .iter()
        .enumerate()
        .map(|(index, (source, expr))| {
            let span = source.span();
            let value = hidden("__auth_poem_condition");
            let bind = quote_spanned!(span=> let #value: #p::bool = #expr;);
            quote!(#index => { #bind #value })
        });
    quote!(&mut |#index_var: #p::usize| -> #p::bool {
        #[allow(unused_variables)]
        let #user: &#p::Principal = #p::principal(&#caller);
        #(#bindings)*
        match #index_var {
            #(#arms)*
            _ => false,
        }
    })
}

/// The identifiers `tokens` mention.
fn idents_in(tokens: TokenStream, out: &mut BTreeSet<String>) {
    for tree in tokens {
        match tree {
            TokenTree::Ident(ident) => {
                out.insert(ident.to_string());
            }
            TokenTree::Group(group) => idents_in(group.stream(), out),
            _ => {}
        }
    }
}

/// The names a pattern binds.
fn bound_names(pat: &Pat, out: &mut BTreeSet<String>) {
    struct Names<'a>(&'a mut BTreeSet<String>);
    impl VisitMut for Names<'_> {
        fn visit_pat_ident_mut(&mut self, pat: &mut PatIdent) {
            self.0.insert(pat.ident.to_string());
            visit_mut::visit_pat_ident_mut(self, pat);
        }
    }
    Names(out).visit_pat_mut(&mut pat.clone());
}

/// `pat` without `ref`/`mut` on its bindings, to match a reference with.
fn by_reference(pat: &Pat) -> Pat {
    struct Strip;
    impl VisitMut for Strip {
        fn visit_pat_ident_mut(&mut self, pat: &mut PatIdent) {
            pat.by_ref = None;
            pat.mutability = None;
            visit_mut::visit_pat_ident_mut(self, pat);
        }
    }
    let mut pat = pat.clone();
    Strip.visit_pat_mut(&mut pat);
    pat
}

/// The lint attributes of `attrs` that the body's own function should keep.
fn allow_attributes(attrs: &[Attribute]) -> Vec<&Attribute> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("allow"))
        .collect()
}

// ---- poem handlers ----

/// `#[requires]` above `#[handler]`: the handler becomes an `async fn`
/// that takes the hidden guard first, checks, then calls the original
/// function, kept inside it unchanged, with the same arguments.
pub(crate) fn handler(function: ItemFn, req: &Req) -> TokenStream {
    let p = private();
    let ItemFn {
        mut attrs,
        vis,
        sig,
        block,
    } = function;
    attrs.extend(doc_attributes(&doc_line(req)));
    let params = param_names(&sig.generics);
    let mut used = BTreeSet::new();
    idents_in(condition_tokens(req), &mut used);

    let mut outer = Vec::new();
    let mut args = Vec::new();
    let mut probes = Vec::new();
    let mut probe_types = Vec::new();
    let mut bindings = Vec::new();
    for (position, input) in sig.inputs.iter().enumerate() {
        let FnArg::Typed(arg) = input else {
            continue;
        };
        let ty = &arg.ty;
        let arg_attrs = &arg.attrs;
        let binding = match &*arg.pat {
            Pat::Ident(PatIdent {
                by_ref: None,
                subpat: None,
                ident,
                ..
            }) => ident.clone(),
            pattern => {
                let binding = hidden(&format!("__auth_poem_arg{position}"));
                let mut names = BTreeSet::new();
                bound_names(pattern, &mut names);
                if names.iter().any(|name| used.contains(name)) {
                    let pattern = by_reference(pattern);
                    bindings.push(quote!(
                        #[allow(unused_variables)]
                        let #pattern = &#binding;
                    ));
                }
                binding
            }
        };
        outer.push(quote!(#(#arg_attrs)* #binding: #ty));
        let probe_ty = elided(ty);
        probes.push(quote!(<#p::Probe<#probe_ty>>::caller(&#binding)));
        probe_types.push(sanitized(ty, &params, None));
        args.push(binding);
    }

    let reuse = any_probe(&probe_types, "IS_AUTH_ARG");
    let websocket = any_probe(&probe_types, "IS_WEBSOCKET");
    let conditions = condition_closure(req, &bindings);
    let rule = rule(req);
    let generics = &sig.generics;
    let where_clause = &sig.generics.where_clause;
    let turbofish = {
        let names: Vec<&Ident> = generics
            .params
            .iter()
            .filter_map(|param| match param {
                GenericParam::Type(ty) => Some(&ty.ident),
                GenericParam::Const(c) => Some(&c.ident),
                GenericParam::Lifetime(_) => None,
            })
            .collect();
        if names.is_empty() {
            TokenStream::new()
        } else {
            quote!(::<#(#names),*>)
        }
    };
    let inner_attrs = allow_attributes(&attrs);
    let inner_sig = syn::Signature {
        ident: Ident::new("__auth_poem_handler", sig.ident.span()),
        ..sig.clone()
    };
    let call_await = sig.asyncness.map(|_| quote!(.await));
    let ident = &sig.ident;
    let guard = hidden("__auth_poem_guard");
    let caller = hidden("__auth_poem_caller");

    quote! {
        #(#attrs)*
        #vis async fn #ident #generics (
            #guard: #p::HandlerGuard<'_, #reuse, #websocket>,
            #(#outer),*
        ) -> #p::poem::Result<impl #p::poem::IntoResponse> #where_clause {
            #(#inner_attrs)*
            #inner_sig #block

            static __AUTH_POEM_RULE: #p::LazyLock<#p::Rule> = #p::LazyLock::new(|| #rule);
            #[allow(unused_imports)]
            use #p::Fallback as _;
            let #caller = match #p::HandlerGuard::caller(
                #guard,
                [#(#probes),*],
            ).await {
                #p::Result::Ok(caller) => caller,
                #p::Result::Err(refusal) => {
                    return #p::Result::Err(#p::refused(refusal));
                }
            };
            if let #p::Result::Err(refusal) =
                #p::check(&#caller, &__AUTH_POEM_RULE, #conditions)
            {
                return #p::Result::Err(#p::refused(refusal));
            }
            #p::poem::error::IntoResult::into_result(
                __auth_poem_handler #turbofish (#(#args),*) #call_await
            )
        }
    }
}

// ---- poem-openapi operations ----

/// `#[auth_poem::api]`: rewrites each protected method of the impl (in
/// `operations`, by position, with its checked requirement) and implements
/// `Operation<N>` for the API type, one `N` per protected method.
pub(crate) fn api(
    mut item_impl: ItemImpl,
    operations: Vec<(usize, Req)>,
    publics: &[usize],
) -> TokenStream {
    let p = private();
    let self_ty = (*item_impl.self_ty).clone();
    let params = param_names(&item_impl.generics);
    let sanitized_self = sanitized(&self_ty, &params, None);
    let generics = item_impl.generics.clone();
    let (impl_generics, _, where_clause) = generics.split_for_impl();

    let mut scope_consts = Vec::new();
    let mut impls = Vec::new();
    for (index, (position, req)) in operations.into_iter().enumerate() {
        let ImplItem::Fn(method) = &mut item_impl.items[position] else {
            continue;
        };
        let scopes: Vec<Ident> = (0..scope_count(&req))
            .map(|i| format_ident!("__AUTH_POEM_SCOPE_{}_{}", index, i))
            .collect();
        for (i, scope) in scopes.iter().enumerate() {
            scope_consts.push(quote! {
                #[doc(hidden)]
                #[allow(dead_code)]
                const #scope: #p::OAuthScope =
                    #p::OAuthScope::new(<Self as #p::Operation<#index>>::rule, #i);
            });
        }
        let parts = rewrite_operation(method, index, &req, &scopes);
        let OperationParts {
            arg_types,
            output,
            doc_line,
        } = parts;
        let arg_types: Vec<Type> = arg_types
            .iter()
            .map(|ty| sanitized(ty, &params, Some(&sanitized_self)))
            .collect();
        let reuse = any_probe(&arg_types, "IS_AUTH_ARG");
        let websocket = any_probe(&arg_types, "IS_WEBSOCKET");
        let documented = any_probe(&arg_types, "DOCUMENTS_AUTH");
        let is_result = any_probe(
            &[sanitized(&output, &params, Some(&sanitized_self))],
            "IS_RESULT",
        );
        let rule = rule(&req);
        impls.push(quote! {
            impl #impl_generics #p::Operation<#index> for #self_ty #where_clause {
                const REUSE: #p::bool = #reuse;
                const WEBSOCKET: #p::bool = #websocket;
                const DOCUMENTED: #p::bool = #documented;
                const DOC_LINE: &'static #p::str = #doc_line;
                type Shape = #p::Flatten<#output, #is_result>;

                fn rule() -> &'static #p::Rule {
                    static RULE: #p::LazyLock<#p::Rule> = #p::LazyLock::new(|| #rule);
                    &RULE
                }
            }
        });
    }
    for &position in publics {
        let ImplItem::Fn(method) = &mut item_impl.items[position] else {
            continue;
        };
        let arg_types: Vec<Type> = method
            .sig
            .inputs
            .iter()
            .filter_map(|input| match input {
                FnArg::Typed(arg) => Some(sanitized(&arg.ty, &params, Some(&sanitized_self))),
                FnArg::Receiver(_) => None,
            })
            .collect();
        let needs_credential = any_probe(&arg_types, "NEEDS_CREDENTIAL");
        let message = LitStr::new(
            &format!(
                "`#[public]` operation `{}` takes an argument that refuses anonymous callers \
                 (`ApiAuth`): take `OptionalApiAuth` to know who calls, or replace `#[public]` \
                 with `#[requires(authenticated)]`",
                method.sig.ident
            ),
            method.sig.ident.span(),
        );
        impls.push(quote! {
            const _: () = ::core::assert!(!#needs_credential, #message);
        });
        let public = hidden("__auth_poem_public");
        let mark: FnArg = parse_quote!(#public: #p::PublicOperation);
        let at = usize::from(matches!(
            method.sig.inputs.first(),
            Some(FnArg::Receiver(_))
        ));
        method.sig.inputs.insert(at, mark);
    }
    item_impl
        .items
        .extend(scope_consts.into_iter().map(ImplItem::Verbatim));
    quote! {
        #item_impl
        const _: () = {
            #(#impls)*
        };
    }
}

/// What [`api`] needs of a rewritten method.
struct OperationParts {
    /// The types of its arguments (the receiver excluded).
    arg_types: Vec<Type>,
    /// What its body returns.
    output: Type,
    /// The line added to its docs.
    doc_line: LitStr,
}

/// Rewrites the `index`-th protected method: the hidden guard argument
/// first, the rule's scopes on every security-scheme argument, the return
/// type shaped to carry a refusal, and the body run only once the check
/// passed.
fn rewrite_operation(
    method: &mut ImplItemFn,
    index: usize,
    req: &Req,
    scopes: &[Ident],
) -> OperationParts {
    let p = private();
    let line = doc_line(req);
    method.attrs.extend(doc_attributes(&line));
    let scope_args: Vec<TokenStream> = scopes
        .iter()
        .map(|scope| {
            let path = LitStr::new(&format!("Self::{scope}"), Span::call_site());
            quote!(scope = #path)
        })
        .collect();

    let mut arg_types = Vec::new();
    let mut probes = Vec::new();
    let mut destructure = Vec::new();
    for input in method.sig.inputs.iter_mut() {
        let FnArg::Typed(arg) = input else {
            continue;
        };
        arg_types.push((*arg.ty).clone());
        add_scopes(&mut arg.attrs, &scope_args);
        // poem-openapi takes an identifier, or a one-field tuple struct
        // pattern whose field names the parameter: that name is kept, the
        // pattern applied in the body once the caller is known.
        let binding = match &*arg.pat {
            Pat::Ident(pat) => Some(pat.ident.clone()),
            Pat::TupleStruct(tuple) if tuple.elems.len() == 1 => match &tuple.elems[0] {
                Pat::Ident(inner) => {
                    let name = inner.ident.clone();
                    let pattern = (*arg.pat).clone();
                    destructure.push(quote!(let #pattern = #name;));
                    *arg.pat = parse_quote!(#name);
                    Some(name)
                }
                _ => None,
            },
            _ => None,
        };
        if let Some(binding) = binding {
            let probe_ty = elided(&arg.ty);
            probes.push(quote!(<#p::Probe<#probe_ty>>::caller(&#binding)));
        }
    }
    let guard_attrs = if scope_args.is_empty() {
        TokenStream::new()
    } else {
        quote!(#[oai(#(#scope_args),*)])
    };
    let guard_var = hidden("__auth_poem_guard");
    let guard: FnArg = parse_quote!(#guard_attrs #guard_var: #p::ApiGuard<'_, Self, #index>);
    let at = usize::from(matches!(
        method.sig.inputs.first(),
        Some(FnArg::Receiver(_))
    ));
    method.sig.inputs.insert(at, guard);

    let output: Type = match &method.sig.output {
        ReturnType::Default => parse_quote!(()),
        ReturnType::Type(_, ty) => (**ty).clone(),
    };
    let shape = quote!(<<Self as #p::Operation<#index>>::Shape as #p::Flat>);
    method.sig.output = parse_quote!(-> #shape::Output);

    let conditions = condition_closure(req, &[]);
    let block = &method.block;
    let caller = hidden("__auth_poem_caller");
    let output_var = hidden("__auth_poem_output");
    method.block = parse_quote!({
        #[allow(unused_imports)]
        use #p::Fallback as _;
        let #caller = match #p::ApiGuard::caller(
            #guard_var,
            [#(#probes),*],
        ).await {
            #p::Result::Ok(caller) => caller,
            #p::Result::Err(refusal) => return #shape::refuse(refusal),
        };
        #(#destructure)*
        if let #p::Result::Err(refusal) = #p::check(
            &#caller,
            <Self as #p::Operation<#index>>::rule(),
            #conditions,
        ) {
            return #shape::refuse(refusal);
        }
        let #output_var: #output = async move #block.await;
        #shape::ok(#output_var)
    });

    OperationParts {
        arg_types,
        output,
        doc_line: LitStr::new(&line, Span::call_site()),
    }
}

/// Adds `scope = "..."` entries to an argument's `#[oai(...)]` (which
/// poem-openapi reads only the first of), or a new `#[oai(...)]`.
/// poem-openapi applies them only to security-scheme arguments.
fn add_scopes(attrs: &mut Vec<Attribute>, scope_args: &[TokenStream]) {
    if scope_args.is_empty() {
        return;
    }
    match attrs.iter_mut().find(|a| a.path().is_ident("oai")) {
        Some(Attribute {
            meta: Meta::List(list),
            ..
        }) => {
            let mut tokens = list.tokens.clone();
            let trailing_comma = matches!(
                tokens.clone().into_iter().last(),
                Some(TokenTree::Punct(punct)) if punct.as_char() == ','
            );
            if !tokens.is_empty() && !trailing_comma {
                tokens.extend(quote!(,));
            }
            tokens.extend(quote!(#(#scope_args),*));
            list.tokens = tokens;
        }
        Some(_) => {}
        None => attrs.push(parse_quote!(#[oai(#(#scope_args),*)])),
    }
}

#[cfg(test)]
mod tests;
