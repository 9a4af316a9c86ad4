//! The `Requires: ...` line `#[requires]` adds to an operation's docs,
//! worded by `auth-rule-text` like the line of the served spec.

use auth_rule_text::RuleText;
use proc_macro2::TokenTree;
use quote::ToTokens;
use syn::{Attribute, parse_quote};

use super::super::validate::Req;

/// The line added to the docs at compile time, worded by `auth-rule-text`
/// as the served spec's is, except that a resource/permission pair is shown
/// as its Rust code (the names come from its `Resource` and `Permission`
/// impls, known at run time only; the served spec shows them).
pub(crate) fn doc_line(req: &Req) -> String {
    text(req).line()
}

/// `req` as words.
fn text(req: &Req) -> RuleText {
    match req {
        Req::Pair {
            resource,
            permission,
        } => RuleText::Code(format!("({}, {})", pretty(resource), pretty(permission))),
        Req::Role(lit) => RuleText::Role(lit.value()),
        Req::Scope { canonical, .. } => RuleText::Code(canonical.clone()),
        Req::Authenticated => RuleText::All(Vec::new()),
        Req::Expr { source, .. } => RuleText::Condition(source.value()),
        Req::Any(items) => RuleText::Any(items.iter().map(text).collect()),
        Req::All(items) => RuleText::All(items.iter().map(text).collect()),
    }
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
