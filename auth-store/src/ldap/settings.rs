//! [`LdapSettings`]: the `[provider]` section of `kind = "ldap"`, with the
//! defaults of every field.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Deserialize;

/// The `[provider]` section of `kind = "ldap"`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapSettings {
    /// `ldap://host:port` or `ldaps://host:port`.
    pub url: String,
    /// Upgrades an `ldap://` connection with StartTLS (default `false`).
    #[serde(default)]
    pub starttls: bool,
    /// A PEM file of the CAs to trust (default: the system's).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Whether to verify the server's certificate (default `true`).
    #[serde(default = "yes")]
    pub tls_verify: bool,
    /// The DN template to bind as, with `{username}`.
    #[serde(default)]
    pub user_dn: Option<String>,
    /// Where to search for users (search-then-bind, and listing).
    #[serde(default)]
    pub user_base: Option<String>,
    /// The filter finding a user, with `{username}` (default `(uid={username})`).
    #[serde(default = "default_user_filter")]
    pub user_filter: String,
    /// The attribute holding the username (default `uid`).
    #[serde(default = "default_username_attribute")]
    pub username_attribute: String,
    /// The service account's DN, for searches.
    #[serde(default)]
    pub bind_dn: Option<String>,
    /// The variable holding the service account's password.
    #[serde(default)]
    pub bind_password_env: Option<String>,
    /// An attribute of the user's entry listing their groups' DNs (e.g. `memberOf`).
    #[serde(default)]
    pub group_attribute: Option<String>,
    /// Where to search for the user's groups.
    #[serde(default)]
    pub group_base: Option<String>,
    /// The filter finding a user's groups, with `{dn}` and `{username}`
    /// (default `(member={dn})`).
    #[serde(default = "default_group_filter")]
    pub group_filter: String,
    /// Group (DN or `cn`) to role names.
    #[serde(default)]
    pub roles: BTreeMap<String, BTreeSet<String>>,
    /// Refuses users in no mapped group (default `false`: they log in with no role).
    #[serde(default)]
    pub require_role: bool,
    /// Seconds to wait for the server (default 10).
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn yes() -> bool {
    true
}
fn default_user_filter() -> String {
    "(uid={username})".into()
}
fn default_username_attribute() -> String {
    "uid".into()
}
fn default_group_filter() -> String {
    "(member={dn})".into()
}
fn default_timeout() -> u64 {
    10
}

impl LdapSettings {
    /// Settings for `url` binding with the DN template `user_dn`, and
    /// every other field at its default.
    pub fn bind_as_user(url: impl Into<String>, user_dn: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            starttls: false,
            ca_file: None,
            tls_verify: true,
            user_dn: Some(user_dn.into()),
            user_base: None,
            user_filter: default_user_filter(),
            username_attribute: default_username_attribute(),
            bind_dn: None,
            bind_password_env: None,
            group_attribute: None,
            group_base: None,
            group_filter: default_group_filter(),
            roles: BTreeMap::new(),
            require_role: false,
            timeout_secs: default_timeout(),
        }
    }
}

impl std::fmt::Debug for LdapSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapSettings")
            .field("url", &self.url)
            .field("starttls", &self.starttls)
            .field("tls_verify", &self.tls_verify)
            .field("user_dn", &self.user_dn)
            .field("user_base", &self.user_base)
            .field("bind_dn", &self.bind_dn)
            .field("group_base", &self.group_base)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}
