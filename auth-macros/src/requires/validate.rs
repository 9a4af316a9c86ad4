//! Rules: what a [`Node`] tree must satisfy before code is generated, each
//! with its reason, checked at compile time on the literal that breaks it.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Expr, LitStr};

use super::Errors;
use super::parse::Node;

/// A checked requirement, ready to expand.
#[derive(Debug, Clone)]
pub(crate) enum Req {
    /// A resource/permission pair; the compiler checks the types.
    Pair {
        resource: Box<Expr>,
        permission: Box<Expr>,
    },
    /// A role.
    Role(LitStr),
    /// An OAuth2 scope, with its canonical form.
    Scope { lit: LitStr, canonical: String },
    /// At least one of these.
    Any(Vec<Req>),
    /// Every one of these.
    All(Vec<Req>),
    /// The `index`-th condition of the item: its source (trimmed, spanned
    /// on the literal) and the parsed expression.
    Expr {
        index: usize,
        source: LitStr,
        expr: Box<Expr>,
    },
    /// Any signed-in caller.
    Authenticated,
}

/// Checks the requirements of every `#[requires]` of one item; several
/// mean all of them.
pub(crate) fn validate(attributes: Vec<Node>, errors: &mut Errors) -> Option<Req> {
    let mut conditions = 0;
    let before = errors.len();
    let mut seen: Vec<String> = Vec::new();
    let mut checked = Vec::with_capacity(attributes.len());
    for node in &attributes {
        let key = key(node);
        if seen.contains(&key) {
            errors.push(syn::Error::new_spanned(
                node.tokens(),
                "duplicate requirement: an earlier `#[requires]` on this item already asks for it",
            ));
        }
        seen.push(key);
        checked.extend(check(node, &mut conditions, errors));
    }
    if attributes.len() > 1 {
        for node in &attributes {
            if let Node::Authenticated { tokens } = node {
                errors.push(syn::Error::new_spanned(
                    tokens,
                    "`authenticated` is implied by the other `#[requires]` of this item, which \
                     already need a signed-in caller: drop it",
                ));
            }
        }
    }
    if errors.len() > before {
        return None;
    }
    match checked.len() {
        1 => checked.pop(),
        _ => Some(Req::All(checked)),
    }
}

fn check(node: &Node, conditions: &mut usize, errors: &mut Errors) -> Option<Req> {
    match node {
        Node::Authenticated { .. } => Some(Req::Authenticated),
        Node::Pair {
            resource,
            permission,
            ..
        } => Some(Req::Pair {
            resource: resource.clone(),
            permission: permission.clone(),
        }),
        Node::Role { lit, .. } => match role_problem(&lit.value()) {
            None => Some(Req::Role(lit.clone())),
            Some(problem) => {
                errors.push(syn::Error::new_spanned(lit, problem));
                None
            }
        },
        Node::Scope { lit, .. } => match canonical_scope(&lit.value()) {
            Ok(canonical) => Some(Req::Scope {
                lit: lit.clone(),
                canonical,
            }),
            Err(problem) => {
                errors.push(syn::Error::new_spanned(lit, problem));
                None
            }
        },
        Node::Any { keyword, items, .. } | Node::All { keyword, items, .. } => {
            let any = matches!(node, Node::Any { .. });
            if items.is_empty() {
                errors.push(syn::Error::new_spanned(
                    keyword,
                    if any {
                        "`any()` is empty and would refuse every caller: list at least one \
                         requirement"
                    } else {
                        "`all()` is empty and requires nothing: list at least one requirement, \
                         or write `#[requires(authenticated)]` to only require a signed-in caller"
                    },
                ));
                return None;
            }
            let mut seen: Vec<String> = Vec::new();
            let mut checked = Vec::with_capacity(items.len());
            for item in items {
                let key = key(item);
                if seen.contains(&key) {
                    errors.push(syn::Error::new_spanned(
                        item.tokens(),
                        format!("duplicate requirement: this `{keyword}(...)` already lists it"),
                    ));
                }
                seen.push(key);
                checked.extend(check(item, conditions, errors));
            }
            Some(if any {
                Req::Any(checked)
            } else {
                Req::All(checked)
            })
        }
        Node::Expr { lit, .. } => {
            let value = lit.value();
            let source = value.trim();
            if source.is_empty() {
                errors.push(syn::Error::new_spanned(
                    lit,
                    "`expr` is empty: write a Rust boolean expression, e.g. \
                     `expr = \"user.id == id.0\"`",
                ));
                return None;
            }
            match lit.parse::<Expr>() {
                Ok(expr) => {
                    let index = *conditions;
                    *conditions += 1;
                    Some(Req::Expr {
                        index,
                        source: LitStr::new(source, lit.span()),
                        expr: Box::new(expr),
                    })
                }
                Err(error) => {
                    errors.push(syn::Error::new(
                        lit.span(),
                        format!("`expr` is not a Rust expression: {error}"),
                    ));
                    None
                }
            }
        }
    }
}

/// What two requirements must share to be the same requirement.
fn key(node: &Node) -> String {
    match node {
        Node::Authenticated { .. } => "authenticated".to_owned(),
        Node::Pair {
            resource,
            permission,
            ..
        } => format!(
            "pair {} {}",
            resource.to_token_stream(),
            permission.to_token_stream()
        ),
        Node::Role { lit, .. } => format!("role {}", lit.value()),
        Node::Scope { lit, .. } => format!(
            "scope {}",
            canonical_scope(&lit.value()).unwrap_or_else(|_| lit.value())
        ),
        Node::Any { items, .. } => format!("any({})", keys(items)),
        Node::All { items, .. } => format!("all({})", keys(items)),
        Node::Expr { lit, .. } => match lit.parse::<Expr>() {
            Ok(expr) => format!("expr {}", expr.to_token_stream()),
            Err(_) => format!("expr {}", lit.value().trim()),
        },
    }
}

fn keys(items: &[Node]) -> String {
    items.iter().map(key).collect::<Vec<_>>().join(", ")
}

/// Why `role` cannot name a role, if it cannot.
fn role_problem(role: &str) -> Option<String> {
    if role.is_empty() {
        Some("`role(\"\")` is empty: name a role, e.g. `role(\"admin\")`".into())
    } else if role.trim() != role {
        Some(format!(
            "the role `{role}` has leading or trailing whitespace, which no role name has"
        ))
    } else if role.chars().any(char::is_control) {
        Some(format!(
            "the role `{}` holds a control character",
            role.escape_debug()
        ))
    } else {
        None
    }
}

/// The scope as OAuth2 clients ask for it, as the runtime's
/// `auth_core::Scope` prints it: a `resource:permission` pair in lower case
/// with `-` read as `_`; any other scope as written. Refuses what is no
/// OAuth2 scope-token (RFC 6749, section 3.3) and a pair missing a side.
pub(crate) fn canonical_scope(scope: &str) -> Result<String, String> {
    if scope.is_empty() {
        return Err(
            "`scope(\"\")` is empty: name a scope, e.g. `scope(\"conversation:write\")`".into(),
        );
    }
    let token =
        |c: char| c == '\x21' || ('\x23'..='\x5b').contains(&c) || ('\x5d'..='\x7e').contains(&c);
    if !scope.chars().all(token) {
        return Err(format!(
            "`{}` is not an OAuth2 scope: a scope is printable ASCII without spaces, `\"` or `\\`",
            scope.escape_debug()
        ));
    }
    let Some((resource, permission)) = scope.split_once(':') else {
        return Ok(scope.to_owned());
    };
    if resource.is_empty() || permission.is_empty() {
        let side = if resource.is_empty() {
            "resource"
        } else {
            "permission"
        };
        return Err(format!(
            "`{scope}` has no {side}: a `resource:permission` scope names both, e.g. \
             `conversation:write`"
        ));
    }
    let name = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if name(resource) && name(permission) {
        Ok(format!("{resource}:{permission}")
            .to_ascii_lowercase()
            .replace('-', "_"))
    } else {
        Ok(scope.to_owned())
    }
}

/// How many OAuth2 scopes every caller needs (see the runtime's
/// `Rule::scopes`, which this mirrors): pairs and scopes reached through
/// `all` only, a one-item `any` counting as its item.
pub(crate) fn scope_count(req: &Req) -> usize {
    match req {
        Req::Pair { .. } | Req::Scope { .. } => 1,
        Req::Role(_) | Req::Expr { .. } | Req::Authenticated => 0,
        Req::Any(items) if items.len() == 1 => scope_count(&items[0]),
        Req::Any(_) => 0,
        Req::All(items) => items.iter().map(scope_count).sum(),
    }
}

/// Every condition of the tree, in index order.
pub(crate) fn conditions(req: &Req) -> Vec<(&LitStr, &Expr)> {
    let mut out = Vec::new();
    collect_conditions(req, &mut out);
    out
}

fn collect_conditions<'a>(req: &'a Req, out: &mut Vec<(&'a LitStr, &'a Expr)>) {
    match req {
        Req::Expr { source, expr, .. } => out.push((source, expr)),
        Req::Any(items) | Req::All(items) => {
            items.iter().for_each(|item| collect_conditions(item, out));
        }
        _ => {}
    }
}

/// The tokens of every condition, to find which argument bindings they use.
pub(crate) fn condition_tokens(req: &Req) -> TokenStream {
    conditions(req)
        .into_iter()
        .map(|(_, expr)| expr.to_token_stream())
        .collect()
}

#[cfg(test)]
mod tests {
    use proc_macro2::Span;
    use quote::quote;

    use super::super::parse::parse_attribute;
    use super::*;

    fn checked(attributes: &[TokenStream]) -> Result<Req, String> {
        let mut errors = Errors::default();
        let nodes = attributes
            .iter()
            .filter_map(|a| parse_attribute(a.clone(), Span::call_site(), &mut errors))
            .collect();
        let req = validate(nodes, &mut errors);
        match errors.finish() {
            Ok(()) => Ok(req.expect("a requirement when no error")),
            Err(error) => Err(error
                .into_iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")),
        }
    }

    #[test]
    fn scopes_are_checked_and_canonical() {
        assert_eq!(
            canonical_scope("Conversation:WRITE"),
            Ok("conversation:write".into())
        );
        assert_eq!(
            canonical_scope("auth-handler:edit"),
            Ok("auth_handler:edit".into())
        );
        assert_eq!(canonical_scope("openid"), Ok("openid".into()));
        assert_eq!(
            canonical_scope("https://example.com/read"),
            Ok("https://example.com/read".into())
        );
        for bad in ["", "a b", "a\"b", "conversation:", ":write", "é"] {
            assert!(canonical_scope(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn several_attributes_mean_all_and_conditions_are_numbered() {
        let req = checked(&[
            quote!(expr = "a"),
            quote!(any(role("x"), expr = " b ")),
            quote!(R::A, P::B),
        ])
        .expect("valid");
        let Req::All(items) = &req else {
            panic!("all expected");
        };
        assert_eq!(items.len(), 3);
        let found: Vec<_> = conditions(&req).iter().map(|(s, _)| s.value()).collect();
        assert_eq!(found, ["a", "b"]);
        assert_eq!(scope_count(&req), 1);
    }

    #[test]
    fn every_mistake_is_reported_at_once() {
        let error = checked(&[
            quote!(any(role(""), scope("a b"), expr = "user.")),
            quote!(all()),
            quote!(role("x")),
            quote!(role("x")),
        ])
        .expect_err("invalid");
        for expected in [
            "`role(\"\")` is empty",
            "is not an OAuth2 scope",
            "`expr` is not a Rust expression",
            "`all()` is empty",
            "an earlier `#[requires]`",
        ] {
            assert!(error.contains(expected), "{expected}: {error}");
        }
    }

    #[test]
    fn duplicates_inside_a_list_are_refused() {
        let error = checked(&[quote!(any(scope("A:b"), scope("a:B")))]).expect_err("duplicate");
        assert!(
            error.contains("this `any(...)` already lists it"),
            "{error}"
        );
        let error = checked(&[quote!(any())]).expect_err("empty");
        assert!(error.contains("would refuse every caller"), "{error}");
    }
}
