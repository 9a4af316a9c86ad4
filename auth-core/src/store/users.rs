//! Where users live: the [`UserStore`] trait and an in-memory store.

use std::collections::{BTreeSet, HashMap};
use std::sync::RwLock;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::{AuthError, AuthResult};
use crate::password::PasswordHasher;
use crate::permission::PermissionSet;
use crate::store::{ManageError, ManageResult, NewUser, Page, UserAdmin, UserFilter, UserUpdate};

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

    /// Replaces a user's password hash only while it is still `current`:
    /// how a login upgrades a hash made with old parameters without undoing
    /// a password change made meanwhile. `Ok(false)` when there is no such
    /// user or their hash is no longer `current`.
    ///
    /// The default reads the user, then calls
    /// [`set_password_hash`](Self::set_password_hash): a change landing
    /// between the two is lost. Stores that can compare and replace in one
    /// step (under a lock, in one `UPDATE ... WHERE`) should.
    async fn replace_password_hash(
        &self,
        username: &str,
        current: &str,
        phc: String,
    ) -> AuthResult<bool> {
        match self.find_by_username(username).await? {
            Some(user) if user.password_hash == current => {
                self.set_password_hash(username, phc).await
            }
            _ => Ok(false),
        }
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

    async fn replace_password_hash(
        &self,
        username: &str,
        current: &str,
        phc: String,
    ) -> AuthResult<bool> {
        let mut users = self.write()?;
        Ok(users
            .get_mut(username)
            .filter(|u| u.password_hash == current)
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

impl MemoryUserStore {
    fn read_admin(
        &self,
    ) -> ManageResult<std::sync::RwLockReadGuard<'_, HashMap<String, UserRecord>>> {
        self.users
            .read()
            .map_err(|_| ManageError::Unavailable("user store lock poisoned".into()))
    }

    fn write_admin(
        &self,
    ) -> ManageResult<std::sync::RwLockWriteGuard<'_, HashMap<String, UserRecord>>> {
        self.users
            .write()
            .map_err(|_| ManageError::Unavailable("user store lock poisoned".into()))
    }

    /// Changes the user with this id in one step under the write lock.
    fn modify(&self, id: &str, change: impl FnOnce(&mut UserRecord)) -> ManageResult<UserRecord> {
        let mut users = self.write_admin()?;
        let user = users
            .values_mut()
            .find(|u| u.id == id)
            .ok_or_else(|| ManageError::NotFound(format!("user {id}")))?;
        change(user);
        Ok(user.clone())
    }
}

/// Every user of a [`MemoryUserStore`] created through [`UserAdmin`] gets a
/// random id; those added with [`MemoryUserStore::add_user`] keep their
/// username as id.
#[async_trait]
impl UserAdmin for MemoryUserStore {
    async fn create_user(&self, user: NewUser) -> ManageResult<UserRecord> {
        let id = crate::random::random_id()?;
        let mut users = self.write_admin()?;
        if users.contains_key(&user.username) {
            return Err(ManageError::Conflict(format!(
                "username `{}` is taken",
                user.username
            )));
        }
        let record = UserRecord {
            id,
            username: user.username,
            password_hash: user.password_hash,
            roles: user.roles,
            permissions: user.permissions,
            enabled: user.enabled,
            extra: user.extra,
        };
        users.insert(record.username.clone(), record.clone());
        Ok(record)
    }

    async fn list_users(&self, filter: &UserFilter, page: Page) -> ManageResult<Vec<UserRecord>> {
        let users = self.read_admin()?;
        let mut matching: Vec<&UserRecord> = users
            .values()
            .filter(|u| {
                filter
                    .username_contains
                    .as_deref()
                    .is_none_or(|part| u.username.contains(part))
                    && filter.role.as_deref().is_none_or(|r| u.roles.contains(r))
                    && filter.enabled.is_none_or(|e| u.enabled == e)
            })
            .collect();
        matching.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(matching
            .into_iter()
            .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
            .take(page.capped_limit() as usize)
            .cloned()
            .collect())
    }

    async fn update_user(&self, id: &str, update: UserUpdate) -> ManageResult<UserRecord> {
        let mut users = self.write_admin()?;
        let Some(old_name) = users
            .values()
            .find(|u| u.id == id)
            .map(|u| u.username.clone())
        else {
            return Err(ManageError::NotFound(format!("user {id}")));
        };
        if let Some(name) = &update.username
            && *name != old_name
            && users.contains_key(name)
        {
            return Err(ManageError::Conflict(format!("username `{name}` is taken")));
        }
        let Some(mut user) = users.remove(&old_name) else {
            return Err(ManageError::NotFound(format!("user {id}")));
        };
        if let Some(v) = update.username {
            user.username = v;
        }
        if let Some(v) = update.password_hash {
            user.password_hash = v;
        }
        if let Some(v) = update.roles {
            user.roles = v;
        }
        if let Some(v) = update.permissions {
            user.permissions = v;
        }
        if let Some(v) = update.enabled {
            user.enabled = v;
        }
        if let Some(v) = update.extra {
            user.extra = v;
        }
        users.insert(user.username.clone(), user.clone());
        Ok(user)
    }

    async fn delete_user(&self, id: &str) -> ManageResult<()> {
        let mut users = self.write_admin()?;
        let before = users.len();
        users.retain(|_, u| u.id != id);
        if users.len() == before {
            return Err(ManageError::NotFound(format!("user {id}")));
        }
        Ok(())
    }

    async fn add_roles(&self, id: &str, roles: &BTreeSet<String>) -> ManageResult<UserRecord> {
        self.modify(id, |u| u.roles.extend(roles.iter().cloned()))
    }

    async fn remove_roles(&self, id: &str, roles: &BTreeSet<String>) -> ManageResult<UserRecord> {
        self.modify(id, |u| u.roles.retain(|r| !roles.contains(r)))
    }

    async fn count_users(&self) -> ManageResult<u64> {
        Ok(self.read_admin()?.len() as u64)
    }
}

#[cfg(test)]
mod admin_tests {
    use super::*;

    fn new_user(name: &str) -> NewUser {
        NewUser {
            username: name.into(),
            password_hash: "$argon2id$x".into(),
            roles: BTreeSet::from(["reader".to_owned()]),
            permissions: PermissionSet::base(),
            enabled: true,
            extra: serde_json::Map::new(),
        }
    }

    #[tokio::test]
    async fn a_taken_username_is_a_conflict_on_create_and_rename() {
        let store = MemoryUserStore::default();
        let ann = store.create_user(new_user("ann")).await.expect("ann");
        assert_ne!(ann.id, "ann", "created users get a random id");
        assert!(matches!(
            store.create_user(new_user("ann")).await,
            Err(ManageError::Conflict(_))
        ));
        let bob = store.create_user(new_user("bob")).await.expect("bob");
        let rename = UserUpdate {
            username: Some("ann".into()),
            ..UserUpdate::default()
        };
        assert!(matches!(
            store.update_user(&bob.id, rename).await,
            Err(ManageError::Conflict(_))
        ));
        assert_eq!(store.count_users().await, Ok(2));
    }

    #[tokio::test]
    async fn a_renamed_user_is_found_by_the_new_name_only() {
        let store = MemoryUserStore::default();
        let ann = store.create_user(new_user("ann")).await.expect("ann");
        let update = UserUpdate {
            username: Some("anne".into()),
            enabled: Some(false),
            ..UserUpdate::default()
        };
        let anne = store.update_user(&ann.id, update).await.expect("renamed");
        assert_eq!((anne.id.as_str(), anne.enabled), (ann.id.as_str(), false));
        assert!(store.find_by_username("ann").await.expect("ok").is_none());
        assert!(store.find_by_username("anne").await.expect("ok").is_some());
    }

    #[tokio::test]
    async fn listing_filters_sorts_and_pages() {
        let store = MemoryUserStore::default();
        for name in ["cy", "ann", "bob", "dee"] {
            store.create_user(new_user(name)).await.expect("user");
        }
        let dee = store
            .find_by_username("dee")
            .await
            .expect("ok")
            .expect("dee");
        store
            .remove_roles(&dee.id, &BTreeSet::from(["reader".to_owned()]))
            .await
            .expect("removed");
        let names =
            |users: Vec<UserRecord>| users.into_iter().map(|u| u.username).collect::<Vec<_>>();
        let all = store
            .list_users(
                &UserFilter::default(),
                Page {
                    offset: 1,
                    limit: 2,
                },
            )
            .await
            .expect("list");
        assert_eq!(names(all), ["bob", "cy"]);
        let readers = UserFilter {
            role: Some("reader".into()),
            ..UserFilter::default()
        };
        let readers = store
            .list_users(&readers, Page::default())
            .await
            .expect("list");
        assert_eq!(names(readers), ["ann", "bob", "cy"]);
    }

    #[tokio::test]
    async fn unknown_ids_are_not_found() {
        let store = MemoryUserStore::default();
        let roles = BTreeSet::new();
        assert!(matches!(
            store.delete_user("x").await,
            Err(ManageError::NotFound(_))
        ));
        assert!(matches!(
            store.add_roles("x", &roles).await,
            Err(ManageError::NotFound(_))
        ));
        assert!(matches!(
            store.update_user("x", UserUpdate::default()).await,
            Err(ManageError::NotFound(_))
        ));
    }
}
