//! How an access rule reads: ``Requires: role `admin` or (`users:read` and
//! condition `user.id == id.0`).``
//!
//! The rule is written once, on a route, and shown twice: in the rustdoc of
//! the operation (rendered by `#[requires]` at compile time, where only the
//! Rust tokens of a resource/permission pair are known) and in the served
//! OpenAPI document (rendered by `auth-poem` at run time, with the names the
//! `Resource` and `Permission` impls give). Both build a [`RuleText`] and
//! render it here, so the two lines are worded alike by construction.
//!
//! ```
//! use auth_rule_text::RuleText;
//!
//! let rule = RuleText::Any(vec![
//!     RuleText::Role("admin".into()),
//!     RuleText::All(vec![
//!         RuleText::Code("users:read".into()),
//!         RuleText::Condition("user.id == id.0".into()),
//!     ]),
//! ]);
//! assert_eq!(
//!     rule.line(),
//!     "Requires: role `admin` or (`users:read` and condition `user.id == id.0`)."
//! );
//! assert_eq!(RuleText::All(vec![]).line(), "Requires: authentication only.");
//! ```

use std::fmt;

/// An access rule as words: what each kind of requirement is called, and how
/// they combine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleText {
    /// Something shown as inline code: a permission (`users:read`), a scope,
    /// or the Rust code of a resource/permission pair.
    Code(String),
    /// A role, shown as ``role `name` ``.
    Role(String),
    /// A condition on the caller, shown as ``condition `source` ``.
    Condition(String),
    /// Any one of the parts; none at all is never met.
    Any(Vec<RuleText>),
    /// Every part; none at all means any signed-in caller.
    All(Vec<RuleText>),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Or,
    And,
}

impl RuleText {
    /// The line added to an operation's description:
    /// ``Requires: `conversation:write`.``
    pub fn line(&self) -> String {
        format!("Requires: {self}.")
    }

    fn render(&self, parent: Option<Op>, out: &mut String) {
        match self {
            Self::Code(text) => code(text, out),
            Self::Role(role) => {
                out.push_str("role ");
                code(role, out);
            }
            Self::Condition(source) => {
                out.push_str("condition ");
                code(source, out);
            }
            Self::Any(items) => list(items, Op::Or, parent, out),
            Self::All(items) => list(items, Op::And, parent, out),
        }
    }
}

/// The rule without the `Requires: ` and the full stop.
impl fmt::Display for RuleText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.render(None, &mut out);
        f.write_str(&out)
    }
}

/// `items` joined by `op`: a one-item list as its item, and parentheses when
/// it sits inside the other operator.
fn list(items: &[RuleText], op: Op, parent: Option<Op>, out: &mut String) {
    match items {
        [] => out.push_str(match op {
            Op::Or => "nothing (never met)",
            Op::And => "authentication only",
        }),
        [one] => one.render(parent, out),
        _ => {
            let nested = parent.is_some_and(|p| p != op);
            if nested {
                out.push('(');
            }
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(match op {
                        Op::Or => " or ",
                        Op::And => " and ",
                    });
                }
                item.render(Some(op), out);
            }
            if nested {
                out.push(')');
            }
        }
    }
}

/// `text` as Markdown inline code, with a fence longer than any run of
/// backticks inside it.
fn code(text: &str, out: &mut String) {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if longest > 0 { " " } else { "" };
    out.push_str(&fence);
    out.push_str(pad);
    out.push_str(text);
    out.push_str(pad);
    out.push_str(&fence);
}

#[cfg(test)]
mod tests {
    use super::RuleText::{self, All, Any, Code, Condition, Role};

    fn code(s: &str) -> RuleText {
        Code(s.into())
    }

    #[test]
    fn one_part_lists_read_as_their_part_at_any_depth() {
        let rule = All(vec![Any(vec![All(vec![code("users:read")])])]);
        assert_eq!(rule.line(), "Requires: `users:read`.");
    }

    #[test]
    fn the_other_operator_inside_gets_parentheses_the_same_one_does_not() {
        let rule = All(vec![
            Any(vec![Role("admin".into()), code("openid")]),
            code("auth_handler:edit"),
            All(vec![code("a:b"), code("c:d")]),
        ]);
        assert_eq!(
            rule.to_string(),
            "(role `admin` or `openid`) and `auth_handler:edit` and `a:b` and `c:d`"
        );
    }

    #[test]
    fn empty_lists_say_what_they_mean() {
        assert_eq!(All(vec![]).to_string(), "authentication only");
        assert_eq!(Any(vec![]).to_string(), "nothing (never met)");
    }

    #[test]
    fn backticks_inside_code_get_a_longer_fence() {
        assert_eq!(
            Condition("user.name == \"a`b\"".into()).to_string(),
            "condition `` user.name == \"a`b\" ``"
        );
        assert_eq!(code("x``y").to_string(), "``` x``y ```");
    }
}
