//! The contract of `UserStore` and `UserAdmin`: lookups, conflicts, paging, filters, updates and concurrent role changes.

use super::*;

pub(super) async fn created_user_is_found_by_name_and_id_with_every_field<S: Backend>(s: S) {
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

pub(super) async fn duplicate_username_is_a_conflict<S: Backend>(s: S) {
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

pub(super) async fn unknown_user_is_none_or_not_found<S: Backend>(s: S) {
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

pub(super) async fn empty_username_is_invalid<S: Backend>(s: S) {
    let err = s
        .create_user(new_user("  ", &[]))
        .await
        .expect_err("must be refused");
    assert!(matches!(err, ManageError::Invalid(_)), "{err:?}");
    assert_eq!(s.count_users().await.expect("count"), 0);
}

pub(super) async fn set_enabled_and_password_hash_change_the_user<S: Backend>(s: S) {
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

pub(super) async fn replace_password_hash_replaces_only_the_hash_it_was_given<S: Backend>(s: S) {
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

pub(super) async fn list_users_pages_in_username_order<S: Backend>(s: S) {
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

pub(super) async fn list_users_filters_by_text_role_and_enabled<S: Backend>(s: S) {
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

pub(super) async fn update_user_replaces_only_the_given_fields<S: Backend>(s: S) {
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

pub(super) async fn delete_user_removes_the_user_and_their_roles<S: Backend>(s: S) {
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

pub(super) async fn add_and_remove_roles_change_only_those_roles<S: Backend>(s: S) {
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

pub(super) async fn concurrent_role_changes_lose_no_role<S: Backend>(s: S) {
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
