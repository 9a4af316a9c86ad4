//! Syntax: the tokens of one `#[requires(...)]` into a [`Node`] tree.
//!
//! ```text
//! attribute   := requirement | expr ',' expr        // the second form is a pair
//! requirement := '(' expr ',' expr ')'               // a resource/permission pair
//!              | 'role' '(' "string" ')'
//!              | 'scope' '(' "string" ')'
//!              | 'any' '(' requirement,* ')'
//!              | 'all' '(' requirement,* ')'
//!              | 'expr' '=' "string"                 // a Rust boolean expression
//!              | 'authenticated'                     // any signed-in caller; alone only
//! ```
//!
//! `role`, `scope`, `any`, `all` and `expr` are keywords of this grammar
//! only where a requirement is expected; inside a pair, `role(x)` is an
//! ordinary call.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Lit, LitStr, Token, token};

use super::Errors;

/// The keywords that open a requirement.
const CALLS: &[&str] = &["role", "scope", "any", "all"];

/// Every key the grammar knows, for suggestions.
const KEYWORDS: &[&str] = &["role", "scope", "any", "all", "expr", "authenticated"];

/// The requirement met by every signed-in caller.
const AUTHENTICATED: &str = "authenticated";

/// What a requirement may be, for messages.
pub(crate) const GRAMMAR: &str = "a resource/permission pair `Resource::X, Permission::Y`, \
    `role(\"...\")`, `scope(\"...\")`, `any(...)`, `all(...)`, `expr = \"...\"` or \
    `authenticated`";

/// One requirement as written.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// A resource/permission pair.
    Pair {
        resource: Box<Expr>,
        permission: Box<Expr>,
        tokens: TokenStream,
    },
    /// `role("...")`.
    Role { lit: LitStr, tokens: TokenStream },
    /// `scope("...")`.
    Scope { lit: LitStr, tokens: TokenStream },
    /// `any(...)`.
    Any {
        keyword: Ident,
        items: Vec<Node>,
        tokens: TokenStream,
    },
    /// `all(...)`.
    All {
        keyword: Ident,
        items: Vec<Node>,
        tokens: TokenStream,
    },
    /// `expr = "..."`.
    Expr { lit: LitStr, tokens: TokenStream },
    /// `authenticated`: any signed-in caller.
    Authenticated { tokens: TokenStream },
}

impl Node {
    /// The tokens the node was written with, to span errors on.
    pub(crate) fn tokens(&self) -> &TokenStream {
        match self {
            Self::Pair { tokens, .. }
            | Self::Role { tokens, .. }
            | Self::Scope { tokens, .. }
            | Self::Any { tokens, .. }
            | Self::All { tokens, .. }
            | Self::Expr { tokens, .. }
            | Self::Authenticated { tokens } => tokens,
        }
    }
}

/// One comma-separated term, before it is known to be a requirement.
enum Term {
    /// `keyword(...)` for a keyword of [`CALLS`] (or `expr(...)`).
    Call {
        keyword: Ident,
        args: TokenStream,
        tokens: TokenStream,
    },
    /// `key = value`.
    KeyValue {
        key: Ident,
        value: Expr,
        tokens: TokenStream,
    },
    /// `(a, b, ...)`.
    Tuple {
        elems: Punctuated<Expr, Token![,]>,
        tokens: TokenStream,
    },
    /// Any other expression: one half of a top-level pair.
    Bare(Expr),
}

impl Term {
    fn tokens(&self) -> TokenStream {
        match self {
            Self::Call { tokens, .. }
            | Self::KeyValue { tokens, .. }
            | Self::Tuple { tokens, .. } => tokens.clone(),
            Self::Bare(expr) => expr.to_token_stream(),
        }
    }
}

impl Parse for Term {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let start = input.fork();
        let tokens_since = |end: ParseStream<'_>| -> TokenStream {
            let mut tokens = TokenStream::new();
            let mut cursor = start.cursor();
            while cursor != end.cursor() {
                match cursor.token_tree() {
                    Some((tree, next)) => {
                        tokens.extend([tree]);
                        cursor = next;
                    }
                    None => break,
                }
            }
            tokens
        };
        if input.peek(token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            let elems = Punctuated::parse_terminated(&content)?;
            return Ok(Self::Tuple {
                elems,
                tokens: tokens_since(input),
            });
        }
        if input.peek(Ident::peek_any) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
            let key = input.call(Ident::parse_any)?;
            input.parse::<Token![=]>()?;
            let value = input.parse()?;
            return Ok(Self::KeyValue {
                key,
                value,
                tokens: tokens_since(input),
            });
        }
        if input.peek(Ident) && input.peek2(token::Paren) {
            let fork = input.fork();
            let keyword: Ident = fork.parse()?;
            if CALLS.contains(&keyword.to_string().as_str()) || keyword == "expr" {
                input.parse::<Ident>()?;
                let content;
                syn::parenthesized!(content in input);
                let args = content.parse()?;
                return Ok(Self::Call {
                    keyword,
                    args,
                    tokens: tokens_since(input),
                });
            }
        }
        Ok(Self::Bare(input.parse()?))
    }
}

/// Parses the arguments of one `#[requires(...)]`; `attr` spans the
/// attribute, for an empty one.
pub(crate) fn parse_attribute(args: TokenStream, attr: Span, errors: &mut Errors) -> Option<Node> {
    let terms = match Punctuated::<Term, Token![,]>::parse_terminated.parse2(args) {
        Ok(terms) => terms.into_iter().collect::<Vec<_>>(),
        Err(error) => {
            errors.push(error);
            return None;
        }
    };
    match terms.as_slice() {
        [] => {
            errors.push(syn::Error::new(
                attr,
                format!("`#[requires]` needs a requirement: {GRAMMAR}"),
            ));
            None
        }
        [Term::Bare(resource), Term::Bare(permission)] => Some(Node::Pair {
            resource: Box::new(resource.clone()),
            permission: Box::new(permission.clone()),
            tokens: terms.iter().map(Term::tokens).collect(),
        }),
        [only] => requirement(only, None, errors),
        [_, second, ..] => {
            errors.push(syn::Error::new_spanned(
                second.tokens(),
                "`#[requires]` takes one requirement: combine several with `all(...)` or \
                 `any(...)`, or write one `#[requires(...)]` per requirement",
            ));
            None
        }
    }
}

/// The requirement a term stands for; `list` names the `any`/`all` it
/// sits in, if any.
fn requirement(term: &Term, list: Option<&str>, errors: &mut Errors) -> Option<Node> {
    match term {
        Term::Tuple { elems, tokens } => {
            if elems.len() == 2 {
                Some(Node::Pair {
                    resource: Box::new(elems[0].clone()),
                    permission: Box::new(elems[1].clone()),
                    tokens: tokens.clone(),
                })
            } else {
                errors.push(syn::Error::new_spanned(
                    tokens,
                    format!(
                        "a resource/permission pair has two parts, `(Resource::X, \
                         Permission::Y)`; this one has {}",
                        elems.len()
                    ),
                ));
                None
            }
        }
        Term::Bare(expr) if is_authenticated(expr) => {
            match list {
                Some(list) => errors.push(syn::Error::new_spanned(
                    expr,
                    format!(
                        "`authenticated` stands alone: every requirement inside `{list}(...)` \
                         already needs a signed-in caller"
                    ),
                )),
                None => {
                    return Some(Node::Authenticated {
                        tokens: expr.to_token_stream(),
                    });
                }
            }
            None
        }
        Term::Bare(expr) => {
            match list {
                Some(list) => errors.push(syn::Error::new_spanned(
                    expr,
                    format!(
                        "inside `{list}(...)`, write a resource/permission pair in parentheses: \
                         `{list}((Resource::X, Permission::Y), ...)`"
                    ),
                )),
                None => errors.push(not_a_requirement(expr)),
            }
            None
        }
        Term::KeyValue { key, value, tokens } => key_value(key, value, tokens, errors),
        Term::Call {
            keyword,
            args,
            tokens,
        } => call(keyword, args, tokens, errors),
    }
}

fn key_value(key: &Ident, value: &Expr, tokens: &TokenStream, errors: &mut Errors) -> Option<Node> {
    let name = key.unraw().to_string();
    if name == "expr" {
        return match value {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(lit), ..
            }) => Some(Node::Expr {
                lit: lit.clone(),
                tokens: tokens.clone(),
            }),
            _ => {
                errors.push(syn::Error::new_spanned(
                    value,
                    "`expr` takes a string literal holding a Rust boolean expression: \
                     `expr = \"user.id == id.0\"`",
                ));
                None
            }
        };
    }
    let message = if CALLS.contains(&name.as_str()) {
        format!("write `{name}(...)`, not `{name} = ...`")
    } else {
        format!(
            "unknown key `{name}`{}: the only `key = value` requirement is `expr = \"...\"`",
            suggestion(&name)
        )
    };
    errors.push(syn::Error::new_spanned(key, message));
    None
}

fn call(
    keyword: &Ident,
    args: &TokenStream,
    tokens: &TokenStream,
    errors: &mut Errors,
) -> Option<Node> {
    let name = keyword.to_string();
    match name.as_str() {
        "role" | "scope" => {
            let lit = string_argument(keyword, args, errors)?;
            Some(if name == "role" {
                Node::Role {
                    lit,
                    tokens: tokens.clone(),
                }
            } else {
                Node::Scope {
                    lit,
                    tokens: tokens.clone(),
                }
            })
        }
        "any" | "all" => {
            let terms = match Punctuated::<Term, Token![,]>::parse_terminated.parse2(args.clone()) {
                Ok(terms) => terms,
                Err(error) => {
                    errors.push(error);
                    return None;
                }
            };
            let before = errors.len();
            let items: Vec<Node> = terms
                .iter()
                .filter_map(|term| requirement(term, Some(&name), errors))
                .collect();
            if errors.len() > before {
                return None;
            }
            let (keyword, tokens) = (keyword.clone(), tokens.clone());
            Some(if name == "any" {
                Node::Any {
                    keyword,
                    items,
                    tokens,
                }
            } else {
                Node::All {
                    keyword,
                    items,
                    tokens,
                }
            })
        }
        _ => {
            errors.push(syn::Error::new_spanned(
                tokens,
                "write a condition as `expr = \"...\"`, not `expr(...)`",
            ));
            None
        }
    }
}

/// The one string literal `role(...)` or `scope(...)` takes.
fn string_argument(keyword: &Ident, args: &TokenStream, errors: &mut Errors) -> Option<LitStr> {
    let example = if keyword == "role" {
        "role(\"admin\")"
    } else {
        "scope(\"conversation:write\")"
    };
    let parsed = Punctuated::<Expr, Token![,]>::parse_terminated.parse2(args.clone());
    match parsed {
        Ok(exprs) if exprs.len() == 1 => match &exprs[0] {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(lit), ..
            }) => Some(lit.clone()),
            other => {
                errors.push(syn::Error::new_spanned(
                    other,
                    format!("`{keyword}` takes a string literal: `{example}`"),
                ));
                None
            }
        },
        Ok(exprs) if exprs.is_empty() => {
            errors.push(syn::Error::new_spanned(
                keyword,
                format!("`{keyword}()` is empty: write `{example}`"),
            ));
            None
        }
        Ok(exprs) => {
            errors.push(syn::Error::new_spanned(
                &exprs[1],
                format!(
                    "`{keyword}` takes one name; combine several with `any(...)` or `all(...)`: \
                     `any({keyword}(\"a\"), {keyword}(\"b\"))`"
                ),
            ));
            None
        }
        Err(error) => {
            errors.push(error);
            None
        }
    }
}

/// The error for a lone expression where a requirement was expected.
fn not_a_requirement(expr: &Expr) -> syn::Error {
    let unknown = match expr {
        Expr::Call(call) => match &*call.func {
            Expr::Path(path) => path.path.get_ident().map(ToString::to_string),
            _ => None,
        },
        Expr::Path(path) => path.path.get_ident().map(ToString::to_string),
        _ => None,
    };
    let message = match unknown {
        Some(name) if CALLS.contains(&name.as_str()) => {
            format!("`{name}` takes its argument in parentheses: `{name}(...)`")
        }
        Some(name) if !suggestion(&name).is_empty() => format!(
            "unknown requirement `{name}`{}; expected {GRAMMAR}",
            suggestion(&name)
        ),
        _ => "this is no requirement on its own: a resource/permission pair names both, \
              `Resource::X, Permission::Y`; the other requirements are `role(\"...\")`, \
              `scope(\"...\")`, `any(...)`, `all(...)`, `expr = \"...\"` and `authenticated`"
            .to_owned(),
    };
    syn::Error::new_spanned(expr, message)
}

/// Whether `expr` is the bare keyword `authenticated`.
fn is_authenticated(expr: &Expr) -> bool {
    matches!(expr, Expr::Path(path) if path.qself.is_none() && path.path.is_ident(AUTHENTICATED))
}

/// `" (did you mean `x`?)"` when `name` is close to a keyword, else `""`.
fn suggestion(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    KEYWORDS
        .iter()
        .find(|keyword| {
            let limit = if keyword.len() <= 3 { 1 } else { 2 };
            name != **keyword && distance(&lower, keyword) <= limit
        })
        .map(|keyword| format!(" (did you mean `{keyword}`?)"))
        .unwrap_or_default()
}

/// The Levenshtein distance between two short words.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = if ca == *cb {
                previous
            } else {
                1 + previous.min(row[j]).min(row[j + 1])
            };
            previous = current;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn parse(tokens: TokenStream) -> Result<Node, String> {
        let mut errors = Errors::default();
        let node = parse_attribute(tokens, Span::call_site(), &mut errors);
        match errors.finish() {
            Ok(()) => Ok(node.expect("a node when no error")),
            Err(error) => Err(error
                .into_iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")),
        }
    }

    #[test]
    fn a_top_level_pair_needs_no_parentheses() {
        assert!(matches!(
            parse(quote!(Res::Conversation, Permission::Write)),
            Ok(Node::Pair { .. })
        ));
        assert!(matches!(
            parse(quote!((Res::Conversation, Permission::Write))),
            Ok(Node::Pair { .. })
        ));
    }

    #[test]
    fn keywords_nest() {
        let node = parse(quote!(any(
            role("admin"),
            all((R::Users, P::Read), expr = "user.id == id.0")
        )))
        .expect("valid");
        let Node::Any { items, .. } = node else {
            panic!("any expected");
        };
        assert!(matches!(items[0], Node::Role { .. }));
        let Node::All { items, .. } = &items[1] else {
            panic!("all expected");
        };
        assert!(matches!(items[0], Node::Pair { .. }));
        assert!(matches!(items[1], Node::Expr { .. }));
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            (quote!(), "needs a requirement"),
            (quote!(role("a"), scope("b")), "takes one requirement"),
            (quote!(Res::A), "a resource/permission pair names both"),
            (quote!(roles("a")), "did you mean `role`"),
            (quote!(any), "takes its argument in parentheses"),
            (quote!(role = "a"), "write `role(...)`"),
            (
                quote!(exp = "true"),
                "unknown key `exp` (did you mean `expr`?)",
            ),
            (quote!(expr = true), "takes a string literal"),
            (quote!(expr("a")), "not `expr(...)`"),
            (quote!(role(admin)), "takes a string literal"),
            (quote!(role()), "is empty"),
            (quote!(scope("a", "b")), "takes one name"),
            (quote!(any(R::A, P::B)), "in parentheses"),
            (quote!(any((R::A, P::B, P::C))), "has two parts"),
        ];
        for (tokens, expected) in cases {
            let text = tokens.to_string();
            let error = parse(tokens).expect_err(&text);
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn suggestions_need_a_close_keyword() {
        assert_eq!(suggestion("scopes"), " (did you mean `scope`?)");
        assert_eq!(suggestion("ANY"), " (did you mean `any`?)");
        assert_eq!(suggestion("permission"), "");
    }
}
