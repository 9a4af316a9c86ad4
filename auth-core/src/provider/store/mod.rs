//! [`StoreProvider`]: the built-in identity provider, on top of any
//! [`UserAdmin`] store, with argon2id passwords and a seeded administrator.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use auth_core::provider::dynamic::DynProvider;
//! use auth_core::password::PasswordHasher;
//! use auth_core::provider::store::{AdminSeed, StoreProvider};
//! use auth_core::MemoryUserStore;
//!
//! let hasher = PasswordHasher::fast_insecure_for_tests();
//! let provider = StoreProvider::new(Arc::new(MemoryUserStore::new(hasher.clone())), hasher);
//! // First start: `admin` is created with the password given (from the
//! // environment in `seed_admin`).
//! let seed = provider.seed_admin_with("AUTH_ADMIN_PASSWORD", Some("a long admin password".into())).await?;
//! assert!(matches!(seed, AdminSeed::FromEnvironment { .. }));
//! let admin = provider
//!     .authenticate(serde_json::json!({"username": "admin", "password": "a long admin password"}))
//!     .await?;
//! assert!(admin.roles.contains("admin"));
//! // Never again once users exist.
//! assert!(matches!(provider.seed_admin_with("AUTH_ADMIN_PASSWORD", None).await?, AdminSeed::Existing));
//! # Ok::<_, auth_core::store::ManageError>(())
//! # }).unwrap();
//! ```

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use crate::password::PasswordHasher;
use crate::permission::PermissionSet;
use crate::provider::{AuthProvider, ClientData};
use crate::store::{ManageError, ManageResult, NewUser, Page, UserAdmin, UserFilter, UserUpdate};
use crate::store::{UserRecord, UserStore};
use crate::tokens::TokenService;

mod packages;

pub use packages::{
    CreateUserPackage, LoginPackage, RegisterPackage, SelfUpdatePackage, UpdateUserPackage,
};

/// The username of the seeded administrator.
pub const ADMIN_USERNAME: &str = "admin";
/// The role of the seeded administrator.
pub const ADMIN_ROLE: &str = "admin";
/// The default shortest password accepted, in characters.
pub const DEFAULT_MIN_PASSWORD_LENGTH: usize = 8;
/// The longest password accepted, in bytes: longer ones only cost hashing time.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// The longest username accepted, in characters.
pub const MAX_USERNAME_CHARS: usize = 128;

/// What [`StoreProvider::seed_admin`] did.
#[derive(Clone)]
pub enum AdminSeed {
    /// Users existed already: nothing was created.
    Existing,
    /// `admin` was created with the password from the environment variable.
    FromEnvironment {
        /// The administrator's id.
        id: String,
    },
    /// `admin` was created with a generated password.
    Generated {
        /// The administrator's id.
        id: String,
        /// The generated password.
        password: SecretString,
    },
}

impl std::fmt::Debug for AdminSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Existing => f.write_str("Existing"),
            Self::FromEnvironment { id } => {
                f.debug_struct("FromEnvironment").field("id", id).finish()
            }
            Self::Generated { id, .. } => f
                .debug_struct("Generated")
                .field("id", id)
                .field("password", &"[REDACTED]")
                .finish(),
        }
    }
}

/// The built-in identity provider: users in a [`UserAdmin`] store,
/// passwords hashed with argon2id on tokio's blocking pool.
///
/// - Logging in: [`LoginPackage`]. An unknown user, a wrong password and a
///   disabled user get the same [`ManageError::Unauthenticated`], after the
///   same work (a dummy hash is verified for an unknown user). A stored
///   hash made with other parameters than the provider's hasher is
///   replaced by a new one at the user's next successful login.
/// - Creating: [`CreateUserPackage`]; permissions default to
///   [`PermissionSet::base`] ([`with_default_permissions`](Self::with_default_permissions)).
/// - Self-registration ([`RegisterPackage`]) is **off** by default; while
///   off it answers [`ManageError::Unsupported`] (501, "self-registration is
///   disabled"). [`with_self_registration`](Self::with_self_registration)
///   turns it on.
/// - Disabling, deleting, taking roles away and changing a password or the
///   permissions end the user's sessions when a [`TokenService`] is wired
///   ([`with_sessions`](Self::with_sessions)): their tokens carry roles and
///   permissions, so they must not outlive the change.
/// - Self-update ([`SelfUpdatePackage`]): a new password needs the current
///   one, and ends every session of the user, the current one included.
///
/// Client ids are the store's user ids. A [`ClientData`] carries
/// `username`, `enabled`, `permissions` and `extra` (the profile) in its
/// `extra`; never the password hash.
pub struct StoreProvider {
    store: Arc<dyn UserAdmin>,
    hasher: PasswordHasher,
    sessions: Option<Arc<TokenService>>,
    self_register: bool,
    register_roles: BTreeSet<String>,
    default_permissions: PermissionSet,
    min_password_length: usize,
}

impl std::fmt::Debug for StoreProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreProvider")
            .field("hasher", &self.hasher)
            .field("self_register", &self.self_register)
            .field("register_roles", &self.register_roles)
            .field("min_password_length", &self.min_password_length)
            .finish_non_exhaustive()
    }
}

impl StoreProvider {
    /// A provider over `store`, hashing with `hasher` (give it the
    /// parameters you want new hashes made with; old hashes verify with
    /// their own).
    pub fn new(store: Arc<dyn UserAdmin>, hasher: PasswordHasher) -> Self {
        Self {
            store,
            hasher,
            sessions: None,
            self_register: false,
            register_roles: BTreeSet::new(),
            default_permissions: PermissionSet::base(),
            min_password_length: DEFAULT_MIN_PASSWORD_LENGTH,
        }
    }

    /// Ends users' sessions through `tokens` when they are disabled,
    /// deleted, lose roles or permissions, or change password.
    #[must_use]
    pub fn with_sessions(mut self, tokens: Arc<TokenService>) -> Self {
        self.sessions = Some(tokens);
        self
    }

    /// Allows (or not) visitors to register themselves, with `roles`.
    #[must_use]
    pub fn with_self_registration<I, S>(mut self, enabled: bool, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.self_register = enabled;
        self.register_roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// The permissions of users created or registered without any (default
    /// [`PermissionSet::base`]).
    #[must_use]
    pub fn with_default_permissions(mut self, permissions: PermissionSet) -> Self {
        self.default_permissions = permissions;
        self
    }

    /// The shortest password accepted, in characters (default 8).
    #[must_use]
    pub fn with_min_password_length(mut self, chars: usize) -> Self {
        self.min_password_length = chars;
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn UserAdmin> {
        &self.store
    }

    /// Creates `admin` (role `admin`, every permission) when the store has
    /// no users, with the password in the environment variable `env_var`;
    /// when it is unset or empty, with a generated one (32 random
    /// characters), printed once to stderr (never logged). Does nothing
    /// once users exist.
    ///
    /// ```no_run
    /// # async fn run(provider: auth_core::provider::store::StoreProvider) -> auth_core::store::ManageResult<()> {
    /// provider.seed_admin("AUTH_ADMIN_PASSWORD").await?;
    /// # Ok(()) }
    /// ```
    pub async fn seed_admin(&self, env_var: &str) -> ManageResult<AdminSeed> {
        let from_env = std::env::var(env_var).ok();
        let seed = self.seed_admin_with(env_var, from_env).await?;
        if let AdminSeed::Generated { password, .. } = &seed {
            // Shown once on the terminal, on purpose not through tracing:
            // log collectors must never see it.
            eprintln!(
                "poem-auth: no {env_var} set; created user `{ADMIN_USERNAME}` with the generated \
                 password: {}\npoem-auth: it is shown this once; change it, or set {env_var} \
                 before the first start",
                password.expose_secret()
            );
        }
        Ok(seed)
    }

    /// [`seed_admin`](Self::seed_admin) with the password given rather than
    /// read (`env_var` only names it in messages); a generated password is
    /// returned, not printed.
    pub async fn seed_admin_with(
        &self,
        env_var: &str,
        password: Option<String>,
    ) -> ManageResult<AdminSeed> {
        if self.store.count_users().await? > 0 {
            return Ok(AdminSeed::Existing);
        }
        let (password, generated) = match password.filter(|p| !p.is_empty()) {
            Some(p) => {
                self.check_password(&p)
                    .map_err(|e| ManageError::Misconfigured(format!("{env_var}: {e}")))?;
                (p, false)
            }
            None => (generate_password()?, true),
        };
        let user = NewUser {
            username: ADMIN_USERNAME.to_owned(),
            password_hash: self.hasher.hash(password.clone()).await?,
            roles: BTreeSet::from([ADMIN_ROLE.to_owned()]),
            permissions: PermissionSet::full(),
            enabled: true,
            extra: Map::new(),
        };
        match self.store.create_user(user).await {
            Ok(admin) if generated => Ok(AdminSeed::Generated {
                id: admin.id,
                password: SecretString::from(password),
            }),
            Ok(admin) => Ok(AdminSeed::FromEnvironment { id: admin.id }),
            // Another instance seeded it first.
            Err(ManageError::Conflict(_)) => Ok(AdminSeed::Existing),
            Err(e) => Err(e),
        }
    }

    fn check_password(&self, password: &str) -> ManageResult<()> {
        if password.chars().count() < self.min_password_length {
            return Err(ManageError::Invalid(format!(
                "password: shorter than {} characters",
                self.min_password_length
            )));
        }
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(ManageError::Invalid(format!(
                "password: longer than {MAX_PASSWORD_BYTES} bytes"
            )));
        }
        Ok(())
    }

    async fn hash(&self, password: String) -> ManageResult<String> {
        self.check_password(&password)?;
        Ok(self.hasher.hash(password).await?)
    }

    /// Makes `change` with the user's sessions ended around it: before, so
    /// a store that cannot record the cut-off refuses the change (503)
    /// rather than make it with the old tokens alive; and after, so no
    /// token minted while the change was being made (a login in the next
    /// second, with the old password or roles) outlives it.
    async fn ending_sessions<T>(
        &self,
        id: &str,
        change: impl std::future::Future<Output = ManageResult<T>>,
    ) -> ManageResult<T> {
        self.end_sessions(id).await?;
        let done = change.await?;
        self.end_sessions(id).await?;
        Ok(done)
    }

    async fn end_sessions(&self, id: &str) -> ManageResult<()> {
        if let Some(tokens) = &self.sessions {
            tokens.end_user_sessions(id).await?;
        }
        Ok(())
    }

    async fn user(&self, id: &str) -> ManageResult<UserRecord> {
        self.store
            .find_by_id(id)
            .await?
            .ok_or_else(|| ManageError::NotFound(format!("user {id}")))
    }

    async fn create(&self, user: NewUser) -> ManageResult<ClientData> {
        let record = self.store.create_user(user).await?;
        tracing::info!(user = %record.id, username = %record.username, "user created");
        Ok(client_of(&record))
    }
}

/// Checks a username: 1 to 128 characters, no control characters, no
/// space at either end.
fn check_username(name: &str) -> ManageResult<()> {
    let bad = name.is_empty()
        || name.chars().count() > MAX_USERNAME_CHARS
        || name.chars().any(char::is_control)
        || name.trim() != name;
    if bad {
        return Err(ManageError::Invalid(format!(
            "username: must be 1 to {MAX_USERNAME_CHARS} characters, without control \
             characters or surrounding spaces"
        )));
    }
    Ok(())
}

/// 24 random bytes, base64url: 32 characters.
fn generate_password() -> ManageResult<String> {
    let mut bytes = [0u8; 24];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| {
        ManageError::Misconfigured("the system random number generator failed".into())
    })?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A user as the provider shows it: never the password hash.
pub fn client_of(user: &UserRecord) -> ClientData {
    let mut extra = Map::new();
    extra.insert("username".into(), user.username.clone().into());
    extra.insert("enabled".into(), user.enabled.into());
    extra.insert(
        "permissions".into(),
        serde_json::to_value(&user.permissions).unwrap_or_default(),
    );
    extra.insert("extra".into(), Value::Object(user.extra.clone()));
    ClientData {
        client_id: user.id.clone(),
        roles: user.roles.clone(),
        extra,
    }
}

#[async_trait]
impl AuthProvider for StoreProvider {
    type AuthPackage = LoginPackage;
    type CreatePackage = CreateUserPackage;
    type RegisterPackage = RegisterPackage;
    type UpdatePackage = UpdateUserPackage;
    type SelfUpdatePackage = SelfUpdatePackage;

    fn name(&self) -> &str {
        "store"
    }

    async fn authenticate(&self, package: LoginPackage) -> ManageResult<ClientData> {
        let store: &dyn UserStore = &*self.store;
        match self
            .hasher
            .check_login(store, &package.username, &package.password)
            .await?
        {
            Some(user) => Ok(client_of(&user)),
            None => Err(ManageError::Unauthenticated),
        }
    }

    async fn initialized(&self) -> ManageResult<bool> {
        Ok(self.store.count_users().await? > 0)
    }

    async fn create_client(&self, package: CreateUserPackage) -> ManageResult<ClientData> {
        check_username(&package.username)?;
        let password_hash = self.hash(package.password).await?;
        self.create(NewUser {
            username: package.username,
            password_hash,
            roles: package.roles.unwrap_or_default(),
            permissions: package
                .permissions
                .unwrap_or_else(|| self.default_permissions.clone()),
            enabled: package.enabled.unwrap_or(true),
            extra: package.extra.unwrap_or_default(),
        })
        .await
    }

    async fn client_self_register(&self, package: RegisterPackage) -> ManageResult<ClientData> {
        if !self.self_register {
            return Err(ManageError::Unsupported(
                "self-registration (it is disabled in this provider's settings)",
            ));
        }
        check_username(&package.username)?;
        let password_hash = self.hash(package.password).await?;
        self.create(NewUser {
            username: package.username,
            password_hash,
            roles: self.register_roles.clone(),
            permissions: self.default_permissions.clone(),
            enabled: true,
            extra: Map::new(),
        })
        .await
    }

    async fn enable_client(&self, client_id: &str) -> ManageResult<()> {
        let update = UserUpdate {
            enabled: Some(true),
            ..UserUpdate::default()
        };
        self.store.update_user(client_id, update).await?;
        Ok(())
    }

    async fn disable_client(&self, client_id: &str) -> ManageResult<()> {
        let update = UserUpdate {
            enabled: Some(false),
            ..UserUpdate::default()
        };
        self.ending_sessions(client_id, self.store.update_user(client_id, update))
            .await?;
        Ok(())
    }

    async fn delete_client(&self, client_id: &str) -> ManageResult<()> {
        self.ending_sessions(client_id, self.store.delete_user(client_id))
            .await?;
        tracing::info!(user = %client_id, "user deleted");
        Ok(())
    }

    async fn add_roles(
        &self,
        client_id: &str,
        roles: &BTreeSet<String>,
    ) -> ManageResult<ClientData> {
        Ok(client_of(&self.store.add_roles(client_id, roles).await?))
    }

    async fn delete_roles(
        &self,
        client_id: &str,
        roles: &BTreeSet<String>,
    ) -> ManageResult<ClientData> {
        let user = self
            .ending_sessions(client_id, self.store.remove_roles(client_id, roles))
            .await?;
        Ok(client_of(&user))
    }

    async fn update_client(
        &self,
        client_id: &str,
        package: UpdateUserPackage,
    ) -> ManageResult<ClientData> {
        if let Some(name) = &package.username {
            check_username(name)?;
        }
        let password_hash = match package.password {
            Some(p) => Some(self.hash(p).await?),
            None => None,
        };
        let ends_sessions = password_hash.is_some()
            || package.roles.is_some()
            || package.permissions.is_some()
            || package.enabled == Some(false);
        let update = UserUpdate {
            username: package.username,
            password_hash,
            roles: package.roles,
            permissions: package.permissions,
            enabled: package.enabled,
            extra: package.extra,
        };
        let change = self.store.update_user(client_id, update);
        let user = if ends_sessions {
            self.ending_sessions(client_id, change).await?
        } else {
            change.await?
        };
        Ok(client_of(&user))
    }

    async fn client_self_update(
        &self,
        client_id: &str,
        package: SelfUpdatePackage,
    ) -> ManageResult<ClientData> {
        let user = self.user(client_id).await?;
        let password_hash = match package.password {
            Some(new) => {
                // The new password is judged first: an answer about it must
                // not tell whether a guessed current password was right.
                self.check_password(&new)?;
                let current = package.current_password.ok_or_else(|| {
                    ManageError::Invalid("current_password: required to set a new password".into())
                })?;
                let ok = self
                    .hasher
                    .verify(current, Some(user.password_hash.clone()))
                    .await?;
                if !ok {
                    return Err(ManageError::Invalid(
                        "current_password: does not match".into(),
                    ));
                }
                Some(self.hash(new).await?)
            }
            None => None,
        };
        let ends_sessions = password_hash.is_some();
        let update = UserUpdate {
            password_hash,
            extra: package.extra,
            ..UserUpdate::default()
        };
        let change = self.store.update_user(client_id, update);
        let user = if ends_sessions {
            self.ending_sessions(client_id, change).await?
        } else {
            change.await?
        };
        Ok(client_of(&user))
    }

    async fn list_clients(&self, role: Option<&str>, page: Page) -> ManageResult<Vec<ClientData>> {
        let filter = UserFilter {
            role: role.map(str::to_owned),
            ..UserFilter::default()
        };
        self.search_clients(&filter, page).await
    }

    async fn search_clients(
        &self,
        filter: &UserFilter,
        page: Page,
    ) -> ManageResult<Vec<ClientData>> {
        Ok(self
            .store
            .list_users(filter, page)
            .await?
            .iter()
            .map(client_of)
            .collect())
    }

    async fn get_client(&self, client_id: &str) -> ManageResult<ClientData> {
        Ok(client_of(&self.user(client_id).await?))
    }
}

#[cfg(test)]
mod tests;
