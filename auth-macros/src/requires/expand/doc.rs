//! The `Requires: ...` line `#[requires]` adds to an operation's docs, as
//! the runtime's `Rule::describe` words it.

use proc_macro2::TokenTree;
use quote::ToTokens;
use syn::{Attribute, parse_quote};

use super::super::validate::Req;

/// How the docs name `authenticated`, as the runtime's `Rule::describe` does.
const AUTHENTICATED_TEXT: &str = "authentication only";
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
pub(super) fn pretty(tokens: &impl ToTokens) -> String {
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
pub(super) fn doc_attributes(line: &str) -> [Attribute; 2] {
    [parse_quote!(#[doc = ""]), parse_quote!(#[doc = #line])]
}
