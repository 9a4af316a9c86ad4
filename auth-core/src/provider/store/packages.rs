//! The JSON packages [`StoreProvider`](super::StoreProvider) takes: logging
//! in, creating, registering and updating users. Each refuses unknown fields,
//! and each `Debug` redacts the passwords it carries.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::permission::PermissionSet;

/// Redacts a password field in a package's `Debug`.
fn redacted(p: &Option<String>) -> Option<&'static str> {
    p.as_ref().map(|_| "[REDACTED]")
}

/// The login package: `{"username": "...", "password": "..."}`.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginPackage {
    /// The login name.
    pub username: String,
    /// The password.
    #[schemars(extend("format" = "password", "writeOnly" = true))]
    pub password: String,
}

impl std::fmt::Debug for LoginPackage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginPackage")
            .field("username", &self.username)
            .field("password", &"[REDACTED]")
            .finish()
    }
}

/// What an administrator sends to create a user.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserPackage {
    /// The login name; a taken one is a conflict (409).
    pub username: String,
    /// The password.
    #[schemars(extend("format" = "password", "writeOnly" = true))]
    pub password: String,
    /// Role names (default: none).
    #[serde(default)]
    pub roles: Option<BTreeSet<String>>,
    /// Permissions granted directly, `{"RESOURCE": ["PERMISSION", ...]}`
    /// (default: the provider's default permissions, the base set).
    #[serde(default)]
    #[schemars(with = "Option<BTreeMap<String, BTreeSet<String>>>")]
    pub permissions: Option<PermissionSet>,
    /// Whether the user may log in (default: yes).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Profile data.
    #[serde(default)]
    pub extra: Option<Map<String, Value>>,
}

impl std::fmt::Debug for CreateUserPackage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateUserPackage")
            .field("username", &self.username)
            .field("password", &"[REDACTED]")
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

/// What a visitor sends to register: a username and a password, nothing
/// else (roles and permissions are the provider's defaults).
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterPackage {
    /// The login name; a taken one is a conflict (409).
    pub username: String,
    /// The password.
    #[schemars(extend("format" = "password", "writeOnly" = true))]
    pub password: String,
}

impl std::fmt::Debug for RegisterPackage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterPackage")
            .field("username", &self.username)
            .field("password", &"[REDACTED]")
            .finish()
    }
}

/// What an administrator sends to change a user: each field given replaces
/// the stored value.
#[derive(Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserPackage {
    /// A new login name.
    #[serde(default)]
    pub username: Option<String>,
    /// A new password.
    #[serde(default)]
    #[schemars(extend("format" = "password", "writeOnly" = true))]
    pub password: Option<String>,
    /// The new role set.
    #[serde(default)]
    pub roles: Option<BTreeSet<String>>,
    /// The new permission set.
    #[serde(default)]
    #[schemars(with = "Option<BTreeMap<String, BTreeSet<String>>>")]
    pub permissions: Option<PermissionSet>,
    /// Enables or disables the user.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// The new profile data.
    #[serde(default)]
    pub extra: Option<Map<String, Value>>,
}

impl std::fmt::Debug for UpdateUserPackage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateUserPackage")
            .field("username", &self.username)
            .field("password", &redacted(&self.password))
            .field("roles", &self.roles)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// What a user sends to change themselves: a new password (with the
/// current one), profile data, or both.
#[derive(Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SelfUpdatePackage {
    /// The current password; required to set a new one.
    #[serde(default)]
    #[schemars(extend("format" = "password", "writeOnly" = true))]
    pub current_password: Option<String>,
    /// The new password.
    #[serde(default)]
    #[schemars(extend("format" = "password", "writeOnly" = true))]
    pub password: Option<String>,
    /// The new profile data.
    #[serde(default)]
    pub extra: Option<Map<String, Value>>,
}

impl std::fmt::Debug for SelfUpdatePackage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelfUpdatePackage")
            .field("current_password", &redacted(&self.current_password))
            .field("password", &redacted(&self.password))
            .finish_non_exhaustive()
    }
}
