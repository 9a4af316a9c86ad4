//! SQLite keeps everything across a restart: open, write, drop, reopen.

use std::collections::BTreeSet;

use auth_core::PermissionSet;
use auth_core::store::RevocationCheck;
use auth_core::store::{
    HandlerConfigStore, NewUser, TokenFilter, TokenRecord, TokenStore, UserAdmin, UserFilter,
};
use auth_core::store::{RefreshRecord, RefreshStore, hash_refresh_token};
use auth_store::{SqliteStore, StoreSettings};
use serde_json::json;

const NOW: i64 = 1_700_000_000;
const LATER: i64 = 4_000_000_000;

fn record(jti: &str, client: &str) -> TokenRecord {
    TokenRecord {
        jti: jti.to_owned(),
        client_id: client.to_owned(),
        roles: BTreeSet::from(["reader".to_owned()]),
        created_at: NOW,
        expires_at: LATER,
        issued_by: "login".to_owned(),
        revoked: false,
    }
}

#[tokio::test]
async fn a_restart_loses_no_user_token_revocation_or_setting() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The directory of the file does not exist yet: it is created.
    let path = dir.path().join("nested").join("auth.db");
    let refresh_hash = hash_refresh_token("refresh-1");
    let alice_id = {
        let store = SqliteStore::open(&path).await.expect("first open");
        let alice = store
            .create_user(NewUser {
                username: "alice".into(),
                password_hash: "$argon2id$alice".into(),
                roles: BTreeSet::from(["admin".to_owned()]),
                permissions: PermissionSet::base(),
                enabled: true,
                extra: json!({"email": "a@example.org"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            })
            .await
            .expect("create");
        store
            .record_token(record("t-kept", &alice.id))
            .await
            .expect("record");
        store
            .record_token(record("t-revoked", &alice.id))
            .await
            .expect("record");
        let one = TokenFilter {
            jti: Some("t-revoked".into()),
            ..TokenFilter::default()
        };
        assert_eq!(store.revoke_tokens(&one, NOW).await.expect("revoke"), 1);
        store
            .revoke_client_tokens("bob", NOW)
            .await
            .expect("revoke client");
        store
            .revoke_session("s-ended", LATER)
            .await
            .expect("revoke session");
        store
            .save_handler_config("jwt", &json!({"issuer": "me"}), true, NOW)
            .await
            .expect("settings");
        store
            .insert(
                refresh_hash,
                RefreshRecord {
                    family: "fam".into(),
                    user_id: alice.id.clone(),
                    created_at: NOW,
                    expires_at: LATER,
                    family_expires_at: LATER,
                    used: false,
                },
            )
            .await
            .expect("refresh");
        store.close().await;
        alice.id
    };

    // Reopened through the settings, as an application would.
    let url = format!("sqlite://{}", path.display());
    let stores = StoreSettings::new(url).open().await.expect("reopen");
    let alice = stores
        .users
        .find_by_username("alice")
        .await
        .expect("find")
        .expect("alice survives");
    assert_eq!(alice.id, alice_id);
    assert_eq!(alice.roles, BTreeSet::from(["admin".to_owned()]));
    assert_eq!(alice.extra["email"], "a@example.org");
    assert_eq!(
        stores
            .users
            .list_users(&UserFilter::default(), Default::default())
            .await
            .expect("list")
            .len(),
        1
    );
    let tokens = stores
        .tokens
        .list_tokens(&TokenFilter::default(), NOW, Default::default())
        .await
        .expect("tokens");
    let state: Vec<_> = tokens.iter().map(|t| (t.jti.as_str(), t.revoked)).collect();
    assert_eq!(state, [("t-kept", false), ("t-revoked", true)]);
    // Revocations are loaded back into memory for the JWT handler.
    let revs = stores.revocations.clone();
    assert!(revs.is_revoked(Some("t-revoked"), None, &alice_id, Some(NOW)));
    assert!(!revs.is_revoked(Some("t-kept"), None, &alice_id, Some(NOW)));
    assert!(revs.is_revoked(Some("any"), None, "bob", Some(NOW)));
    assert!(revs.is_revoked(Some("any"), Some("s-ended"), &alice_id, Some(NOW)));
    assert!(!revs.is_revoked(Some("any"), Some("s-live"), &alice_id, Some(NOW)));
    let settings = stores
        .handler_configs
        .handler_configs()
        .await
        .expect("settings");
    assert_eq!(settings.len(), 1);
    assert!(settings[0].active);
    assert_eq!(settings[0].config, json!({"issuer": "me"}));
    assert_eq!(
        stores
            .refresh
            .family_of(&refresh_hash)
            .await
            .expect("family")
            .as_deref(),
        Some("fam")
    );
}
