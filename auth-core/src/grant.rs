//! Who may hand out which power: the one rule every route that grants roles,
//! permissions or tokens applies ([`RoleMap::check_grant`]).
//!
//! - A permission may be granted only by a caller who holds it.
//! - A role may be granted only by a caller who holds every permission the
//!   role expands to; a superuser role only by a superuser; a role the
//!   [`RoleMap`] does not define (it brings no permissions, but a route may
//!   still require it by name) only by a caller who holds it.
//! - Acting on an existing user (changing, enabling, disabling, deleting,
//!   taking roles away, minting their tokens) needs the same: the caller
//!   must be able to grant everything the user holds, so nobody manages a
//!   user more powerful than themselves.
//! - Nobody changes their own roles or permissions, a superuser included.
//!
//! ```
//! use auth_core::grant::{Grant, GrantRefusal};
//! use auth_core::{AuthMethod, AuthPermission as P, AuthResource as R, PermissionSet, Principal, RoleMap};
//!
//! let roles = RoleMap::new()
//!     .role("moderator", [(R::Users, P::List)].into_iter().collect())
//!     .superuser("admin");
//! let mut clerk = Principal::new("clerk", AuthMethod::Jwt)
//!     .with_permissions([(R::Users, P::Write)].into_iter().collect());
//! roles.expand(&mut clerk);
//!
//! let admin = ["admin".to_owned()].into();
//! assert_eq!(
//!     roles.check_grant(&clerk, None, &Grant::roles(&admin)),
//!     Err(GrantRefusal::SuperuserRole("admin".into()))
//! );
//! let moderator = ["moderator".to_owned()].into();
//! assert!(roles.check_grant(&clerk, None, &Grant::roles(&moderator)).is_err());
//! let writer: PermissionSet = [(R::Users, P::Write)].into_iter().collect();
//! assert!(roles.check_grant(&clerk, None, &Grant::permissions(&writer)).is_ok());
//! ```

use std::collections::BTreeSet;

use crate::permission::PermissionSet;
use crate::principal::{Principal, RoleMap};

/// What a request hands out: roles, permissions, or both (`None`: that part
/// is not changed).
#[derive(Debug, Clone, Copy, Default)]
pub struct Grant<'a> {
    /// Roles given (a new role set, roles added, or roles taken away).
    pub roles: Option<&'a BTreeSet<String>>,
    /// Permissions given (a new permission set).
    pub permissions: Option<&'a PermissionSet>,
}

impl<'a> Grant<'a> {
    /// Hands out these roles.
    pub fn roles(roles: &'a BTreeSet<String>) -> Self {
        Self {
            roles: Some(roles),
            permissions: None,
        }
    }

    /// Hands out these permissions.
    pub fn permissions(permissions: &'a PermissionSet) -> Self {
        Self {
            roles: None,
            permissions: Some(permissions),
        }
    }

    /// Whether the grant changes roles or permissions at all.
    pub fn changes_power(&self) -> bool {
        self.roles.is_some() || self.permissions.is_some()
    }
}

/// Why [`RoleMap::check_grant`] refused; the `Display` text is fit for the
/// caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantRefusal {
    /// The caller tried to change its own roles or permissions.
    #[error("you may not change your own roles or permissions")]
    OwnPower,
    /// A superuser role, asked for by someone who is not a superuser.
    #[error("roles: only a superuser may grant the superuser role `{0}`")]
    SuperuserRole(String),
    /// A role that brings permissions the caller lacks, or an undefined
    /// role the caller does not hold.
    #[error("roles: you may grant `{0}` only when you hold every permission it brings")]
    Role(String),
    /// Permissions the caller lacks.
    #[error("permissions: you may grant only permissions you hold")]
    Permissions,
    /// The user acted on holds roles or permissions the caller could not grant.
    #[error(
        "user `{0}` holds roles or permissions you lack: you may manage only users you could create"
    )]
    Target(String),
}

impl RoleMap {
    /// Whether `caller` may hand out `grant` to `target` (`None`: a user
    /// being created), by the rule of the [module docs](crate::grant).
    ///
    /// `target` is the user as it stands now, with its roles and its
    /// directly granted permissions (roles not yet expanded).
    pub fn check_grant(
        &self,
        caller: &Principal,
        target: Option<&Principal>,
        grant: &Grant<'_>,
    ) -> Result<(), GrantRefusal> {
        if let Some(target) = target {
            if target.id == caller.id && grant.changes_power() {
                return Err(GrantRefusal::OwnPower);
            }
            self.holds(caller, &target.roles, Some(&target.permissions))
                .map_err(|_| GrantRefusal::Target(target.id.clone()))?;
        }
        let no_roles = BTreeSet::new();
        self.holds(caller, grant.roles.unwrap_or(&no_roles), grant.permissions)
    }

    /// Whether `caller` holds the power of `roles` and `permissions`.
    fn holds(
        &self,
        caller: &Principal,
        roles: &BTreeSet<String>,
        permissions: Option<&PermissionSet>,
    ) -> Result<(), GrantRefusal> {
        if caller.superuser {
            return Ok(());
        }
        for role in roles {
            if self.is_superuser(role) {
                return Err(GrantRefusal::SuperuserRole(role.clone()));
            }
            let granted = match self.get(role) {
                Some(brings) => caller.permissions.is_superset(brings),
                None => caller.has_role(role),
            };
            if !granted {
                return Err(GrantRefusal::Role(role.clone()));
            }
        }
        match permissions {
            Some(p) if !caller.permissions.is_superset(p) => Err(GrantRefusal::Permissions),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permission::{AuthPermission as P, AuthResource as R};
    use crate::principal::AuthMethod;

    fn roles() -> RoleMap {
        RoleMap::new()
            .role("lister", [(R::Users, P::List)].into_iter().collect())
            .role("chatter", PermissionSet::base())
            .superuser("admin")
    }

    fn caller(id: &str, permissions: PermissionSet, role_names: &[&str]) -> Principal {
        let mut p = Principal::new(id, AuthMethod::Jwt).with_permissions(permissions);
        for r in role_names {
            p.roles.insert((*r).to_owned());
        }
        roles().expand(&mut p);
        p
    }

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn a_superuser_role_is_granted_only_by_a_superuser() {
        let clerk = caller("c", PermissionSet::full(), &[]);
        let admin = set(&["admin"]);
        assert_eq!(
            roles().check_grant(&clerk, None, &Grant::roles(&admin)),
            Err(GrantRefusal::SuperuserRole("admin".into()))
        );
        let root = caller("r", PermissionSet::new(), &["admin"]);
        assert!(
            roles()
                .check_grant(&root, None, &Grant::roles(&admin))
                .is_ok()
        );
    }

    #[test]
    fn a_role_is_granted_only_by_a_holder_of_all_it_brings() {
        let chatter = caller("c", PermissionSet::base(), &[]);
        let lister = set(&["lister"]);
        assert_eq!(
            roles().check_grant(&chatter, None, &Grant::roles(&lister)),
            Err(GrantRefusal::Role("lister".into()))
        );
        let both = set(&["chatter"]);
        assert!(
            roles()
                .check_grant(&chatter, None, &Grant::roles(&both))
                .is_ok()
        );
    }

    #[test]
    fn an_undefined_role_is_granted_only_by_its_holders() {
        let plain = caller("p", PermissionSet::full(), &[]);
        let editor = set(&["editor"]);
        assert!(
            roles()
                .check_grant(&plain, None, &Grant::roles(&editor))
                .is_err()
        );
        let holder = caller("h", PermissionSet::new(), &["editor"]);
        assert!(
            roles()
                .check_grant(&holder, None, &Grant::roles(&editor))
                .is_ok()
        );
    }

    #[test]
    fn permissions_are_granted_only_by_their_holders() {
        let clerk = caller("c", [(R::Users, P::Write)].into_iter().collect(), &[]);
        let more: PermissionSet = [(R::Users, P::Write), (R::Users, P::Delete)]
            .into_iter()
            .collect();
        assert_eq!(
            roles().check_grant(&clerk, None, &Grant::permissions(&more)),
            Err(GrantRefusal::Permissions)
        );
    }

    #[test]
    fn nobody_changes_their_own_power_not_even_a_superuser() {
        let root = caller("r", PermissionSet::new(), &["admin"]);
        let none = set(&[]);
        assert_eq!(
            roles().check_grant(&root, Some(&root), &Grant::roles(&none)),
            Err(GrantRefusal::OwnPower)
        );
        // Acting on oneself without touching power (a password) is allowed.
        assert!(
            roles()
                .check_grant(&root, Some(&root), &Grant::default())
                .is_ok()
        );
    }

    #[test]
    fn a_user_more_powerful_than_the_caller_is_out_of_reach() {
        let manager = caller("m", PermissionSet::full(), &[]);
        let boss = caller("b", PermissionSet::new(), &["admin"]);
        assert_eq!(
            roles().check_grant(&manager, Some(&boss), &Grant::default()),
            Err(GrantRefusal::Target("b".into()))
        );
        let peer = caller("p", PermissionSet::base(), &["lister"]);
        assert!(
            roles()
                .check_grant(&manager, Some(&peer), &Grant::default())
                .is_ok()
        );
    }
}
