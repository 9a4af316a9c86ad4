//! Who made a request, and what they may do.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::permission::{Permission, PermissionSet, Resource, Scope};

/// How a principal proved its identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuthMethod {
    /// A static API key.
    ApiKey {
        /// The channel the key is valid for.
        channel: Channel,
    },
    /// HTTP Basic: a username and password.
    Basic,
    /// A signed JSON Web Token.
    Jwt,
    /// A custom handler, by its name.
    Custom {
        /// The handler's [`name`](crate::handlers::AuthHandler::name).
        handler: String,
    },
    /// No credential: the service runs open (see the application's settings).
    Anonymous,
}

/// The channel a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A plain HTTP request.
    Http,
    /// A WebSocket upgrade.
    WebSocket,
}

/// An authenticated identity: who, with which roles and permissions.
///
/// Built by a handler, completed by the pipeline (roles expanded through the
/// [`RoleMap`]), then checked by routes.
///
/// ```
/// use auth_core::{AuthMethod, AuthPermission as P, AuthResource as R, PermissionSet, Principal};
///
/// let user = Principal::new("42", AuthMethod::Jwt)
///     .with_permissions(PermissionSet::base())
///     .with_role("editor");
/// assert!(user.has(R::Conversation, P::Write));
/// assert!(user.has_role("editor"));
/// assert!(user.has_scope("conversation:read"));
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Principal {
    /// Stable identifier (a user id, `sub`).
    pub id: String,
    /// Display name; the id when none is known.
    pub name: String,
    /// Role names.
    pub roles: BTreeSet<String>,
    /// Granted permissions, including those the roles bring once expanded.
    pub permissions: PermissionSet,
    /// OAuth2 scopes that are not `resource:permission` pairs (`openid`, `email`).
    pub scopes: BTreeSet<String>,
    /// Custom claims or profile data.
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// How the identity was proved.
    pub method: AuthMethod,
    /// Token identifier (`jti`), when authenticated by a token that has one.
    pub token_id: Option<String>,
    /// Token expiry as seconds since the Unix epoch, when there is one.
    pub expires_at: Option<i64>,
    /// Set when a role configured with [`RoleMap::superuser`] was expanded: every check passes.
    #[serde(default)]
    pub superuser: bool,
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `extra` may hold profile data; keep debug output to its keys.
        f.debug_struct("Principal")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("roles", &self.roles)
            .field("permissions", &self.permissions)
            .field("scopes", &self.scopes)
            .field("extra_keys", &self.extra.keys().collect::<Vec<_>>())
            .field("method", &self.method)
            .field("token_id", &self.token_id)
            .field("expires_at", &self.expires_at)
            .field("superuser", &self.superuser)
            .finish()
    }
}

impl Principal {
    /// A principal with no roles and no permissions.
    pub fn new(id: impl Into<String>, method: AuthMethod) -> Self {
        let id = id.into();
        Self::named(id.clone(), id, method)
    }

    /// A principal whose display name differs from its id, built without a
    /// copy of the id for the name.
    pub(crate) fn named(id: String, name: String, method: AuthMethod) -> Self {
        Self {
            name,
            id,
            roles: BTreeSet::new(),
            permissions: PermissionSet::new(),
            scopes: BTreeSet::new(),
            extra: serde_json::Map::new(),
            method,
            token_id: None,
            expires_at: None,
            superuser: false,
        }
    }

    /// Sets the display name.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Adds a role.
    #[must_use]
    pub fn with_role(mut self, role: impl Into<String>) -> Self {
        self.roles.insert(role.into());
        self
    }

    /// Adds permissions.
    #[must_use]
    pub fn with_permissions(mut self, permissions: PermissionSet) -> Self {
        self.permissions.extend(&permissions);
        self
    }

    /// Whether `permission` on `resource` is granted (always, for a superuser).
    pub fn has(&self, resource: impl Resource, permission: impl Permission) -> bool {
        self.superuser || self.permissions.contains(resource, permission)
    }

    /// Whether the principal holds the role.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.contains(role)
    }

    /// Whether the principal holds the OAuth2 scope.
    ///
    /// A `resource:permission` scope is answered by the permission set (so a
    /// superuser holds every such scope); any other scope must have been
    /// granted as such.
    pub fn has_scope(&self, scope: &str) -> bool {
        match scope.parse::<Scope>() {
            Ok(s) => self.superuser || self.permissions.contains_scope(&s),
            Err(_) => self.scopes.contains(scope),
        }
    }

    /// Whether the principal satisfies a requirement.
    pub fn satisfies(&self, requirement: &Requirement) -> bool {
        match requirement {
            Requirement::Permission(s) => self.superuser || self.permissions.contains_scope(s),
            Requirement::Role(r) => self.has_role(r),
            Requirement::Scope(s) => self.has_scope(s),
            Requirement::Any(items) => items.iter().any(|r| self.satisfies(r)),
            Requirement::All(items) => items.iter().all(|r| self.satisfies(r)),
        }
    }
}

/// A condition on a principal: permissions, roles and scopes combined with any/all.
///
/// ```
/// use auth_core::{AuthMethod, AuthPermission as P, AuthResource as R, Principal, Requirement};
///
/// let rule = Requirement::any([
///     Requirement::role("admin"),
///     Requirement::all([Requirement::permission(R::Users, P::Read), Requirement::scope("openid")]),
/// ]);
/// let user = Principal::new("u", AuthMethod::Jwt).with_role("admin");
/// assert!(user.satisfies(&rule));
/// assert!(!Principal::new("v", AuthMethod::Jwt).satisfies(&rule));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// A resource/permission pair.
    Permission(Scope),
    /// A role.
    Role(String),
    /// An OAuth2 scope (see [`Principal::has_scope`]).
    Scope(String),
    /// At least one of these (none: never satisfied).
    Any(Vec<Requirement>),
    /// Every one of these (none: always satisfied).
    All(Vec<Requirement>),
}

impl Requirement {
    /// A resource/permission pair.
    pub fn permission(resource: impl Resource, permission: impl Permission) -> Self {
        Self::Permission(Scope::new(resource, permission))
    }

    /// A role.
    pub fn role(role: impl Into<String>) -> Self {
        Self::Role(role.into())
    }

    /// A scope.
    pub fn scope(scope: impl Into<String>) -> Self {
        Self::Scope(scope.into())
    }

    /// At least one of these.
    pub fn any(items: impl IntoIterator<Item = Requirement>) -> Self {
        Self::Any(items.into_iter().collect())
    }

    /// Every one of these.
    pub fn all(items: impl IntoIterator<Item = Requirement>) -> Self {
        Self::All(items.into_iter().collect())
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list(f: &mut fmt::Formatter<'_>, op: &str, items: &[Requirement]) -> fmt::Result {
            write!(f, "{op}(")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{item}")?;
            }
            f.write_str(")")
        }
        match self {
            Self::Permission(s) => write!(f, "{s}"),
            Self::Role(r) => write!(f, "role({r})"),
            Self::Scope(s) => write!(f, "scope({s})"),
            Self::Any(items) => list(f, "any", items),
            Self::All(items) => list(f, "all", items),
        }
    }
}

/// Named roles and the permissions each brings.
///
/// ```
/// use auth_core::{AuthMethod, AuthPermission as P, AuthResource as R, PermissionSet, Principal, RoleMap};
///
/// let roles = RoleMap::new()
///     .role("reader", [(R::Conversation, P::Read)].into_iter().collect())
///     .superuser("admin");
/// let mut p = Principal::new("u", AuthMethod::Basic).with_role("reader");
/// roles.expand(&mut p);
/// assert!(p.has(R::Conversation, P::Read));
/// assert!(!p.has(R::Users, P::Delete));
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RoleMap {
    #[serde(default)]
    roles: BTreeMap<String, PermissionSet>,
    #[serde(default)]
    superusers: BTreeSet<String>,
}

impl RoleMap {
    /// No roles.
    pub fn new() -> Self {
        Self::default()
    }

    /// Defines (or extends) a role.
    #[must_use]
    pub fn role(mut self, name: impl Into<String>, permissions: PermissionSet) -> Self {
        self.roles
            .entry(name.into())
            .or_default()
            .extend(&permissions);
        self
    }

    /// Makes a role pass every permission check, as an `admin` role does.
    #[must_use]
    pub fn superuser(mut self, name: impl Into<String>) -> Self {
        self.superusers.insert(name.into());
        self
    }

    /// The permissions a role brings, if it is defined.
    pub fn get(&self, name: &str) -> Option<&PermissionSet> {
        self.roles.get(name)
    }

    /// Whether `name` is a superuser role ([`superuser`](Self::superuser)).
    pub fn is_superuser(&self, name: &str) -> bool {
        self.superusers.contains(name)
    }

    /// Whether no role is defined.
    pub fn is_empty(&self) -> bool {
        self.roles.is_empty() && self.superusers.is_empty()
    }

    /// Adds to the principal the permissions of each of its roles, and marks
    /// it a superuser when one of them is. Unknown roles bring nothing.
    pub fn expand(&self, principal: &mut Principal) {
        for role in &principal.roles {
            if let Some(perms) = self.roles.get(role) {
                principal.permissions.extend(perms);
            }
            if self.superusers.contains(role) {
                principal.superuser = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permission::{AuthPermission as P, AuthResource as R};

    fn user() -> Principal {
        Principal::new("u1", AuthMethod::Jwt).with_permissions(PermissionSet::base())
    }

    #[test]
    fn role_expansion_adds_the_role_permissions() {
        let roles = RoleMap::new().role("moderator", [(R::Users, P::List)].into_iter().collect());
        let mut p = user().with_role("moderator").with_role("unknown");
        assert!(!p.has(R::Users, P::List));
        roles.expand(&mut p);
        assert!(p.has(R::Users, P::List));
        assert!(p.has(R::Conversation, P::Read));
        assert!(!p.has(R::Users, P::Delete));
        assert!(!p.superuser);
    }

    #[test]
    fn superuser_role_passes_every_check_but_not_role_checks() {
        let roles = RoleMap::new().superuser("admin");
        let mut p = Principal::new("root", AuthMethod::Basic).with_role("admin");
        assert!(!p.has(R::Settings, P::Delete));
        roles.expand(&mut p);
        assert!(p.has(R::Settings, P::Delete));
        assert!(p.has_scope("plugins:edit"));
        assert!(!p.has_role("auditor"));
        assert!(!p.has_scope("openid"));
    }

    #[test]
    fn scope_checks_use_permissions_for_pairs_and_raw_scopes_otherwise() {
        let mut p = user();
        p.scopes.insert("openid".into());
        assert!(p.has_scope("conversation:write"));
        assert!(p.has_scope("CONVERSATION:WRITE"));
        assert!(!p.has_scope("users:read"));
        assert!(p.has_scope("openid"));
        assert!(!p.has_scope("email"));
    }

    #[test]
    fn any_and_all_combine() {
        let p = user().with_role("editor");
        let read_users = Requirement::permission(R::Users, P::Read);
        let write_conv = Requirement::permission(R::Conversation, P::Write);
        assert!(p.satisfies(&Requirement::any([read_users.clone(), write_conv.clone()])));
        assert!(!p.satisfies(&Requirement::all([read_users.clone(), write_conv.clone()])));
        assert!(p.satisfies(&Requirement::all([
            Requirement::role("editor"),
            Requirement::any([read_users.clone(), Requirement::scope("status:read")]),
        ])));
        assert!(!p.satisfies(&Requirement::any([])));
        assert!(p.satisfies(&Requirement::all([])));
        assert_eq!(
            Requirement::any([Requirement::role("admin"), write_conv]).to_string(),
            "any(role(admin), conversation:write)"
        );
    }

    #[test]
    fn debug_hides_extra_values() {
        let mut p = user();
        p.extra.insert("email".into(), "alice@example.com".into());
        let dbg = format!("{p:?}");
        assert!(dbg.contains("email"));
        assert!(!dbg.contains("alice@example.com"));
    }
}
