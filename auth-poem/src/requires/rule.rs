//! [`Rule`]: what one `#[requires]` item asks, as checked at run time and
//! as documented in the spec.

use auth_core::{Permission, Principal, Requirement, Resource};
use auth_rule_text::RuleText;
use serde_json::{Value, json};

/// What an item annotated with `#[requires]` asks of its caller: an
/// [`auth_core::Requirement`] wherever the rule is static, and the
/// `expr = "..."` conditions, which only the handler's own code can
/// evaluate.
///
/// Generated code builds one per handler, once per process; the
/// constructors fold every part without a condition into a single
/// [`Requirement`], so a rule without `expr` is exactly
/// `Rule::Require(requirement)` and is checked by
/// [`Principal::satisfies`].
///
/// ```
/// use auth_core::{AuthMethod, AuthPermission as P, AuthResource as R, PermissionSet, Principal, Requirement};
/// use auth_poem::__private::Rule;
///
/// let rule = Rule::any(vec![Rule::role("admin"), Rule::all(vec![
///     Rule::permission(R::Users, P::Read),
///     Rule::expr(0, "user.id == id.0"),
/// ])]);
/// let reader = Principal::new("u1", AuthMethod::Jwt)
///     .with_permissions([(R::Users, P::Read)].into_iter().collect::<PermissionSet>());
/// assert!(rule.allows(&reader, &mut |_| true));
/// assert!(!rule.allows(&reader, &mut |_| false));
/// assert_eq!(
///     rule.describe(),
///     "Requires: role `admin` or (`users:read` and condition `user.id == id.0`)."
/// );
/// assert_eq!(
///     Rule::all(vec![Rule::role("a"), Rule::scope("openid")]),
///     Rule::Require(Requirement::all([Requirement::role("a"), Requirement::scope("openid")]))
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// A static requirement.
    Require(Requirement),
    /// The `index`-th `expr = "..."` condition of the item, with its source text.
    Expr {
        /// Its position among the item's conditions.
        index: usize,
        /// The expression, as written.
        source: &'static str,
    },
    /// At least one of these.
    Any(Vec<Rule>),
    /// Every one of these.
    All(Vec<Rule>),
}

impl Rule {
    /// A resource/permission pair.
    pub fn permission(resource: impl Resource, permission: impl Permission) -> Self {
        Self::Require(Requirement::permission(resource, permission))
    }

    /// A role.
    pub fn role(role: &'static str) -> Self {
        Self::Require(Requirement::role(role))
    }

    /// An OAuth2 scope.
    pub fn scope(scope: &'static str) -> Self {
        Self::Require(Requirement::scope(scope))
    }

    /// Any signed-in caller (`#[requires(authenticated)]`): all of nothing.
    pub fn authenticated() -> Self {
        Self::Require(Requirement::All(Vec::new()))
    }

    /// The `index`-th condition of the item.
    pub fn expr(index: usize, source: &'static str) -> Self {
        Self::Expr { index, source }
    }

    /// At least one of `items`; a single [`Requirement`] when none has a condition.
    pub fn any(items: impl IntoIterator<Item = Rule>) -> Self {
        match static_parts(items.into_iter().collect()) {
            Ok(parts) => Self::Require(Requirement::Any(parts)),
            Err(items) => Self::Any(items),
        }
    }

    /// Every one of `items`; a single [`Requirement`] when none has a condition.
    pub fn all(items: impl IntoIterator<Item = Rule>) -> Self {
        match static_parts(items.into_iter().collect()) {
            Ok(parts) => Self::Require(Requirement::All(parts)),
            Err(items) => Self::All(items),
        }
    }

    /// Whether `principal` meets the rule. `condition(i)` evaluates the
    /// `i`-th condition; it is called only when the answer depends on it
    /// (`any` stops at the first rule met, `all` at the first one missed).
    pub fn allows(&self, principal: &Principal, condition: &mut dyn FnMut(usize) -> bool) -> bool {
        match self {
            Self::Require(requirement) => principal.satisfies(requirement),
            Self::Expr { index, .. } => condition(*index),
            Self::Any(items) => items.iter().any(|r| r.allows(principal, condition)),
            Self::All(items) => items.iter().all(|r| r.allows(principal, condition)),
        }
    }

    /// The static requirement, when the rule has no condition.
    pub fn requirement(&self) -> Option<&Requirement> {
        match self {
            Self::Require(requirement) => Some(requirement),
            _ => None,
        }
    }

    /// The OAuth2 scopes every caller needs, whichever way it meets the
    /// rule: the permissions and scopes reached from the top through `all`
    /// only (a one-item `any` counts as its item), in the order written,
    /// repeats kept. An alternative of `any` is no scope anyone must hold,
    /// and a role or a condition is no scope at all.
    pub fn scopes(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_scopes(&mut out);
        out
    }

    fn collect_scopes(&self, out: &mut Vec<String>) {
        match self {
            Self::Require(requirement) => requirement_scopes(requirement, out),
            Self::Expr { .. } => {}
            Self::Any(items) if items.len() == 1 => items[0].collect_scopes(out),
            Self::Any(_) => {}
            Self::All(items) => items.iter().for_each(|r| r.collect_scopes(out)),
        }
    }

    /// The ways of meeting the rule, as sets of OAuth2 scopes: one set per
    /// alternative of its `any`s (a role or a condition adds no scope, so
    /// an alternative made only of those is the empty set), each `all`
    /// joining the sets of its parts. In the spec, each set is one
    /// alternative of the operation's `security` on the OAuth2 scheme.
    /// Past 16 ways, the one set [`scopes`](Self::scopes)
    /// (the scopes every way needs) stands for them all.
    pub fn scope_alternatives(&self) -> Vec<Vec<String>> {
        match self.alternatives() {
            Some(mut ways) => {
                ways.dedup();
                let mut unique: Vec<Vec<String>> = Vec::with_capacity(ways.len());
                for way in ways {
                    if !unique.contains(&way) {
                        unique.push(way);
                    }
                }
                unique
            }
            None => vec![self.scopes()],
        }
    }

    /// The ways of [`scope_alternatives`](Self::scope_alternatives), `None`
    /// past [`MAX_ALTERNATIVES`].
    fn alternatives(&self) -> Option<Vec<Vec<String>>> {
        match self {
            Self::Require(requirement) => requirement_alternatives(requirement),
            Self::Expr { .. } => Some(vec![Vec::new()]),
            Self::Any(items) => any_of(items.iter().map(Rule::alternatives)),
            Self::All(items) => all_of(items.iter().map(Rule::alternatives)),
        }
    }

    /// The rule as the `x-required-permissions` value of an operation:
    /// `{"permission": "conversation:write"}`, `{"role": "admin"}`,
    /// `{"scope": "openid"}`, `{"expr": "user.id == id.0"}`,
    /// `{"authenticated": true}` for any signed-in caller, and
    /// `{"any": [...]}` / `{"all": [...]}` around them.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Require(requirement) => requirement_json(requirement),
            Self::Expr { source, .. } => json!({"expr": source}),
            Self::Any(items) => json!({"any": items.iter().map(Rule::to_json).collect::<Vec<_>>()}),
            Self::All(items) => json!({"all": items.iter().map(Rule::to_json).collect::<Vec<_>>()}),
        }
    }

    /// The line `#[requires]` adds to an operation's description, e.g.
    /// ``Requires: `conversation:write`.``, worded by `auth-rule-text` like
    /// the line the macro writes into the rustdoc.
    pub fn describe(&self) -> String {
        self.text().line()
    }

    /// The rule as words.
    fn text(&self) -> RuleText {
        match self {
            Self::Require(requirement) => requirement_text(requirement),
            Self::Expr { source, .. } => RuleText::Condition((*source).to_owned()),
            Self::Any(items) => RuleText::Any(items.iter().map(Rule::text).collect()),
            Self::All(items) => RuleText::All(items.iter().map(Rule::text).collect()),
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.text().fmt(f)
    }
}

/// The requirements of `items` when none has a condition, else the items.
fn static_parts(items: Vec<Rule>) -> Result<Vec<Requirement>, Vec<Rule>> {
    if items.iter().all(|r| matches!(r, Rule::Require(_))) {
        Ok(items
            .into_iter()
            .filter_map(|r| match r {
                Rule::Require(requirement) => Some(requirement),
                _ => None,
            })
            .collect())
    } else {
        Err(items)
    }
}

/// How many ways of meeting a rule the spec lists before it falls back to
/// the scopes every way needs.
pub(crate) const MAX_ALTERNATIVES: usize = 16;

fn requirement_alternatives(requirement: &Requirement) -> Option<Vec<Vec<String>>> {
    match requirement {
        Requirement::Permission(scope) => Some(vec![vec![scope.to_string()]]),
        Requirement::Scope(scope) => Some(vec![vec![canonical_scope(scope)]]),
        Requirement::Role(_) => Some(vec![Vec::new()]),
        Requirement::Any(items) => any_of(items.iter().map(requirement_alternatives)),
        Requirement::All(items) => all_of(items.iter().map(requirement_alternatives)),
    }
}

/// The ways of meeting any of the parts: each part's ways, in order.
fn any_of(parts: impl Iterator<Item = Option<Vec<Vec<String>>>>) -> Option<Vec<Vec<String>>> {
    let mut ways = Vec::new();
    for part in parts {
        ways.extend(part?);
        if ways.len() > MAX_ALTERNATIVES {
            return None;
        }
    }
    Some(ways)
}

/// The ways of meeting all of the parts: one way of each, joined.
fn all_of(parts: impl Iterator<Item = Option<Vec<Vec<String>>>>) -> Option<Vec<Vec<String>>> {
    let mut ways = vec![Vec::<String>::new()];
    for part in parts {
        let part = part?;
        if ways.len() * part.len() > MAX_ALTERNATIVES {
            return None;
        }
        ways = ways
            .iter()
            .flat_map(|way| {
                part.iter().map(move |more| {
                    let mut joined = way.clone();
                    joined.extend(more.iter().filter(|s| !way.contains(s)).cloned());
                    joined
                })
            })
            .collect();
    }
    Some(ways)
}

fn requirement_scopes(requirement: &Requirement, out: &mut Vec<String>) {
    match requirement {
        Requirement::Permission(scope) => out.push(scope.to_string()),
        Requirement::Scope(scope) => out.push(canonical_scope(scope)),
        Requirement::Role(_) => {}
        Requirement::Any(items) if items.len() == 1 => requirement_scopes(&items[0], out),
        Requirement::Any(_) => {}
        Requirement::All(items) => items.iter().for_each(|r| requirement_scopes(r, out)),
    }
}

/// A scope as OAuth2 clients should ask for it: the lower-case form of a
/// `resource:permission` pair, any other scope as it is.
pub(crate) fn canonical_scope(scope: &str) -> String {
    scope
        .parse::<auth_core::Scope>()
        .map_or_else(|_| scope.to_owned(), |s| s.to_string())
}

fn requirement_json(requirement: &Requirement) -> Value {
    match requirement {
        Requirement::Permission(scope) => json!({"permission": scope.to_string()}),
        Requirement::Role(role) => json!({"role": role}),
        Requirement::Scope(scope) => json!({"scope": canonical_scope(scope)}),
        Requirement::Any(items) => {
            json!({"any": items.iter().map(requirement_json).collect::<Vec<_>>()})
        }
        Requirement::All(items) if items.is_empty() => json!({"authenticated": true}),
        Requirement::All(items) => {
            json!({"all": items.iter().map(requirement_json).collect::<Vec<_>>()})
        }
    }
}

fn requirement_text(requirement: &Requirement) -> RuleText {
    match requirement {
        Requirement::Permission(scope) => RuleText::Code(scope.to_string()),
        Requirement::Scope(scope) => RuleText::Code(canonical_scope(scope)),
        Requirement::Role(role) => RuleText::Role(role.to_string()),
        Requirement::Any(items) => RuleText::Any(items.iter().map(requirement_text).collect()),
        Requirement::All(items) => RuleText::All(items.iter().map(requirement_text).collect()),
    }
}

#[cfg(test)]
mod tests {
    use auth_core::{AuthMethod, AuthPermission as P, AuthResource as R, PermissionSet};

    use super::*;

    fn reader() -> Principal {
        Principal::new("u1", AuthMethod::Jwt)
            .with_permissions([(R::Users, P::Read)].into_iter().collect::<PermissionSet>())
            .with_role("editor")
    }

    #[test]
    fn static_rules_fold_into_one_requirement() {
        let rule = Rule::all(vec![
            Rule::permission(R::Users, P::Read),
            Rule::any(vec![Rule::role("editor"), Rule::scope("openid")]),
        ]);
        assert_eq!(
            rule.requirement(),
            Some(&Requirement::all([
                Requirement::permission(R::Users, P::Read),
                Requirement::any([Requirement::role("editor"), Requirement::scope("openid")]),
            ]))
        );
        assert!(rule.allows(&reader(), &mut |_| unreachable!("no condition")));
    }

    #[test]
    fn conditions_are_evaluated_only_when_they_decide() {
        let rule = Rule::any(vec![
            Rule::role("editor"),
            Rule::all(vec![Rule::expr(0, "a"), Rule::expr(1, "b")]),
        ]);
        let mut asked = Vec::new();
        assert!(rule.allows(&reader(), &mut |i| {
            asked.push(i);
            false
        }));
        assert!(asked.is_empty(), "the role decided: {asked:?}");

        let stranger = Principal::new("s", AuthMethod::Jwt);
        let mut asked = Vec::new();
        assert!(!rule.allows(&stranger, &mut |i| {
            asked.push(i);
            false
        }));
        assert_eq!(asked, [0], "`all` stops at the first condition missed");
    }

    #[test]
    fn scopes_are_those_every_caller_needs() {
        let rule = Rule::all(vec![
            Rule::permission(R::Conversation, P::Write),
            Rule::scope("Memory:Read"),
            Rule::role("admin"),
            Rule::any(vec![Rule::scope("a"), Rule::scope("b")]),
            Rule::any(vec![Rule::scope("only")]),
            Rule::expr(0, "true"),
        ]);
        assert_eq!(rule.scopes(), ["conversation:write", "memory:read", "only"]);
        assert!(Rule::role("admin").scopes().is_empty());
    }

    #[test]
    fn scope_alternatives_list_each_way_of_meeting_the_rule() {
        let either = Rule::any(vec![
            Rule::permission(R::Conversation, P::Read),
            Rule::permission(R::Users, P::Read),
        ]);
        assert_eq!(
            either.scope_alternatives(),
            [vec!["conversation:read"], vec!["users:read"]]
        );
        let both = Rule::all(vec![Rule::scope("openid"), either.clone()]);
        assert_eq!(
            both.scope_alternatives(),
            [
                vec!["openid", "conversation:read"],
                vec!["openid", "users:read"]
            ]
        );
        let or_admin = Rule::any(vec![Rule::role("admin"), Rule::scope("openid")]);
        assert_eq!(or_admin.scope_alternatives(), [vec![], vec!["openid"]]);
        assert_eq!(
            Rule::authenticated().scope_alternatives(),
            [Vec::<String>::new()]
        );
        let pairs: Vec<Rule> = (0..5)
            .map(|i| {
                Rule::any(vec![
                    Rule::scope(["a", "b", "c", "d", "e"][i]),
                    Rule::role("x"),
                ])
            })
            .collect();
        let wide = Rule::all(pairs);
        assert_eq!(
            wide.scope_alternatives(),
            [wide.scopes()],
            "2^5 ways are past the cap: the scopes every way needs stand for them"
        );
    }

    #[test]
    fn json_and_description_show_every_part() {
        let rule = Rule::all(vec![
            Rule::any(vec![Rule::role("admin"), Rule::scope("openid")]),
            Rule::permission(R::AuthHandler, P::Edit),
            Rule::expr(0, "user.id == id.0"),
        ]);
        assert_eq!(
            rule.to_json(),
            json!({"all": [
                {"any": [{"role": "admin"}, {"scope": "openid"}]},
                {"permission": "auth_handler:edit"},
                {"expr": "user.id == id.0"},
            ]})
        );
        assert_eq!(
            rule.describe(),
            "Requires: (role `admin` or `openid`) and `auth_handler:edit` and condition \
             `user.id == id.0`."
        );
        assert_eq!(
            Rule::expr(0, "a == `b`").to_string(),
            "condition `` a == `b` ``"
        );
    }
}
