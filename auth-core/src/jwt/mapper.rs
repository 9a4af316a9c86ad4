//! Claims to principal: the [`ClaimsMapper`] trait and the default mapping.

use serde_json::{Map, Value};

use crate::error::{AuthError, AuthResult};
use crate::permission::Scope;
use crate::principal::{AuthMethod, Principal};

/// Turns validated claims into a [`Principal`].
pub trait ClaimsMapper: Send + Sync + 'static {
    /// Maps claims; an `Err` denies the request.
    fn map(&self, claims: &Map<String, Value>) -> AuthResult<Principal>;
}

impl<F> ClaimsMapper for F
where
    F: Fn(&Map<String, Value>) -> AuthResult<Principal> + Send + Sync + 'static,
{
    fn map(&self, claims: &Map<String, Value>) -> AuthResult<Principal> {
        self(claims)
    }
}

/// Claims the default mapper reads; the rest go to [`Principal::extra`].
const MAPPED_CLAIMS: &[&str] = &[
    "sub",
    "name",
    "username",
    "permissions",
    "roles",
    "scope",
    "iss",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
];

/// The default claims mapping.
///
/// | claim | principal |
/// |---|---|
/// | `sub` (required string) | `id` |
/// | `name`, else `username` | `name` |
/// | `permissions`: `{"CONVERSATION": ["READ"]}` or `["conversation:read"]` | `permissions` |
/// | `roles`: array of strings | `roles` |
/// | `scope`: space-separated; `res:perm` items add permissions, others go to `scopes` | `permissions`, `scopes` |
/// | `jti`, `exp` | `token_id`, `expires_at` |
/// | every other claim | `extra` |
///
/// A claim of the wrong shape denies the token rather than being skipped.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultClaimsMapper;

impl ClaimsMapper for DefaultClaimsMapper {
    fn map(&self, claims: &Map<String, Value>) -> AuthResult<Principal> {
        Self::map_owned(claims.clone())
    }
}

impl DefaultClaimsMapper {
    /// The mapping, moving names and values out of the claims rather than
    /// copying them: the handler's path when it owns the claims of a token
    /// it has just verified.
    pub fn map_owned(mut claims: Map<String, Value>) -> AuthResult<Principal> {
        let bad = |what: &str| {
            tracing::debug!(claim = what, "token claim has the wrong shape");
            AuthError::InvalidCredentials
        };
        let sub = match claims.remove("sub") {
            Some(Value::String(sub)) if !sub.is_empty() => sub,
            _ => return Err(bad("sub")),
        };
        let name = match claims.remove("name") {
            None => claims.remove("username"),
            name => {
                claims.remove("username");
                name
            }
        };
        let mut p = match name {
            None => Principal::new(sub, AuthMethod::Jwt),
            Some(Value::String(name)) => Principal::named(sub, name, AuthMethod::Jwt),
            Some(_) => return Err(bad("name")),
        };
        match claims.remove("permissions") {
            None => {}
            Some(Value::Object(obj)) => {
                for (resource, perms) in obj {
                    let Value::Array(perms) = perms else {
                        return Err(bad("permissions"));
                    };
                    if !perms.iter().all(Value::is_string) {
                        return Err(bad("permissions"));
                    }
                    // As deserializing a `PermissionSet` does, names that
                    // are not valid are dropped.
                    p.permissions.insert_all_owned(
                        resource,
                        perms.into_iter().filter_map(|perm| match perm {
                            Value::String(perm) => Some(perm),
                            _ => None,
                        }),
                    );
                }
            }
            Some(Value::Array(items)) => {
                for item in items {
                    let scope: Scope = item
                        .as_str()
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| bad("permissions"))?;
                    p.permissions.insert_scope(&scope);
                }
            }
            Some(_) => return Err(bad("permissions")),
        }
        match claims.remove("roles") {
            None => {}
            Some(Value::Array(items)) => {
                for item in items {
                    let Value::String(role) = item else {
                        return Err(bad("roles"));
                    };
                    p.roles.insert(role);
                }
            }
            Some(_) => return Err(bad("roles")),
        }
        match claims.remove("scope") {
            None => {}
            Some(Value::String(scopes)) => {
                for item in scopes.split_ascii_whitespace() {
                    super::claims::insert_scope_item(&mut p, item);
                }
            }
            Some(_) => return Err(bad("scope")),
        }
        p.token_id = match claims.remove("jti") {
            Some(Value::String(jti)) => Some(jti),
            _ => None,
        };
        p.expires_at = claims.get("exp").and_then(Value::as_i64);
        claims.retain(|k, _| !MAPPED_CLAIMS.contains(&k.as_str()));
        p.extra = claims;
        Ok(p)
    }
}
