//! The contract of `RefreshStore`, `TokenStore` and `HandlerConfigStore`: rotation and reuse, the token registry and its revocations, and the one active handler.

use super::*;

pub(super) async fn rotation_consumes_the_token_and_chains_the_family<S: Backend>(s: S) {
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

pub(super) async fn reused_refresh_token_revokes_its_family<S: Backend>(s: S) {
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

pub(super) async fn expired_or_unknown_refresh_token_is_invalid<S: Backend>(s: S) {
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

pub(super) async fn concurrent_rotations_of_one_token_have_one_winner<S: Backend>(s: S) {
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

pub(super) async fn revoking_a_family_or_a_user_deletes_their_tokens<S: Backend>(s: S) {
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

pub(super) async fn recorded_tokens_list_newest_first_with_filters_and_pages<S: Backend>(s: S) {
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

pub(super) async fn revoke_tokens_marks_matching_unexpired_tokens_and_refuses_them<S: Backend>(
    s: S,
) {
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

pub(super) async fn revoke_client_tokens_refuses_every_token_up_to_the_cutoff<S: Backend>(s: S) {
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

pub(super) async fn revoke_session_refuses_every_token_of_the_session_until_it_expires<
    S: Backend,
>(
    s: S,
) {
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

pub(super) async fn delete_expired_removes_only_expired_tokens<S: Backend>(s: S) {
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

pub(super) async fn saving_settings_keeps_exactly_one_active_handler<S: Backend>(s: S) {
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
