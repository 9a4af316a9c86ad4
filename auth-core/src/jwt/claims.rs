//! A configurable claims mapping for tokens minted by an outside identity
//! provider: where the scopes, permissions, roles and name are found.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::ClaimsMapper;
use crate::error::{AuthError, AuthResult};
use crate::permission::{PermissionSet, Scope};
use crate::principal::{AuthMethod, Principal};

/// Registered claims, never copied to [`Principal::extra`].
const REGISTERED: &[&str] = &["sub", "iss", "aud", "exp", "nbf", "iat", "jti"];

/// Where a claim is found: a dotted path (`scope`, `realm_access.roles`,
/// `resource_access.my-client.roles`) or a JSON pointer (`/https:~1~1example.com~1roles`).
///
/// ```
/// use auth_core::jwt::ClaimPath;
///
/// let path: ClaimPath = "resource_access.chat.roles".parse().unwrap();
/// let claims = serde_json::json!({"resource_access": {"chat": {"roles": ["admin"]}}});
/// assert_eq!(path.find(claims.as_object().unwrap()), Some(&serde_json::json!(["admin"])));
/// assert!("".parse::<ClaimPath>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ClaimPath {
    spelled: String,
    pointer: String,
}

impl ClaimPath {
    /// The JSON pointer this path resolves to.
    pub fn pointer(&self) -> &str {
        &self.pointer
    }

    /// The top-level claim the path starts at.
    pub fn top_level(&self) -> String {
        let first = self.pointer[1..].split('/').next().unwrap_or_default();
        first.replace("~1", "/").replace("~0", "~")
    }

    /// The value at this path in `claims`, when there is one.
    pub fn find<'a>(&self, claims: &'a Map<String, Value>) -> Option<&'a Value> {
        let mut segments = self.pointer[1..].split('/');
        let first = segments.next()?.replace("~1", "/").replace("~0", "~");
        let mut value = claims.get(&first)?;
        let rest: Vec<&str> = segments.collect();
        if !rest.is_empty() {
            value = value.pointer(&format!("/{}", rest.join("/")))?;
        }
        Some(value)
    }
}

impl FromStr for ClaimPath {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let pointer = if s.starts_with('/') {
            s.to_owned()
        } else {
            s.split('.')
                .map(|seg| format!("/{}", seg.replace('~', "~0").replace('/', "~1")))
                .collect()
        };
        if s.is_empty() || pointer.len() < 2 || pointer.split('/').skip(1).any(str::is_empty) {
            return Err(format!(
                "`{s}` is not a claim path: write `scope`, `realm_access.roles` or a JSON pointer such as `/groups`"
            ));
        }
        Ok(Self {
            spelled: s.to_owned(),
            pointer,
        })
    }
}

impl fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spelled)
    }
}

impl fmt::Debug for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClaimPath({:?})", self.spelled)
    }
}

impl Serialize for ClaimPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.spelled)
    }
}

impl<'de> Deserialize<'de> for ClaimPath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

fn paths(names: &[&str]) -> Vec<ClaimPath> {
    names.iter().filter_map(|n| n.parse().ok()).collect()
}

/// The claims mapping of outside tokens: which claims carry permissions,
/// roles and the display name. The principal's id is always `sub`.
///
/// | field | default | items |
/// |---|---|---|
/// | `permissions` | `scope`, `scp`, `permissions` | `resource:permission` items (`conversation:read`) become permissions, so `#[requires]` works unchanged; others become OAuth2 scopes |
/// | `roles` | `roles`, `realm_access.roles` | the provider's role names, translated to local roles through `local_roles` |
/// | `local_roles` | none | which outside role means which local role: `{"chat-admin" = "admin"}` |
/// | `name` | `name`, `preferred_username`, `username` | the first string found |
///
/// A source may hold a space-separated string (`scope`), an array of strings
/// (`scp`, Auth0 `permissions`, Keycloak `realm_access.roles`, `groups`), or,
/// for permissions, this crate's own `{"RESOURCE": ["PERMISSION"]}` object. A
/// source of another shape denies the token; an absent one is skipped. Every
/// claim that is neither registered (`iss`, `exp`...) nor a top-level source
/// goes to [`Principal::extra`].
///
/// Roles are the provider's, not this service's: an outside `admin` is not
/// the local `admin` (a superuser, say). Only the outside roles named in
/// [`local_roles`](Self::local_roles) become roles of the principal, as the
/// local role they are mapped to, and only those are expanded by the
/// pipeline's role map; an unmapped role brings nothing, and its claim is
/// kept in [`Principal::extra`] for code that wants to look at it.
///
/// ```
/// use auth_core::jwt::{ClaimMapping, ClaimsMapper};
/// use auth_core::{AuthPermission as P, AuthResource as R};
///
/// let mapping = ClaimMapping::default()
///     .keycloak_client_roles("chat")
///     .roles_from("groups")
///     .role_as("moderator", "editor")
///     .role_as("staff", "staff");
/// let claims = serde_json::json!({
///     "sub": "u1", "scope": "openid conversation:read",
///     "resource_access": {"chat": {"roles": ["moderator"]}}, "groups": ["staff"],
/// });
/// let p = mapping.map(claims.as_object().unwrap()).unwrap();
/// assert_eq!(p.id, "u1");
/// assert!(p.has(R::Conversation, P::Read));
/// assert!(p.has_scope("openid"));
/// assert!(p.has_role("editor") && p.has_role("staff"));
/// assert!(!p.has_role("moderator"));
///
/// // Unmapped, an outside `admin` is no local role at all.
/// let admin = serde_json::json!({"sub": "u2", "realm_access": {"roles": ["admin"]}});
/// let p = ClaimMapping::default().map(admin.as_object().unwrap()).unwrap();
/// assert!(p.roles.is_empty());
/// assert_eq!(p.extra["realm_access"]["roles"][0], "admin");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaimMapping {
    /// Claims holding scopes or permissions.
    pub permissions: Vec<ClaimPath>,
    /// Claims holding role names.
    pub roles: Vec<ClaimPath>,
    /// Claims holding the display name, first found wins.
    pub name: Vec<ClaimPath>,
    /// Which outside role (a name found in `roles`) means which local role;
    /// outside roles not named here are dropped.
    pub local_roles: BTreeMap<String, String>,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        Self {
            permissions: paths(&["scope", "scp", "permissions"]),
            roles: paths(&["roles", "realm_access.roles"]),
            name: paths(&["name", "preferred_username", "username"]),
            local_roles: BTreeMap::new(),
        }
    }
}

impl ClaimMapping {
    /// A mapping that reads nothing but `sub`; add sources with the builder methods.
    pub fn empty() -> Self {
        Self {
            permissions: Vec::new(),
            roles: Vec::new(),
            name: Vec::new(),
            local_roles: BTreeMap::new(),
        }
    }

    /// Maps the outside role `outside` to the local role `local`: a token
    /// naming `outside` in a role claim gets `local`, with what the
    /// pipeline's role map gives it.
    #[must_use]
    pub fn role_as(mut self, outside: impl Into<String>, local: impl Into<String>) -> Self {
        self.local_roles.insert(outside.into(), local.into());
        self
    }

    /// Also reads scopes or permissions from `path` (dotted or JSON pointer).
    ///
    /// # Panics
    /// When `path` is not a claim path: a programming error, caught by the first test.
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn permissions_from(mut self, path: &str) -> Self {
        self.permissions.push(
            path.parse()
                .expect("a claim path such as `scope` or `/a/b`"),
        );
        self
    }

    /// Also reads role names from `path` (dotted or JSON pointer).
    ///
    /// # Panics
    /// When `path` is not a claim path: a programming error, caught by the first test.
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn roles_from(mut self, path: &str) -> Self {
        self.roles.push(
            path.parse()
                .expect("a claim path such as `roles` or `/a/b`"),
        );
        self
    }

    /// Also reads Keycloak's client roles, `resource_access.<client>.roles`.
    #[must_use]
    pub fn keycloak_client_roles(mut self, client: &str) -> Self {
        self.roles.push(ClaimPath {
            spelled: format!("resource_access.{client}.roles"),
            pointer: format!(
                "/resource_access/{}/roles",
                client.replace('~', "~0").replace('/', "~1")
            ),
        });
        self
    }
}

fn bad(what: &str) -> AuthError {
    tracing::debug!(claim = what, "token claim has the wrong shape");
    AuthError::InvalidCredentials
}

/// Adds one scope item: `resource:permission` to the permissions, anything
/// else to the scopes.
pub(crate) fn insert_scope_item(p: &mut Principal, item: &str) {
    match item.parse::<Scope>() {
        Ok(s) => p.permissions.insert_scope(&s),
        Err(_) => {
            p.scopes.insert(item.to_owned());
        }
    }
}

/// The names in a space-separated string or an array of strings.
fn names<'a>(value: &'a Value, what: &str) -> AuthResult<Vec<&'a str>> {
    match value {
        Value::String(s) => Ok(s.split_ascii_whitespace().collect()),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().ok_or_else(|| bad(what)))
            .collect(),
        _ => Err(bad(what)),
    }
}

impl ClaimsMapper for ClaimMapping {
    fn map(&self, claims: &Map<String, Value>) -> AuthResult<Principal> {
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad("sub"))?;
        let mut p = Principal::new(sub, AuthMethod::Jwt);
        for path in &self.name {
            match path.find(claims) {
                Some(Value::String(name)) => {
                    p.name = name.clone();
                    break;
                }
                Some(Value::Null) | None => {}
                Some(_) => return Err(bad(&path.spelled)),
            }
        }
        for path in &self.permissions {
            match path.find(claims) {
                None | Some(Value::Null) => {}
                Some(obj @ Value::Object(_)) => {
                    let set: PermissionSet =
                        serde_json::from_value(obj.clone()).map_err(|_| bad(&path.spelled))?;
                    p.permissions.extend(&set);
                }
                Some(value) => {
                    for item in names(value, &path.spelled)? {
                        insert_scope_item(&mut p, item);
                    }
                }
            }
        }
        for path in &self.roles {
            match path.find(claims) {
                None | Some(Value::Null) => {}
                Some(value) => {
                    for item in names(value, &path.spelled)? {
                        if let Some(local) = self.local_roles.get(item) {
                            p.roles.insert(local.clone());
                        }
                    }
                }
            }
        }
        p.token_id = claims.get("jti").and_then(Value::as_str).map(str::to_owned);
        p.expires_at = claims.get("exp").and_then(Value::as_i64);
        let consumed: Vec<String> = self
            .permissions
            .iter()
            .chain(&self.name)
            .filter(|p| !p.pointer[1..].contains('/'))
            .map(ClaimPath::top_level)
            .collect();
        p.extra = claims
            .iter()
            .filter(|(k, _)| !REGISTERED.contains(&k.as_str()) && !consumed.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AuthPermission as P, AuthResource as R};

    fn map(m: &ClaimMapping, claims: Value) -> AuthResult<Principal> {
        m.map(claims.as_object().expect("object"))
    }

    #[test]
    fn scp_array_and_auth0_permissions_become_permissions() {
        let p = map(
            &ClaimMapping::default(),
            serde_json::json!({"sub": "a", "scp": ["users:list"], "permissions": ["conversation:write", "read:all-things"]}),
        )
        .expect("mapped");
        assert!(p.has(R::Users, P::List));
        assert!(p.has(R::Conversation, P::Write));
        assert!(!p.has(R::Conversation, P::Read));
    }

    #[test]
    fn outside_roles_become_local_roles_only_through_the_mapping() {
        let claims =
            serde_json::json!({"sub": "a", "realm_access": {"roles": ["admin", "chat-admin"]}});
        let p = map(&ClaimMapping::default(), claims.clone()).expect("mapped");
        assert!(p.roles.is_empty(), "{:?}", p.roles);
        let p = map(
            &ClaimMapping::default().role_as("chat-admin", "admin"),
            claims,
        )
        .expect("mapped");
        assert_eq!(p.roles.iter().collect::<Vec<_>>(), ["admin"]);
    }

    #[test]
    fn json_pointer_reads_a_namespaced_claim() {
        let m = ClaimMapping::empty()
            .roles_from("/https:~1~1example.com~1roles")
            .role_as("ops", "operator");
        let p = map(
            &m,
            serde_json::json!({"sub": "a", "https://example.com/roles": ["ops"]}),
        )
        .expect("mapped");
        assert!(p.has_role("operator"));
        assert!(!p.has_role("ops"));
        // The provider's own words stay readable, apart from the roles.
        assert!(p.extra.contains_key("https://example.com/roles"));
    }

    #[test]
    fn source_of_the_wrong_shape_refuses_the_token() {
        let refused = map(
            &ClaimMapping::default(),
            serde_json::json!({"sub": "a", "roles": 7}),
        );
        assert_eq!(refused.err(), Some(AuthError::InvalidCredentials));
        let refused = map(
            &ClaimMapping::default(),
            serde_json::json!({"sub": "a", "scp": [1]}),
        );
        assert_eq!(refused.err(), Some(AuthError::InvalidCredentials));
    }

    #[test]
    fn missing_sub_refuses_the_token() {
        let refused = map(
            &ClaimMapping::default(),
            serde_json::json!({"scope": "a:b"}),
        );
        assert_eq!(refused.err(), Some(AuthError::InvalidCredentials));
    }

    #[test]
    fn unmapped_claims_go_to_extra_and_registered_ones_do_not() {
        let p = map(
            &ClaimMapping::default(),
            serde_json::json!({"sub": "a", "iss": "x", "tenant": "t1", "scope": "openid"}),
        )
        .expect("mapped");
        assert_eq!(p.extra.get("tenant"), Some(&Value::from("t1")));
        assert!(!p.extra.contains_key("iss") && !p.extra.contains_key("scope"));
    }

    #[test]
    fn mapping_reads_from_toml_with_dotted_paths() {
        let m: ClaimMapping = toml::from_str(
            r#"permissions = ["scope"]
roles = ["resource_access.chat.roles", "/groups"]
local_roles = { "chat-admin" = "admin" }"#,
        )
        .expect("parsed");
        assert_eq!(m.roles[0].pointer(), "/resource_access/chat/roles");
        assert_eq!(m.local_roles["chat-admin"], "admin");
        assert!(m.name.len() == 3);
        assert!(toml::from_str::<ClaimMapping>(r#"roles = ["a..b"]"#).is_err());
    }
}
