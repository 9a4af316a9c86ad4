//! The store contract, run against SQLite and against a real PostgreSQL
//! server: every trait method's behaviour, conflicts, not-found, paging,
//! filters, and atomicity under concurrency.

use std::collections::BTreeSet;
use std::sync::Arc;

use auth_core::store::{
    HandlerConfigStore, ManageError, NewUser, Page, TokenFilter, TokenRecord, TokenStore,
    UserAdmin, UserFilter, UserUpdate,
};
use auth_core::store::{MemoryRevocations, RevocationCheck};
use auth_core::tokens::{RefreshRecord, RefreshStore, Rotation, hash_refresh_token};
use auth_core::{AuthPermission, AuthResource, PermissionSet};
use auth_store::{PgStore, SqliteStore};
use serde_json::json;

/// A store under test.
trait Backend:
    UserAdmin + RefreshStore + TokenStore + HandlerConfigStore + Clone + Send + Sync + 'static
{
    fn revs(&self) -> Arc<MemoryRevocations>;
}

impl Backend for SqliteStore {
    fn revs(&self) -> Arc<MemoryRevocations> {
        self.revocations()
    }
}

impl Backend for PgStore {
    fn revs(&self) -> Arc<MemoryRevocations> {
        self.revocations()
    }
}

const NOW: i64 = 1_700_000_000;

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn new_user(name: &str, roles: &[&str]) -> NewUser {
    NewUser {
        username: name.to_owned(),
        password_hash: format!("$argon2id$fake${name}"),
        roles: set(roles),
        permissions: PermissionSet::base(),
        enabled: true,
        extra: serde_json::Map::new(),
    }
}

fn token(jti: &str, client: &str, roles: &[&str], created: i64, expires: i64) -> TokenRecord {
    TokenRecord {
        jti: jti.to_owned(),
        client_id: client.to_owned(),
        roles: set(roles),
        created_at: created,
        expires_at: expires,
        issued_by: "login".to_owned(),
        revoked: false,
    }
}

fn refresh(family: &str, user: &str, expires: i64) -> RefreshRecord {
    RefreshRecord {
        family: family.to_owned(),
        user_id: user.to_owned(),
        created_at: NOW,
        expires_at: expires,
        family_expires_at: NOW + 10_000,
        used: false,
    }
}

fn all() -> Page {
    Page {
        offset: 0,
        limit: 100,
    }
}

async fn names<S: Backend>(s: &S, filter: UserFilter, page: Page) -> Vec<String> {
    s.list_users(&filter, page)
        .await
        .expect("list")
        .into_iter()
        .map(|u| u.username)
        .collect()
}

// ---- users ----

async fn created_user_is_found_by_name_and_id_with_every_field<S: Backend>(s: S) {
    let mut user = new_user("alice", &["admin", "reader"]);
    user.permissions = PermissionSet::new();
    user.permissions
        .insert(AuthResource::Users, AuthPermission::List);
    user.extra
        .insert("email".into(), json!("alice@example.org"));
    let created = s.create_user(user).await.expect("create");
    assert!(!created.id.is_empty());
    let by_name = s
        .find_by_username("alice")
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(by_name, created);
    assert_eq!(by_name.roles, set(&["admin", "reader"]));
    assert_eq!(by_name.extra["email"], "alice@example.org");
    assert!(
        by_name
            .permissions
            .contains(AuthResource::Users, AuthPermission::List)
    );
    let by_id = s
        .find_by_id(&created.id)
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(by_id, created);
    assert_eq!(s.count_users().await.expect("count"), 1);
}

async fn duplicate_username_is_a_conflict<S: Backend>(s: S) {
    s.create_user(new_user("alice", &[])).await.expect("create");
    let bob = s.create_user(new_user("bob", &[])).await.expect("create");
    let err = s
        .create_user(new_user("alice", &["x"]))
        .await
        .expect_err("must be refused");
    assert!(matches!(err, ManageError::Conflict(_)), "{err:?}");
    assert_eq!(err.status(), 409);
    let rename = UserUpdate {
        username: Some("alice".into()),
        ..UserUpdate::default()
    };
    let err = s
        .update_user(&bob.id, rename)
        .await
        .expect_err("must be refused");
    assert!(matches!(err, ManageError::Conflict(_)), "{err:?}");
    // Nothing of the refused writes remains.
    assert_eq!(s.count_users().await.expect("count"), 2);
    let bob = s.find_by_id(&bob.id).await.expect("find").expect("bob");
    assert_eq!(bob.username, "bob");
}

async fn unknown_user_is_none_or_not_found<S: Backend>(s: S) {
    assert!(s.find_by_username("ghost").await.expect("find").is_none());
    assert!(s.find_by_id("ghost").await.expect("find").is_none());
    assert!(!s.set_enabled("ghost", false).await.expect("set"));
    assert!(!s.set_password_hash("ghost", "x".into()).await.expect("set"));
    let not_found = |r: Result<_, ManageError>| matches!(r, Err(ManageError::NotFound(_)));
    assert!(not_found(
        s.update_user("ghost", UserUpdate::default())
            .await
            .map(|_| ())
    ));
    assert!(not_found(s.delete_user("ghost").await));
    assert!(not_found(
        s.add_roles("ghost", &set(&["a"])).await.map(|_| ())
    ));
    assert!(not_found(
        s.remove_roles("ghost", &set(&["a"])).await.map(|_| ())
    ));
    // A refused role change leaves no orphan role behind.
    s.create_user(new_user("alice", &[])).await.expect("create");
    let with_role = UserFilter {
        role: Some("a".into()),
        ..UserFilter::default()
    };
    assert!(names(&s, with_role, all()).await.is_empty());
}

async fn empty_username_is_invalid<S: Backend>(s: S) {
    let err = s
        .create_user(new_user("  ", &[]))
        .await
        .expect_err("must be refused");
    assert!(matches!(err, ManageError::Invalid(_)), "{err:?}");
    assert_eq!(s.count_users().await.expect("count"), 0);
}

async fn set_enabled_and_password_hash_change_the_user<S: Backend>(s: S) {
    s.create_user(new_user("alice", &[])).await.expect("create");
    assert!(s.set_enabled("alice", false).await.expect("disable"));
    assert!(
        !s.find_by_username("alice")
            .await
            .expect("store call")
            .expect("store call")
            .enabled
    );
    assert!(
        s.set_password_hash("alice", "$new".into())
            .await
            .expect("hash")
    );
    assert_eq!(
        s.find_by_username("alice")
            .await
            .expect("store call")
            .expect("store call")
            .password_hash,
        "$new"
    );
}

async fn replace_password_hash_replaces_only_the_hash_it_was_given<S: Backend>(s: S) {
    async fn hash<S: Backend>(s: &S) -> String {
        s.find_by_username("alice")
            .await
            .expect("store call")
            .expect("alice")
            .password_hash
    }
    s.create_user(new_user("alice", &[])).await.expect("create");
    let first = hash(&s).await;
    assert!(
        !s.replace_password_hash("alice", "$not-the-current-one", "$lost".into())
            .await
            .expect("store call"),
        "a hash changed meanwhile is not replaced"
    );
    assert_eq!(hash(&s).await, first);
    assert!(
        s.replace_password_hash("alice", &first, "$upgraded".into())
            .await
            .expect("store call")
    );
    assert_eq!(hash(&s).await, "$upgraded");
    assert!(
        !s.replace_password_hash("ghost", &first, "$x".into())
            .await
            .expect("store call")
    );
}

async fn list_users_pages_in_username_order<S: Backend>(s: S) {
    for name in ["dave", "alice", "carol", "bob", "erin"] {
        s.create_user(new_user(name, &[])).await.expect("create");
    }
    let page = |offset, limit| Page { offset, limit };
    assert_eq!(
        names(&s, UserFilter::default(), page(0, 2)).await,
        ["alice", "bob"]
    );
    assert_eq!(
        names(&s, UserFilter::default(), page(2, 2)).await,
        ["carol", "dave"]
    );
    assert_eq!(names(&s, UserFilter::default(), page(4, 2)).await, ["erin"]);
    assert!(
        names(&s, UserFilter::default(), page(9, 2))
            .await
            .is_empty()
    );
}

async fn list_users_filters_by_text_role_and_enabled<S: Backend>(s: S) {
    s.create_user(new_user("alice", &["admin"]))
        .await
        .expect("store call");
    s.create_user(new_user("malicia", &["reader"]))
        .await
        .expect("store call");
    let mut off = new_user("alina", &["admin", "reader"]);
    off.enabled = false;
    s.create_user(off).await.expect("store call");
    s.create_user(new_user("bob", &["reader"]))
        .await
        .expect("store call");
    let f = |text: Option<&str>, role: Option<&str>, enabled: Option<bool>| UserFilter {
        username_contains: text.map(str::to_owned),
        role: role.map(str::to_owned),
        enabled,
    };
    assert_eq!(
        names(&s, f(Some("ali"), None, None), all()).await,
        ["alice", "alina", "malicia"]
    );
    // Case matters, and `%`/`_` are plain text, not patterns.
    assert!(
        names(&s, f(Some("ALI"), None, None), all())
            .await
            .is_empty()
    );
    assert!(names(&s, f(Some("a%"), None, None), all()).await.is_empty());
    assert_eq!(
        names(&s, f(None, Some("admin"), None), all()).await,
        ["alice", "alina"]
    );
    assert_eq!(
        names(&s, f(None, Some("reader"), Some(true)), all()).await,
        ["bob", "malicia"]
    );
    assert_eq!(
        names(&s, f(Some("ali"), Some("reader"), Some(false)), all()).await,
        ["alina"]
    );
}

async fn update_user_replaces_only_the_given_fields<S: Backend>(s: S) {
    let alice = s
        .create_user(new_user("alice", &["a", "b"]))
        .await
        .expect("store call");
    let mut extra = serde_json::Map::new();
    extra.insert("team".into(), json!("blue"));
    let updated = s
        .update_user(
            &alice.id,
            UserUpdate {
                username: Some("alice2".into()),
                roles: Some(set(&["c"])),
                extra: Some(extra),
                ..UserUpdate::default()
            },
        )
        .await
        .expect("update");
    assert_eq!(updated.username, "alice2");
    assert_eq!(updated.roles, set(&["c"]));
    assert_eq!(updated.extra["team"], "blue");
    assert_eq!(updated.password_hash, alice.password_hash);
    assert!(updated.enabled);
    assert_eq!(updated.permissions, alice.permissions);
    assert_eq!(
        s.find_by_id(&alice.id).await.expect("store call"),
        Some(updated)
    );
    assert!(
        s.find_by_username("alice")
            .await
            .expect("store call")
            .is_none()
    );
    let disabled = s
        .update_user(
            &alice.id,
            UserUpdate {
                enabled: Some(false),
                password_hash: Some("$other".into()),
                ..UserUpdate::default()
            },
        )
        .await
        .expect("update");
    assert!(!disabled.enabled);
    assert_eq!(disabled.password_hash, "$other");
    assert_eq!(disabled.roles, set(&["c"]));
}

async fn delete_user_removes_the_user_and_their_roles<S: Backend>(s: S) {
    let alice = s
        .create_user(new_user("alice", &["admin"]))
        .await
        .expect("store call");
    s.create_user(new_user("bob", &[]))
        .await
        .expect("store call");
    s.delete_user(&alice.id).await.expect("delete");
    assert!(s.find_by_id(&alice.id).await.expect("store call").is_none());
    assert_eq!(s.count_users().await.expect("store call"), 1);
    let admins = UserFilter {
        role: Some("admin".into()),
        ..UserFilter::default()
    };
    assert!(names(&s, admins, all()).await.is_empty());
    // The name is free again.
    s.create_user(new_user("alice", &[]))
        .await
        .expect("recreate");
}

async fn add_and_remove_roles_change_only_those_roles<S: Backend>(s: S) {
    let alice = s
        .create_user(new_user("alice", &["a"]))
        .await
        .expect("store call");
    let u = s
        .add_roles(&alice.id, &set(&["a", "b", "c"]))
        .await
        .expect("store call");
    assert_eq!(u.roles, set(&["a", "b", "c"]));
    let u = s
        .remove_roles(&alice.id, &set(&["a", "z"]))
        .await
        .expect("store call");
    assert_eq!(u.roles, set(&["b", "c"]));
    assert_eq!(
        s.find_by_id(&alice.id)
            .await
            .expect("store call")
            .expect("store call")
            .roles,
        set(&["b", "c"])
    );
}

async fn concurrent_role_changes_lose_no_role<S: Backend>(s: S) {
    let alice = s
        .create_user(new_user("alice", &[]))
        .await
        .expect("store call");
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = s.clone();
            let id = alice.id.clone();
            tokio::spawn(async move { s.add_roles(&id, &set(&[&format!("r{i}")])).await })
        })
        .collect();
    for t in tasks {
        t.await.expect("join").expect("add");
    }
    let roles = s
        .find_by_id(&alice.id)
        .await
        .expect("store call")
        .expect("store call")
        .roles;
    assert_eq!(roles.len(), 8, "{roles:?}");
}

// ---- refresh tokens ----

async fn rotation_consumes_the_token_and_chains_the_family<S: Backend>(s: S) {
    let first = hash_refresh_token("first");
    s.insert(first, refresh("fam", "alice", NOW + 100))
        .await
        .expect("store call");
    assert_eq!(
        s.family_of(&first).await.expect("store call").as_deref(),
        Some("fam")
    );
    let second = hash_refresh_token("second");
    let Rotation::Rotated(next) = s
        .rotate(&first, second, NOW + 10, 50)
        .await
        .expect("store call")
    else {
        panic!("first rotation must succeed");
    };
    assert_eq!(next.family, "fam");
    assert_eq!(next.user_id, "alice");
    assert_eq!(next.created_at, NOW + 10);
    assert_eq!(next.expires_at, NOW + 60);
    assert_eq!(next.family_expires_at, NOW + 10_000);
    assert!(!next.used);
    // The successor rotates in turn; its lifetime never passes the family's.
    let third = hash_refresh_token("third");
    let Rotation::Rotated(last) = s
        .rotate(&second, third, NOW + 20, 1_000_000)
        .await
        .expect("store call")
    else {
        panic!("second rotation must succeed");
    };
    assert_eq!(last.expires_at, NOW + 10_000);
}

async fn reused_refresh_token_revokes_its_family<S: Backend>(s: S) {
    let first = hash_refresh_token("first");
    s.insert(first, refresh("fam", "alice", NOW + 100))
        .await
        .expect("store call");
    let other = hash_refresh_token("other");
    s.insert(other, refresh("fam2", "alice", NOW + 100))
        .await
        .expect("store call");
    let second = hash_refresh_token("second");
    assert!(matches!(
        s.rotate(&first, second, NOW, 50).await.expect("store call"),
        Rotation::Rotated(_)
    ));
    assert_eq!(
        s.rotate(&first, hash_refresh_token("x"), NOW, 50)
            .await
            .expect("store call"),
        Rotation::Reused {
            family: "fam".into()
        }
    );
    // The legitimate successor died with its family; the other family lives.
    assert_eq!(
        s.rotate(&second, hash_refresh_token("y"), NOW, 50)
            .await
            .expect("store call"),
        Rotation::Invalid
    );
    assert!(s.family_of(&second).await.expect("store call").is_none());
    assert_eq!(
        s.family_of(&other).await.expect("store call").as_deref(),
        Some("fam2")
    );
}

async fn expired_or_unknown_refresh_token_is_invalid<S: Backend>(s: S) {
    let old = hash_refresh_token("old");
    s.insert(old, refresh("fam", "alice", NOW + 100))
        .await
        .expect("store call");
    let next = hash_refresh_token("next");
    assert_eq!(
        s.rotate(&old, next, NOW + 100, 50)
            .await
            .expect("store call"),
        Rotation::Invalid
    );
    assert!(s.family_of(&next).await.expect("store call").is_none());
    assert_eq!(
        s.rotate(&hash_refresh_token("nope"), next, NOW, 50)
            .await
            .expect("store call"),
        Rotation::Invalid
    );
}

async fn concurrent_rotations_of_one_token_have_one_winner<S: Backend>(s: S) {
    let first = hash_refresh_token("first");
    s.insert(first, refresh("fam", "alice", NOW + 100))
        .await
        .expect("store call");
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                s.rotate(&first, hash_refresh_token(&format!("next{i}")), NOW, 50)
                    .await
            })
        })
        .collect();
    let mut rotated = 0;
    for t in tasks {
        match t.await.expect("join").expect("rotate") {
            Rotation::Rotated(_) => rotated += 1,
            Rotation::Reused { family } => assert_eq!(family, "fam"),
            Rotation::Invalid => {}
        }
    }
    assert_eq!(rotated, 1);
}

async fn revoking_a_family_or_a_user_deletes_their_tokens<S: Backend>(s: S) {
    let a = hash_refresh_token("a");
    let b = hash_refresh_token("b");
    let c = hash_refresh_token("c");
    s.insert(a, refresh("fam-a", "alice", NOW + 100))
        .await
        .expect("store call");
    s.insert(b, refresh("fam-b", "alice", NOW + 100))
        .await
        .expect("store call");
    s.insert(c, refresh("fam-c", "bob", NOW + 100))
        .await
        .expect("store call");
    assert_eq!(
        s.revoke_family("fam-a")
            .await
            .expect("store call")
            .as_deref(),
        Some("alice")
    );
    assert_eq!(s.revoke_family("fam-a").await.expect("store call"), None);
    assert!(s.family_of(&a).await.expect("store call").is_none());
    s.revoke_user("alice").await.expect("store call");
    assert!(s.family_of(&b).await.expect("store call").is_none());
    assert_eq!(
        s.family_of(&c).await.expect("store call").as_deref(),
        Some("fam-c")
    );
}

// ---- token registry ----

async fn recorded_tokens_list_newest_first_with_filters_and_pages<S: Backend>(s: S) {
    s.record_token(token("t1", "alice", &["admin"], NOW, NOW + 100))
        .await
        .expect("store call");
    s.record_token(token("t2", "alice", &["reader"], NOW + 1, NOW + 100))
        .await
        .expect("store call");
    s.record_token(token("t3", "bob", &["reader"], NOW + 2, NOW + 100))
        .await
        .expect("store call");
    s.record_token(token("old", "bob", &["reader"], NOW - 200, NOW - 100))
        .await
        .expect("store call");
    let jtis = |list: Vec<TokenRecord>| list.into_iter().map(|t| t.jti).collect::<Vec<_>>();
    let list = |f: TokenFilter, page: Page| {
        let s = s.clone();
        async move { jtis(s.list_tokens(&f, NOW, page).await.expect("list")) }
    };
    assert_eq!(
        list(TokenFilter::default(), all()).await,
        ["t3", "t2", "t1"]
    );
    let with_expired = TokenFilter {
        include_expired: true,
        ..TokenFilter::default()
    };
    assert_eq!(list(with_expired, all()).await, ["t3", "t2", "t1", "old"]);
    let alice = TokenFilter {
        client_id: Some("alice".into()),
        ..TokenFilter::default()
    };
    assert_eq!(list(alice, all()).await, ["t2", "t1"]);
    let readers = TokenFilter {
        role: Some("reader".into()),
        ..TokenFilter::default()
    };
    assert_eq!(list(readers, all()).await, ["t3", "t2"]);
    let one = TokenFilter {
        jti: Some("t1".into()),
        ..TokenFilter::default()
    };
    let found = s.list_tokens(&one, NOW, all()).await.expect("store call");
    assert_eq!(found, [token("t1", "alice", &["admin"], NOW, NOW + 100)]);
    let second_page = Page {
        offset: 1,
        limit: 1,
    };
    assert_eq!(list(TokenFilter::default(), second_page).await, ["t2"]);
    let err = s
        .record_token(token("t1", "eve", &[], NOW, NOW + 1))
        .await
        .expect_err("must be refused");
    assert!(matches!(err, ManageError::Conflict(_)), "{err:?}");
}

async fn revoke_tokens_marks_matching_unexpired_tokens_and_refuses_them<S: Backend>(s: S) {
    s.record_token(token("t1", "alice", &["admin"], NOW, NOW + 100))
        .await
        .expect("store call");
    s.record_token(token("t2", "alice", &["reader"], NOW, NOW + 100))
        .await
        .expect("store call");
    s.record_token(token("t3", "bob", &["reader"], NOW, NOW + 100))
        .await
        .expect("store call");
    s.record_token(token("old", "alice", &["reader"], NOW - 200, NOW - 100))
        .await
        .expect("store call");
    let readers_of_alice = TokenFilter {
        client_id: Some("alice".into()),
        role: Some("reader".into()),
        include_expired: true, // ignored: expired tokens need no revocation
        ..TokenFilter::default()
    };
    assert_eq!(
        s.revoke_tokens(&readers_of_alice, NOW)
            .await
            .expect("store call"),
        1
    );
    assert_eq!(
        s.revoke_tokens(&readers_of_alice, NOW)
            .await
            .expect("store call"),
        0
    );
    let revs = s.revs();
    assert!(revs.is_revoked(Some("t2"), None, "alice", Some(NOW)));
    assert!(!revs.is_revoked(Some("t1"), None, "alice", Some(NOW)));
    assert!(!revs.is_revoked(Some("old"), None, "alice", Some(NOW)));
    let listed = s
        .list_tokens(&TokenFilter::default(), NOW, all())
        .await
        .expect("store call");
    let revoked: Vec<_> = listed
        .iter()
        .filter(|t| t.revoked)
        .map(|t| &t.jti)
        .collect();
    assert_eq!(revoked, ["t2"]);
    // An empty filter revokes everything left.
    assert_eq!(
        s.revoke_tokens(&TokenFilter::default(), NOW)
            .await
            .expect("store call"),
        2
    );
    assert!(revs.is_revoked(Some("t3"), None, "bob", Some(NOW)));
}

async fn revoke_client_tokens_refuses_every_token_up_to_the_cutoff<S: Backend>(s: S) {
    s.record_token(token("t1", "alice", &[], NOW, NOW + 100))
        .await
        .expect("store call");
    s.record_token(token("t2", "alice", &[], NOW + 50, NOW + 100))
        .await
        .expect("store call");
    s.revoke_client_tokens("alice", NOW + 10)
        .await
        .expect("store call");
    // A later, smaller cut-off does not move it back.
    s.revoke_client_tokens("alice", NOW)
        .await
        .expect("store call");
    let revs = s.revs();
    assert!(revs.is_revoked(Some("never-seen"), None, "alice", Some(NOW + 10)));
    assert!(!revs.is_revoked(Some("t2"), None, "alice", Some(NOW + 50)));
    assert!(!revs.is_revoked(Some("t1"), None, "bob", Some(NOW)));
    let listed = s
        .list_tokens(&TokenFilter::default(), NOW, all())
        .await
        .expect("store call");
    let revoked: Vec<_> = listed
        .iter()
        .filter(|t| t.revoked)
        .map(|t| &t.jti)
        .collect();
    assert_eq!(revoked, ["t1"]);
}

async fn revoke_session_refuses_every_token_of_the_session_until_it_expires<S: Backend>(s: S) {
    s.revoke_session("s-1", NOW + 100)
        .await
        .expect("store call");
    // A later, earlier expiry does not shorten it.
    s.revoke_session("s-1", NOW + 10).await.expect("store call");
    let revs = s.revs();
    assert!(revs.is_revoked(Some("never-seen"), Some("s-1"), "alice", Some(NOW)));
    assert!(!revs.is_revoked(Some("never-seen"), Some("s-2"), "alice", Some(NOW)));
    assert!(!revs.is_revoked(Some("never-seen"), None, "alice", Some(NOW)));
    s.delete_expired(NOW + 50).await.expect("store call");
    assert!(
        revs.is_revoked(Some("t"), Some("s-1"), "alice", Some(NOW)),
        "kept while its tokens may live"
    );
    s.delete_expired(NOW + 101).await.expect("store call");
    assert!(!revs.is_revoked(Some("t"), Some("s-1"), "alice", Some(NOW)));
}

async fn delete_expired_removes_only_expired_tokens<S: Backend>(s: S) {
    s.record_token(token("live", "alice", &[], NOW, NOW + 100))
        .await
        .expect("store call");
    s.record_token(token("dead1", "alice", &[], NOW - 300, NOW - 100))
        .await
        .expect("store call");
    s.record_token(token("dead2", "bob", &[], NOW - 300, NOW - 1))
        .await
        .expect("store call");
    assert_eq!(s.delete_expired(NOW).await.expect("store call"), 2);
    assert_eq!(s.delete_expired(NOW).await.expect("store call"), 0);
    let everything = TokenFilter {
        include_expired: true,
        ..TokenFilter::default()
    };
    let left: Vec<_> = s
        .list_tokens(&everything, NOW, all())
        .await
        .expect("store call")
        .into_iter()
        .map(|t| t.jti)
        .collect();
    assert_eq!(left, ["live"]);
}

// ---- handler settings ----

async fn saving_settings_keeps_exactly_one_active_handler<S: Backend>(s: S) {
    assert!(s.handler_configs().await.expect("store call").is_empty());
    s.save_handler_config("jwt", &json!({"issuer": "a"}), true, NOW)
        .await
        .expect("store call");
    s.save_handler_config("ldap", &json!({"url": "ldap://x"}), false, NOW + 1)
        .await
        .expect("store call");
    let active = |list: Vec<auth_core::store::StoredHandlerConfig>| {
        list.into_iter()
            .filter(|h| h.active)
            .map(|h| h.id)
            .collect::<Vec<_>>()
    };
    let list = s.handler_configs().await.expect("store call");
    assert_eq!(list.len(), 2);
    assert_eq!(list[1].config, json!({"url": "ldap://x"}));
    assert_eq!(list[1].updated_at, NOW + 1);
    assert_eq!(active(list), ["jwt"]);
    // Saving the active one without `activate` keeps it active.
    s.save_handler_config("jwt", &json!({"issuer": "b"}), false, NOW + 2)
        .await
        .expect("store call");
    let list = s.handler_configs().await.expect("store call");
    assert_eq!(list[0].config, json!({"issuer": "b"}));
    assert_eq!(active(list), ["jwt"]);
    s.save_handler_config("ldap", &json!({"url": "ldap://y"}), true, NOW + 3)
        .await
        .expect("store call");
    assert_eq!(
        active(s.handler_configs().await.expect("store call")),
        ["ldap"]
    );
}

/// Runs each contract function against both backends, as `sqlite::<name>`
/// and `postgres::<name>`.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let dir = tempfile::tempdir().expect("temp dir");
                    let store = auth_store::SqliteStore::open(dir.path().join("auth.db"))
                        .await
                        .expect("open");
                    super::$name(store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(cluster) = crate::support::pg::PgCluster::shared() else {
                        return;
                    };
                    let url = cluster.create_database().await;
                    let store = auth_store::PgStore::connect(&url).await.expect("connect");
                    super::$name(store).await;
                }
            )*
        }
    };
}

contract!(
    created_user_is_found_by_name_and_id_with_every_field,
    duplicate_username_is_a_conflict,
    unknown_user_is_none_or_not_found,
    empty_username_is_invalid,
    set_enabled_and_password_hash_change_the_user,
    replace_password_hash_replaces_only_the_hash_it_was_given,
    list_users_pages_in_username_order,
    list_users_filters_by_text_role_and_enabled,
    update_user_replaces_only_the_given_fields,
    delete_user_removes_the_user_and_their_roles,
    add_and_remove_roles_change_only_those_roles,
    concurrent_role_changes_lose_no_role,
    rotation_consumes_the_token_and_chains_the_family,
    reused_refresh_token_revokes_its_family,
    expired_or_unknown_refresh_token_is_invalid,
    concurrent_rotations_of_one_token_have_one_winner,
    revoking_a_family_or_a_user_deletes_their_tokens,
    recorded_tokens_list_newest_first_with_filters_and_pages,
    revoke_tokens_marks_matching_unexpired_tokens_and_refuses_them,
    revoke_client_tokens_refuses_every_token_up_to_the_cutoff,
    revoke_session_refuses_every_token_of_the_session_until_it_expires,
    delete_expired_removes_only_expired_tokens,
    saving_settings_keeps_exactly_one_active_handler,
);
