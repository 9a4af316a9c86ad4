//! Choosing the identity provider in the settings file: a `[provider]`
//! section tagged by `kind`, so switching provider is a configuration change.
//!
//! ```toml
//! [provider]
//! kind = "store"              # the built-in provider over the user store
//! self_register = false       # POST /register answers 501 while false
//! admin_password_env = "AUTH_ADMIN_PASSWORD"
//! ```
//!
//! ```toml
//! [provider]
//! kind = "ldap"               # needs auth-store's `ldap` feature
//! url = "ldaps://ldap.example.org"
//! user_dn = "uid={username},ou=people,dc=example,dc=org"
//! group_base = "ou=groups,dc=example,dc=org"
//! roles = { admins = ["admin"], staff = ["reader"] }
//! ```
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use auth_core::password::PasswordHasher;
//! use auth_store::{ProviderContext, ProviderSettings};
//! use auth_core::MemoryUserStore;
//!
//! #[derive(serde::Deserialize)]
//! struct File { provider: ProviderSettings }
//!
//! let file: File = toml::from_str("[provider]\nkind = \"store\"\nseed_admin = false\n").unwrap();
//! let hasher = PasswordHasher::fast_insecure_for_tests();
//! let cx = ProviderContext::new(hasher.clone()).store(Arc::new(MemoryUserStore::new(hasher)));
//! let provider = file.provider.build(&cx).await?;
//! assert_eq!(provider.name(), "store");
//! # Ok::<_, auth_core::store::ManageError>(())
//! # }).unwrap();
//! ```

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Deserialize;

use auth_core::password::PasswordHasher;
use auth_core::provider::DynProvider;
use auth_core::provider::store::{DEFAULT_MIN_PASSWORD_LENGTH, StoreProvider};
use auth_core::store::{ManageError, ManageResult, UserAdmin};
use auth_core::tokens::TokenService;

/// The default variable the seeded administrator's password is read from.
pub const DEFAULT_ADMIN_PASSWORD_ENV: &str = "AUTH_ADMIN_PASSWORD";

/// Which identity provider to build, and its settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ProviderSettings {
    /// The built-in [`StoreProvider`] over the user store.
    Store(StoreProviderSettings),
    /// The LDAP provider ([`LdapProvider`](crate::ldap::LdapProvider)).
    #[cfg(feature = "ldap")]
    Ldap(Box<crate::ldap::LdapSettings>),
    /// The LDAP provider, which this build lacks (auth-store's `ldap`
    /// feature is off): building it fails with a message saying so.
    #[cfg(not(feature = "ldap"))]
    Ldap(serde::de::IgnoredAny),
}

impl Default for ProviderSettings {
    fn default() -> Self {
        Self::Store(StoreProviderSettings::default())
    }
}

/// The settings of the built-in provider.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreProviderSettings {
    /// Whether visitors may register themselves (default `false`).
    pub self_register: bool,
    /// The roles of self-registered users (default none).
    pub register_roles: BTreeSet<String>,
    /// The shortest password accepted (default 8).
    pub min_password_length: usize,
    /// Whether to create `admin` at first start (default `true`).
    pub seed_admin: bool,
    /// The variable holding the seeded administrator's password (default
    /// `AUTH_ADMIN_PASSWORD`); unset, a password is generated and printed once.
    pub admin_password_env: String,
}

impl Default for StoreProviderSettings {
    fn default() -> Self {
        Self {
            self_register: false,
            register_roles: BTreeSet::new(),
            min_password_length: DEFAULT_MIN_PASSWORD_LENGTH,
            seed_admin: true,
            admin_password_env: DEFAULT_ADMIN_PASSWORD_ENV.to_owned(),
        }
    }
}

/// What building a provider may need besides its settings.
#[derive(Clone)]
pub struct ProviderContext {
    store: Option<Arc<dyn UserAdmin>>,
    hasher: PasswordHasher,
    sessions: Option<Arc<TokenService>>,
}

impl std::fmt::Debug for ProviderContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderContext")
            .field("store", &self.store.is_some())
            .field("hasher", &self.hasher)
            .field("sessions", &self.sessions.is_some())
            .finish()
    }
}

impl ProviderContext {
    /// A context hashing passwords with `hasher`, with no store nor sessions.
    pub fn new(hasher: PasswordHasher) -> Self {
        Self {
            store: None,
            hasher,
            sessions: None,
        }
    }

    /// The user store the `store` provider manages.
    #[must_use]
    pub fn store(mut self, store: Arc<dyn UserAdmin>) -> Self {
        self.store = Some(store);
        self
    }

    /// The token service whose sessions end when a user is disabled.
    #[must_use]
    pub fn sessions(mut self, tokens: Arc<TokenService>) -> Self {
        self.sessions = Some(tokens);
        self
    }
}

impl ProviderSettings {
    /// Builds the provider. The `store` provider seeds its administrator
    /// here (see [`StoreProvider::seed_admin`]) unless told not to, and
    /// needs a store in `cx`; the `ldap` provider checks its settings.
    pub async fn build(&self, cx: &ProviderContext) -> ManageResult<Arc<dyn DynProvider>> {
        match self {
            Self::Store(s) => {
                let store = cx.store.clone().ok_or_else(|| {
                    ManageError::Misconfigured(
                        "the `store` provider needs a user store: give one to the provider \
                         context"
                            .into(),
                    )
                })?;
                let mut provider = StoreProvider::new(store, cx.hasher.clone())
                    .with_self_registration(s.self_register, s.register_roles.iter().cloned())
                    .with_min_password_length(s.min_password_length);
                if let Some(tokens) = &cx.sessions {
                    provider = provider.with_sessions(tokens.clone());
                }
                if s.seed_admin {
                    provider.seed_admin(&s.admin_password_env).await?;
                }
                Ok(Arc::new(provider))
            }
            #[cfg(feature = "ldap")]
            Self::Ldap(s) => {
                let mut provider = crate::ldap::LdapProvider::new((**s).clone())?;
                if let Some(tokens) = &cx.sessions {
                    provider = provider.with_sessions(tokens.clone());
                }
                Ok(Arc::new(provider))
            }
            #[cfg(not(feature = "ldap"))]
            Self::Ldap(_) => Err(ManageError::Misconfigured(
                "the `ldap` provider needs auth-store built with its `ldap` feature".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::MemoryUserStore;

    #[derive(Debug, Deserialize)]
    struct File {
        provider: ProviderSettings,
    }

    fn parse(text: &str) -> Result<ProviderSettings, toml::de::Error> {
        toml::from_str::<File>(text).map(|f| f.provider)
    }

    #[test]
    fn store_section_reads_with_defaults() {
        let settings = parse("[provider]\nkind = \"store\"\nself_register = true\n").expect("ok");
        let ProviderSettings::Store(s) = settings else {
            panic!("store expected");
        };
        assert!(s.self_register && s.seed_admin);
        assert_eq!(s.admin_password_env, DEFAULT_ADMIN_PASSWORD_ENV);
    }

    #[test]
    fn unknown_kinds_and_fields_are_refused() {
        assert!(parse("[provider]\nkind = \"kerberos\"\n").is_err());
        assert!(parse("[provider]\nkind = \"store\"\nself_registr = true\n").is_err());
        assert!(parse("[provider]\nself_register = true\n").is_err());
    }

    #[tokio::test]
    async fn store_provider_needs_a_store() {
        let cx = ProviderContext::new(PasswordHasher::fast_insecure_for_tests());
        let err = ProviderSettings::default()
            .build(&cx)
            .await
            .err()
            .expect("refused");
        assert_eq!(err.status(), 500);
    }

    #[tokio::test]
    async fn store_provider_built_from_settings_follows_them() {
        let hasher = PasswordHasher::fast_insecure_for_tests();
        let store = Arc::new(MemoryUserStore::new(hasher.clone()));
        let cx = ProviderContext::new(hasher).store(store.clone());
        let settings = parse(
            "[provider]\nkind = \"store\"\nself_register = true\nseed_admin = false\n\
             min_password_length = 12\n",
        )
        .expect("ok");
        let provider = settings.build(&cx).await.expect("built");
        let short = serde_json::json!({"username": "eve", "password": "elevenchars"});
        assert_eq!(
            provider
                .client_self_register(short)
                .await
                .expect_err("short")
                .status(),
            400
        );
        let ok = serde_json::json!({"username": "eve", "password": "twelve chars"});
        assert!(provider.client_self_register(ok).await.is_ok());
        assert_eq!(store.count_users().await, Ok(1), "no admin seeded");
    }

    #[cfg(not(feature = "ldap"))]
    #[tokio::test]
    async fn ldap_without_the_feature_says_which_feature() {
        let settings = parse("[provider]\nkind = \"ldap\"\nurl = \"ldap://x\"\n").expect("reads");
        let cx = ProviderContext::new(PasswordHasher::fast_insecure_for_tests());
        let err = settings.build(&cx).await.err().expect("refused");
        assert!(err.to_string().contains("`ldap` feature"), "{err}");
    }
}
