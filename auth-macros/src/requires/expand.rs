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
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{
    Attribute, FnArg, GenericParam, Generics, Ident, ImplItem, ImplItemFn, ItemFn, ItemImpl,
    Lifetime, LitStr, Meta, Pat, PatIdent, ReturnType, Type, parse_quote,
};

use super::validate::{Req, condition_tokens, conditions, scope_count};

/// How the docs name `authenticated`, as the runtime's `Rule::describe` does.
const AUTHENTICATED_TEXT: &str = "authentication only";

/// `::auth_poem::__private`, by the name the user's `Cargo.toml` gives
/// `auth-poem` (see `auth-macros/renamed`).
fn private() -> TokenStream {
    crate::support::runtime::poem_private()
}

// ---- shared pieces ----

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

/// The line added to the docs at compile time: as the runtime's
/// `Rule::describe` writes it, except that a resource/permission pair is
/// shown as its Rust code (the names come from its `Resource` and
/// `Permission` impls, known at run time only; the served spec shows them).
pub(crate) fn doc_line(req: &Req) -> String {
    let mut out = String::from("Requires: ");
    render(req, None, &mut out);
    out.push('.');
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Or,
    And,
}

fn render(req: &Req, parent: Option<Op>, out: &mut String) {
    match req {
        Req::Pair {
            resource,
            permission,
        } => code(
            &format!("({}, {})", pretty(resource), pretty(permission)),
            out,
        ),
        Req::Role(lit) => {
            out.push_str("role ");
            code(&lit.value(), out);
        }
        Req::Scope { canonical, .. } => code(canonical, out),
        Req::Authenticated => out.push_str(AUTHENTICATED_TEXT),
        Req::Expr { source, .. } => {
            out.push_str("condition ");
            code(&source.value(), out);
        }
        Req::Any(items) | Req::All(items) => {
            let op = if matches!(req, Req::Any(_)) {
                Op::Or
            } else {
                Op::And
            };
            if let [one] = items.as_slice() {
                return render(one, parent, out);
            }
            let nested = parent.is_some_and(|p| p != op);
            if nested {
                out.push('(');
            }
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(if op == Op::Or { " or " } else { " and " });
                }
                render(item, Some(op), out);
            }
            if nested {
                out.push(')');
            }
        }
    }
}

/// `text` as Markdown inline code (as the runtime writes it).
fn code(text: &str, out: &mut String) {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if longest > 0 { " " } else { "" };
    out.push_str(&format!("{fence}{pad}{text}{pad}{fence}"));
}

/// Rust tokens as a person writes them: `Res::Conversation`, not `Res :: Conversation`.
fn pretty(tokens: &impl ToTokens) -> String {
    let mut out = String::new();
    // Whether the next token follows without a space, and whether the
    // previous one was a word (an identifier, a literal or a group).
    let mut tight = true;
    let mut after_word = false;
    for tree in tokens.to_token_stream() {
        match &tree {
            TokenTree::Punct(punct) => {
                let c = punct.as_char();
                if !tight && !matches!(c, ':' | '.' | ',' | ';' | '?') {
                    out.push(' ');
                }
                out.push(c);
                tight = punct.spacing() == proc_macro2::Spacing::Joint
                    || matches!(c, ':' | '.' | '&' | '!')
                    || (c == '-' && !after_word);
                after_word = false;
            }
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    proc_macro2::Delimiter::Parenthesis => ("(", ")"),
                    proc_macro2::Delimiter::Bracket => ("[", "]"),
                    proc_macro2::Delimiter::Brace => ("{ ", " }"),
                    proc_macro2::Delimiter::None => ("", ""),
                };
                let call = after_word && group.delimiter() != proc_macro2::Delimiter::Brace;
                if !tight && !call {
                    out.push(' ');
                }
                out.push_str(open);
                out.push_str(&pretty(&group.stream()));
                out.push_str(close);
                tight = false;
                after_word = true;
            }
            other => {
                if !tight {
                    out.push(' ');
                }
                out.push_str(&other.to_string());
                tight = false;
                after_word = true;
            }
        }
    }
    out
}

/// `#[doc = ""]` and `#[doc = "Requires: ..."]`, to append to the docs.
fn doc_attributes(line: &str) -> [Attribute; 2] {
    [parse_quote!(#[doc = ""]), parse_quote!(#[doc = #line])]
}

/// Rewrites a type so it can be asked about in a constant: lifetimes
/// become `'_`, the item's own type parameters (and `impl Trait`) become
/// `()`, and `Self` becomes `self_ty`. The answers `Probe` gives do not
/// depend on what is replaced: an argument of a generic type is never
/// taken for the auth argument, and a `Result` stays a `Result`.
struct Sanitize<'a> {
    params: &'a BTreeSet<String>,
    self_ty: Option<&'a Type>,
}

impl VisitMut for Sanitize<'_> {
    fn visit_lifetime_mut(&mut self, lifetime: &mut Lifetime) {
        *lifetime = Lifetime::new("'_", lifetime.span());
    }

    fn visit_type_mut(&mut self, ty: &mut Type) {
        match ty {
            Type::ImplTrait(_) => *ty = parse_quote!(()),
            Type::Path(path) if path.qself.is_none() => {
                if let Some(ident) = path.path.get_ident() {
                    if self.params.contains(&ident.to_string()) {
                        *ty = parse_quote!(());
                        return;
                    }
                    if let (true, Some(self_ty)) = (ident == "Self", self.self_ty) {
                        *ty = self_ty.clone();
                        return;
                    }
                }
                visit_mut::visit_type_mut(self, ty);
            }
            _ => visit_mut::visit_type_mut(self, ty),
        }
    }
}

/// The names of the type and const parameters of `generics`.
fn param_names(generics: &Generics) -> BTreeSet<String> {
    generics
        .params
        .iter()
        .filter_map(|param| match param {
            GenericParam::Type(ty) => Some(ty.ident.to_string()),
            GenericParam::Const(c) => Some(c.ident.to_string()),
            GenericParam::Lifetime(_) => None,
        })
        .collect()
}

fn sanitized(ty: &Type, params: &BTreeSet<String>, self_ty: Option<&Type>) -> Type {
    let mut ty = ty.clone();
    Sanitize { params, self_ty }.visit_type_mut(&mut ty);
    ty
}

/// `ty` with its lifetimes elided, to name it in an expression.
fn elided(ty: &Type) -> Type {
    sanitized(ty, &BTreeSet::new(), None)
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
    let arms = conditions
        .iter()
        .enumerate()
        .map(|(index, (source, expr))| {
            let span = source.span();
            let value = quote_spanned!(span=> let __auth_poem_condition: #p::bool = #expr;);
            quote!(#index => { #value __auth_poem_condition })
        });
    quote!(&mut |__auth_poem_index: #p::usize| -> #p::bool {
        #[allow(unused_variables)]
        let #user: &#p::Principal = #p::principal(&__auth_poem_caller);
        #(#bindings)*
        match __auth_poem_index {
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
                let binding = format_ident!("__auth_poem_arg{}", position);
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

    quote! {
        #(#attrs)*
        #vis async fn #ident #generics (
            __auth_poem_guard: #p::HandlerGuard<'_, #reuse, #websocket>,
            #(#outer),*
        ) -> #p::poem::Result<impl #p::poem::IntoResponse> #where_clause {
            #(#inner_attrs)*
            #inner_sig #block

            static __AUTH_POEM_RULE: #p::LazyLock<#p::Rule> = #p::LazyLock::new(|| #rule);
            #[allow(unused_imports)]
            use #p::Fallback as _;
            let __auth_poem_caller = match #p::HandlerGuard::caller(
                __auth_poem_guard,
                [#(#probes),*],
            ).await {
                #p::Result::Ok(caller) => caller,
                #p::Result::Err(refusal) => {
                    return #p::Result::Err(#p::refused(refusal));
                }
            };
            if let #p::Result::Err(refusal) =
                #p::check(&__auth_poem_caller, &__AUTH_POEM_RULE, #conditions)
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
        let mark: FnArg = parse_quote!(__auth_poem_public: #p::PublicOperation);
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
    let guard: FnArg = parse_quote!(#guard_attrs __auth_poem_guard: #p::ApiGuard<'_, Self, #index>);
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
    method.block = parse_quote!({
        #[allow(unused_imports)]
        use #p::Fallback as _;
        let __auth_poem_caller = match #p::ApiGuard::caller(
            __auth_poem_guard,
            [#(#probes),*],
        ).await {
            #p::Result::Ok(caller) => caller,
            #p::Result::Err(refusal) => return #shape::refuse(refusal),
        };
        #(#destructure)*
        if let #p::Result::Err(refusal) = #p::check(
            &__auth_poem_caller,
            <Self as #p::Operation<#index>>::rule(),
            #conditions,
        ) {
            return #shape::refuse(refusal);
        }
        let __auth_poem_output: #output = async move #block.await;
        #shape::ok(__auth_poem_output)
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
mod tests {
    use quote::quote;

    use super::*;

    #[test]
    fn tokens_print_as_written() {
        assert_eq!(pretty(&quote!(Res::Conversation)), "Res::Conversation");
        assert_eq!(
            pretty(&quote!(crate::perms::R::Users)),
            "crate::perms::R::Users"
        );
        assert_eq!(pretty(&quote!(id.0 == user.id)), "id.0 == user.id");
        assert_eq!(pretty(&quote!(f(a, &b))), "f(a, &b)");
    }

    #[test]
    fn generic_parameters_and_lifetimes_are_replaced_for_probes() {
        let params: BTreeSet<String> = ["T".to_owned()].into_iter().collect();
        let self_ty: Type = parse_quote!(Api<()>);
        let ty: Type = parse_quote!(Data<&'a Vec<T>>);
        let expected: Type = parse_quote!(Data<&'_ Vec<()>>);
        assert_eq!(sanitized(&ty, &params, None), expected);
        let ty: Type = parse_quote!(poem::Result<Self>);
        let expected: Type = parse_quote!(poem::Result<Api<()>>);
        assert_eq!(sanitized(&ty, &params, Some(&self_ty)), expected);
    }
}
