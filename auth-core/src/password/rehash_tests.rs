use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::*;
use crate::permission::PermissionSet;
use crate::store::MemoryUserStore;

/// What hashes were made with before the parameters were raised.
fn old() -> PasswordHasher {
    PasswordHasher::with_params(8, 1, 1).expect("valid")
}

/// The parameters now.
fn current() -> PasswordHasher {
    PasswordHasher::with_params(16, 2, 1).expect("valid")
}

async fn stored_hash(store: &MemoryUserStore) -> String {
    store
        .find_by_username("ann")
        .await
        .expect("store call")
        .expect("ann")
        .password_hash
}

fn store_with_ann(hasher: PasswordHasher) -> MemoryUserStore {
    let store = MemoryUserStore::new(hasher);
    store
        .add_user("ann", "ann-password", PermissionSet::base(), ["reader"])
        .expect("add");
    store
}

#[tokio::test]
async fn a_login_with_a_hash_of_old_parameters_stores_one_of_the_current_ones() {
    let store = store_with_ann(old());
    let before = stored_hash(&store).await;
    let h = current();
    assert!(h.needs_rehash(&before));
    let ann = h
        .check_login(&store, "ann", "ann-password")
        .await
        .expect("no error")
        .expect("logs in");
    let after = stored_hash(&store).await;
    assert_ne!(after, before);
    assert!(!h.needs_rehash(&after), "{after}");
    assert!(after.starts_with("$argon2id$v=19$m=16,t=2,p=1$"), "{after}");
    assert_eq!(ann.password_hash, after);
    assert!(h.verify_blocking("ann-password", &after));
    assert!(
        h.check_login(&store, "ann", "ann-password")
            .await
            .expect("no error")
            .is_some(),
        "the new hash logs in"
    );
}

#[tokio::test]
async fn a_login_with_a_hash_of_the_current_parameters_leaves_it_alone() {
    let h = current();
    let store = store_with_ann(h.clone());
    let before = stored_hash(&store).await;
    for _ in 0..2 {
        h.check_login(&store, "ann", "ann-password")
            .await
            .expect("no error")
            .expect("logs in");
    }
    assert_eq!(stored_hash(&store).await, before);
}

#[tokio::test]
async fn a_failed_or_disabled_login_never_rewrites_the_hash() {
    let h = current();
    let store = store_with_ann(old());
    let before = stored_hash(&store).await;
    let refused = h
        .check_login(&store, "ann", "wrong-password")
        .await
        .expect("no error");
    assert!(refused.is_none());
    store.set_enabled("ann", false).await.expect("disable");
    let disabled = h
        .check_login(&store, "ann", "ann-password")
        .await
        .expect("no error");
    assert!(disabled.is_none());
    assert_eq!(stored_hash(&store).await, before);
}

/// A store that reads but cannot write (the trait's default writes).
struct ReadOnly(Mutex<HashMap<String, UserRecord>>);

#[async_trait]
impl UserStore for ReadOnly {
    async fn find_by_username(&self, username: &str) -> AuthResult<Option<UserRecord>> {
        Ok(self.0.lock().expect("lock").get(username).cloned())
    }

    async fn find_by_id(&self, id: &str) -> AuthResult<Option<UserRecord>> {
        Ok(self
            .0
            .lock()
            .expect("lock")
            .values()
            .find(|u| u.id == id)
            .cloned())
    }
}

#[tokio::test]
async fn a_store_that_cannot_take_the_new_hash_still_logs_the_user_in() {
    let memory = store_with_ann(old());
    let ann = memory
        .find_by_username("ann")
        .await
        .expect("ok")
        .expect("ann");
    let before = ann.password_hash.clone();
    let store = ReadOnly(Mutex::new(HashMap::from([("ann".to_owned(), ann)])));
    let user = current()
        .check_login(&store, "ann", "ann-password")
        .await
        .expect("the failed upgrade is not the login's failure")
        .expect("logs in");
    assert_eq!(user.password_hash, before);
}

#[tokio::test]
async fn an_upgrade_never_undoes_a_password_change_made_meanwhile() {
    let store = store_with_ann(old());
    let before = stored_hash(&store).await;
    let changed = current().hash_blocking("new-password").expect("hash");
    store
        .set_password_hash("ann", changed.clone())
        .await
        .expect("changed");
    assert!(
        !store
            .replace_password_hash("ann", &before, "$upgrade".into())
            .await
            .expect("store call"),
        "the hash the login verified is gone"
    );
    assert_eq!(stored_hash(&store).await, changed);
}
