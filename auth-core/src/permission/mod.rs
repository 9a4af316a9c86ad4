//! The permission model: resources, permissions, and sets of both.
//!
//! A permission is a pair *(resource, permission)*, such as
//! `CONVERSATION:WRITE`. Resources and permissions are enums that implement
//! [`Resource`] and [`Permission`]; [`AuthResource`] and [`AuthPermission`] are
//! the defaults, modelled on a chat server's, and applications may bring their
//! own. A [`PermissionSet`] stores names, so sets built from different enums
//! mix freely.
//!
//! ```
//! use auth_core::permission::{AuthPermission as P, AuthResource as R, PermissionSet};
//!
//! let base = PermissionSet::base();
//! assert!(base.contains(R::Conversation, P::Write));
//! assert!(!base.contains(R::Users, P::Delete));
//!
//! let scope: auth_core::permission::Scope = "conversation:read".parse().unwrap();
//! assert_eq!(scope.to_string(), "conversation:read");
//! ```

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A kind of thing that can be protected, such as a conversation.
///
/// Implement it for a fieldless enum (a derive comes with `auth-macros`). The
/// name is the canonical upper-case form used in serialized permission sets
/// (`"CONVERSATION"`); scopes use its lower-case form.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an auth resource",
    label = "not a resource",
    note = "implement `auth_core::Resource` for it (a fieldless enum with one variant per resource), or use `auth_core::AuthResource`"
)]
pub trait Resource: Copy + Send + Sync + 'static {
    /// The canonical upper-case name, e.g. `"CONVERSATION"`.
    fn name(&self) -> &'static str;
    /// Every resource of this type, in declaration order.
    fn all() -> &'static [Self];
}

/// Something one may do to a resource, such as read or write.
///
/// Like [`Resource`], named by a canonical upper-case string (`"WRITE"`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an auth permission",
    label = "not a permission",
    note = "implement `auth_core::Permission` for it (a fieldless enum with one variant per permission), or use `auth_core::AuthPermission`"
)]
pub trait Permission: Copy + Send + Sync + 'static {
    /// The canonical upper-case name, e.g. `"WRITE"`.
    fn name(&self) -> &'static str;
    /// Every permission of this type, in declaration order.
    fn all() -> &'static [Self];
}

macro_rules! name_enum {
    ($(#[$meta:meta])* $name:ident : $tr:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $tr for $name {
            fn name(&self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
            fn all() -> &'static [Self] {
                &[$(Self::$variant),+]
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($tr::name(self))
            }
        }

        impl FromStr for $name {
            type Err = PermissionError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <Self as $tr>::all()
                    .iter()
                    .copied()
                    .find(|v| $tr::name(v).eq_ignore_ascii_case(s))
                    .ok_or_else(|| PermissionError::Unknown(s.to_owned()))
            }
        }
    };
}

name_enum! {
    /// The default resources, those of a chat-assistant server.
    AuthResource: Resource {
        /// Server status and health.
        Status => "STATUS",
        /// Long-term memory.
        Memory => "MEMORY",
        /// Conversations and messages.
        Conversation => "CONVERSATION",
        /// Server settings.
        Settings => "SETTINGS",
        /// Language-model configuration.
        Llm => "LLM",
        /// Embedder configuration.
        Embedder => "EMBEDDER",
        /// Authentication-handler configuration.
        AuthHandler => "AUTH_HANDLER",
        /// User management.
        Users => "USERS",
        /// File uploads.
        Upload => "UPLOAD",
        /// Plugins.
        Plugins => "PLUGINS",
        /// Static files.
        Static => "STATIC",
    }
}

name_enum! {
    /// The default permissions.
    AuthPermission: Permission {
        /// Create.
        Write => "WRITE",
        /// Modify.
        Edit => "EDIT",
        /// Enumerate.
        List => "LIST",
        /// Read one.
        Read => "READ",
        /// Remove.
        Delete => "DELETE",
    }
}

/// Errors from parsing permission names and scopes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PermissionError {
    /// A resource or permission name that the enum does not have.
    #[error("unknown resource or permission `{0}`")]
    Unknown(String),
    /// A scope that is not of the form `resource:permission`.
    #[error("`{0}` is not a scope of the form `resource:permission`")]
    BadScope(String),
}

/// Canonical form of a resource or permission name: upper case, with `-` read as `_`.
///
/// Borrows when the name is already canonical, as names in tokens and
/// stores are: building a principal's grants then copies each name once.
fn canonical(name: &str) -> Cow<'_, str> {
    let name = name.trim();
    if name.bytes().all(|b| !b.is_ascii_lowercase() && b != b'-') {
        return Cow::Borrowed(name);
    }
    let mut owned = name.to_ascii_uppercase();
    if owned.contains('-') {
        owned = owned.replace('-', "_");
    }
    Cow::Owned(owned)
}

/// [`canonical`] of an owned name, which is kept as it is when it is
/// already canonical.
fn canonical_owned(name: String) -> String {
    let unchanged = matches!(canonical(&name), Cow::Borrowed(c) if c.len() == name.len());
    if unchanged {
        name
    } else {
        canonical(&name).into_owned()
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// One `resource:permission` pair in its OAuth2-scope form, e.g. `conversation:read`.
///
/// Parsing is case-insensitive and accepts `-` for `_`; printing gives lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    resource: String,
    permission: String,
}

impl Scope {
    /// The scope for a typed pair.
    pub fn new(resource: impl Resource, permission: impl Permission) -> Self {
        Self {
            resource: resource.name().to_owned(),
            permission: permission.name().to_owned(),
        }
    }

    /// The resource's canonical (upper-case) name.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The permission's canonical (upper-case) name.
    pub fn permission(&self) -> &str {
        &self.permission
    }
}

impl FromStr for Scope {
    type Err = PermissionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (r, p) = s
            .split_once(':')
            .ok_or_else(|| PermissionError::BadScope(s.to_owned()))?;
        let (resource, permission) = (canonical(r), canonical(p));
        if !valid_name(&resource) || !valid_name(&permission) {
            return Err(PermissionError::BadScope(s.to_owned()));
        }
        Ok(Self {
            resource: resource.into_owned(),
            permission: permission.into_owned(),
        })
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}",
            self.resource.to_ascii_lowercase(),
            self.permission.to_ascii_lowercase()
        )
    }
}

/// A set of permissions: for each resource, the permissions granted on it.
///
/// Serializes as `{"CONVERSATION": ["READ", "WRITE"], ...}`; names are
/// normalized to upper case when read, so `{"conversation": ["read"]}` is the
/// same set.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(
    from = "BTreeMap<String, BTreeSet<String>>",
    into = "BTreeMap<String, BTreeSet<String>>"
)]
pub struct PermissionSet {
    // Shared until written to: principals copy their grants from a handler's
    // or a role's set on every request, and a copy is then a count increment.
    // `None` is the empty set, so a new principal allocates nothing for it.
    map: Option<Arc<Grants>>,
}

/// Permissions by resource, as canonical names.
type Grants = BTreeMap<String, BTreeSet<String>>;

/// What an empty set reads as.
static NO_GRANTS: Grants = BTreeMap::new();

impl PartialEq for PermissionSet {
    fn eq(&self, other: &Self) -> bool {
        self.map() == other.map()
    }
}

impl Eq for PermissionSet {}

impl fmt::Debug for PermissionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PermissionSet")
            .field("map", self.map())
            .finish()
    }
}

impl From<BTreeMap<String, BTreeSet<String>>> for PermissionSet {
    fn from(raw: BTreeMap<String, BTreeSet<String>>) -> Self {
        let mut set = Self::new();
        for (resource, permissions) in raw {
            set.insert_all_owned(resource, permissions);
        }
        set
    }
}

impl From<PermissionSet> for BTreeMap<String, BTreeSet<String>> {
    fn from(set: PermissionSet) -> Self {
        set.map.map(Arc::unwrap_or_clone).unwrap_or_default()
    }
}

impl PermissionSet {
    /// The grants, read.
    fn map(&self) -> &Grants {
        self.map.as_deref().unwrap_or(&NO_GRANTS)
    }

    /// The grants, to write: copied first if shared, made if none.
    fn map_mut(&mut self) -> &mut Grants {
        Arc::make_mut(self.map.get_or_insert_with(Default::default))
    }

    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The default user's set: `STATUS:READ`, `MEMORY:READ+LIST`, every
    /// permission on `CONVERSATION`, `STATIC:READ`.
    pub fn base() -> Self {
        use AuthPermission as P;
        use AuthResource as R;
        let mut set = Self::new();
        set.insert(R::Status, P::Read);
        set.insert(R::Memory, P::Read);
        set.insert(R::Memory, P::List);
        set.insert_all_of(R::Conversation, AuthPermission::all());
        set.insert(R::Static, P::Read);
        set
    }

    /// Every default permission on every default resource.
    pub fn full() -> Self {
        Self::full_of::<AuthResource, AuthPermission>()
    }

    /// Every permission of `P` on every resource of `R`, for application enums.
    pub fn full_of<R: Resource, P: Permission>() -> Self {
        let mut set = Self::new();
        for r in R::all() {
            set.insert_all_of(*r, P::all());
        }
        set
    }

    /// Grants `permission` on `resource`.
    pub fn insert(&mut self, resource: impl Resource, permission: impl Permission) {
        self.map_mut()
            .entry(resource.name().to_owned())
            .or_default()
            .insert(permission.name().to_owned());
    }

    fn insert_all_of<P: Permission>(&mut self, resource: impl Resource, permissions: &[P]) {
        for p in permissions {
            self.insert(resource, *p);
        }
    }

    /// Grants a permission given by name; names are normalized to upper case.
    ///
    /// Returns `false` (and changes nothing) when a name is empty or has
    /// characters other than letters, digits, `_` and `-`.
    pub fn insert_names(&mut self, resource: &str, permission: &str) -> bool {
        let (r, p) = (canonical(resource), canonical(permission));
        if !valid_name(&r) || !valid_name(&p) {
            return false;
        }
        let map = self.map_mut();
        // Look up by reference first: a name is copied only when it is new.
        let perms = match map.get_mut(r.as_ref()) {
            Some(perms) => perms,
            None => map.entry(r.into_owned()).or_default(),
        };
        if !perms.contains(p.as_ref()) {
            perms.insert(p.into_owned());
        }
        true
    }

    /// Grants every permission of `permissions` on `resource`, names given
    /// as owned strings: a name already canonical is moved into the set,
    /// not copied. Names that are not valid are dropped, as
    /// [`insert_names`](Self::insert_names) drops them.
    pub(crate) fn insert_all_owned(
        &mut self,
        resource: String,
        permissions: impl IntoIterator<Item = String>,
    ) {
        let resource = canonical_owned(resource);
        if !valid_name(&resource) {
            return;
        }
        let mut permissions = permissions
            .into_iter()
            .map(canonical_owned)
            .filter(|p| valid_name(p))
            .peekable();
        if permissions.peek().is_none() {
            return;
        }
        let map = self.map_mut();
        let perms = match map.get_mut(resource.as_str()) {
            Some(perms) => perms,
            None => map.entry(resource).or_default(),
        };
        perms.extend(permissions);
    }

    /// Grants the pair a scope names.
    pub fn insert_scope(&mut self, scope: &Scope) {
        self.map_mut()
            .entry(scope.resource.clone())
            .or_default()
            .insert(scope.permission.clone());
    }

    /// Whether `permission` on `resource` is granted.
    pub fn contains(&self, resource: impl Resource, permission: impl Permission) -> bool {
        self.contains_names(resource.name(), permission.name())
    }

    /// Whether the pair is granted, by canonical (upper-case) names.
    pub fn contains_names(&self, resource: &str, permission: &str) -> bool {
        self.map()
            .get(resource)
            .is_some_and(|perms| perms.contains(permission))
    }

    /// Whether the pair a scope names is granted.
    pub fn contains_scope(&self, scope: &Scope) -> bool {
        self.contains_names(&scope.resource, &scope.permission)
    }

    /// Whether every pair of `other` is granted here.
    pub fn is_superset(&self, other: &PermissionSet) -> bool {
        other.iter().all(|(r, p)| self.contains_names(r, p))
    }

    /// Adds every pair of `other` to this set.
    pub fn extend(&mut self, other: &PermissionSet) {
        let same = match (&self.map, &other.map) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        if same || other.map().is_empty() {
            return;
        }
        if self.map().is_empty() {
            self.map = other.map.clone();
            return;
        }
        let map = self.map_mut();
        for (r, perms) in other.map().iter() {
            map.entry(r.clone())
                .or_default()
                .extend(perms.iter().cloned());
        }
    }

    /// The union of two sets.
    #[must_use]
    pub fn union(&self, other: &PermissionSet) -> PermissionSet {
        let mut out = self.clone();
        out.extend(other);
        out
    }

    /// Whether no permission is granted.
    pub fn is_empty(&self) -> bool {
        self.map().values().all(BTreeSet::is_empty)
    }

    /// Every granted pair, as canonical names, in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map()
            .iter()
            .flat_map(|(r, ps)| ps.iter().map(move |p| (r.as_str(), p.as_str())))
    }

    /// Every granted pair as a scope.
    pub fn scopes(&self) -> impl Iterator<Item = Scope> + '_ {
        self.iter().map(|(r, p)| Scope {
            resource: r.to_owned(),
            permission: p.to_owned(),
        })
    }

    /// The set as a space-separated OAuth2 scope string, e.g. `"conversation:read status:read"`.
    pub fn to_scope_string(&self) -> String {
        self.scopes()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Parses a space-separated scope string; every item must be a `resource:permission` pair.
    pub fn from_scope_string(scopes: &str) -> Result<Self, PermissionError> {
        let mut set = Self::new();
        for item in scopes.split_ascii_whitespace() {
            set.insert_scope(&item.parse()?);
        }
        Ok(set)
    }
}

impl<R: Resource, P: Permission> FromIterator<(R, P)> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = (R, P)>>(iter: I) -> Self {
        let mut set = Self::new();
        for (r, p) in iter {
            set.insert(r, p);
        }
        set
    }
}

#[cfg(test)]
mod tests;
