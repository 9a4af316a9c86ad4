//! Where users live: the [`UserStore`] trait and an in-memory store.

use std::collections::{BTreeSet, HashMap};
use std::sync::RwLock;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::{AuthError, AuthResult};
use crate::password::PasswordHasher;
use crate::permission::PermissionSet;

/// A user as a store keeps it.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRecord {
    /// Stable id.
    pub id: String,
    /// Login name, unique in the store.
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Role names.
    pub roles: BTreeSet<String>,
    /// Permissions granted to this user directly.
    pub permissions: PermissionSet,
    /// Whether the user may log in.
    pub enabled: bool,
    /// Profile data.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &"[REDACTED]")
            .field("roles", &self.roles)
            .field("permissions", &self.permissions)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// Looks users up by name. Implemented by the in-memory store here and by
/// the database stores of `auth-store`.
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// The user with this login name, if any. An `Err` means the store could
    /// not answer, and denies the request.
    async fn find_by_username(&self, username: &str) -> AuthResult<Option<UserRecord>>;

    /// The user with this id, if any.
    async fn find_by_id(&self, id: &str) -> AuthResult<Option<UserRecord>>;

    /// Enables or disables a user; `Ok(false)` when there is no such user.
    /// Stores that are read-only keep the default, which refuses.
    async fn set_enabled(&self, username: &str, enabled: bool) -> AuthResult<bool> {
        let _ = (username, enabled);
        Err(AuthError::Misconfigured(
            "this user store is read-only".into(),
        ))
    }

    /// Replaces a user's password hash; `Ok(false)` when there is no such user.
    async fn set_password_hash(&self, username: &str, phc: String) -> AuthResult<bool> {
        let _ = (username, phc);
        Err(AuthError::Misconfigured(
            "this user store is read-only".into(),
        ))
    }
}

/// A user store in memory, for tests, examples and small fixed user lists.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use auth_core::{MemoryUserStore, PermissionSet, UserStore};
/// use auth_core::password::PasswordHasher;
///
/// let store = MemoryUserStore::new(PasswordHasher::fast_insecure_for_tests());
/// store.add_user("alice", "wonderland", PermissionSet::base(), ["reader"]).unwrap();
/// assert!(store.find_by_username("alice").await.unwrap().is_some());
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MemoryUserStore {
    hasher: PasswordHasher,
    users: RwLock<HashMap<String, UserRecord>>,
}

impl MemoryUserStore {
    /// An empty store that hashes with `hasher`.
    pub fn new(hasher: PasswordHasher) -> Self {
        Self {
            hasher,
            users: RwLock::new(HashMap::new()),
        }
    }

    /// Adds (or replaces) a user, hashing the password now; the id is the username.
    pub fn add_user<I, S>(
        &self,
        username: &str,
        password: &str,
        permissions: PermissionSet,
        roles: I,
    ) -> AuthResult<()>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let record = UserRecord {
            id: username.to_owned(),
            username: username.to_owned(),
            password_hash: self.hasher.hash_blocking(password)?,
            roles: roles.into_iter().map(Into::into).collect(),
            permissions,
            enabled: true,
            extra: serde_json::Map::new(),
        };
        self.insert(record)
    }

    /// Adds (or replaces) a prepared record.
    pub fn insert(&self, record: UserRecord) -> AuthResult<()> {
        self.users
            .write()
            .map_err(|_| AuthError::Unavailable("user store lock poisoned".into()))?
            .insert(record.username.clone(), record);
        Ok(())
    }

    fn write(&self) -> AuthResult<std::sync::RwLockWriteGuard<'_, HashMap<String, UserRecord>>> {
        self.users
            .write()
            .map_err(|_| AuthError::Unavailable("user store lock poisoned".into()))
    }
}

#[async_trait]
impl UserStore for MemoryUserStore {
    async fn find_by_username(&self, username: &str) -> AuthResult<Option<UserRecord>> {
        Ok(self
            .users
            .read()
            .map_err(|_| AuthError::Unavailable("user store lock poisoned".into()))?
            .get(username)
            .cloned())
    }

    async fn set_enabled(&self, username: &str, enabled: bool) -> AuthResult<bool> {
        let mut users = self.write()?;
        Ok(users
            .get_mut(username)
            .map(|u| u.enabled = enabled)
            .is_some())
    }

    async fn set_password_hash(&self, username: &str, phc: String) -> AuthResult<bool> {
        let mut users = self.write()?;
        Ok(users
            .get_mut(username)
            .map(|u| u.password_hash = phc)
            .is_some())
    }

    async fn find_by_id(&self, id: &str) -> AuthResult<Option<UserRecord>> {
        Ok(self
            .users
            .read()
            .map_err(|_| AuthError::Unavailable("user store lock poisoned".into()))?
            .values()
            .find(|u| u.id == id)
            .cloned())
    }
}
