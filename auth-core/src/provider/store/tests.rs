use serde_json::json;

use super::*;
use crate::MemoryUserStore;
use crate::provider::dynamic::DynProvider;

fn provider() -> StoreProvider {
    let hasher = PasswordHasher::fast_insecure_for_tests();
    StoreProvider::new(Arc::new(MemoryUserStore::new(hasher.clone())), hasher)
}

async fn with_ann(p: &StoreProvider) -> ClientData {
    DynProvider::create_client(
        p,
        json!({"username": "ann", "password": "ann-password", "roles": ["reader"]}),
    )
    .await
    .expect("created")
}

#[tokio::test]
async fn wrong_password_unknown_user_and_disabled_user_get_one_answer() {
    let p = provider();
    let ann = with_ann(&p).await;
    let login = |u: &str, pw: &str| json!({"username": u, "password": pw});
    let ok = DynProvider::authenticate(&p, login("ann", "ann-password"))
        .await
        .expect("logs in");
    assert_eq!(ok.client_id, ann.client_id);
    let wrong = DynProvider::authenticate(&p, login("ann", "nope-nope"))
        .await
        .expect_err("wrong");
    let unknown = DynProvider::authenticate(&p, login("nobody", "ann-password"))
        .await
        .expect_err("unknown");
    DynProvider::disable_client(&p, &ann.client_id)
        .await
        .expect("disabled");
    let disabled = DynProvider::authenticate(&p, login("ann", "ann-password"))
        .await
        .expect_err("disabled");
    assert_eq!(wrong, ManageError::Unauthenticated);
    assert_eq!(unknown, wrong);
    assert_eq!(disabled, wrong);
}

#[tokio::test]
async fn a_login_upgrades_a_hash_of_old_parameters_once() {
    let old = PasswordHasher::fast_insecure_for_tests();
    let current = PasswordHasher::with_params(16, 2, 1).expect("valid");
    let store = Arc::new(MemoryUserStore::new(old.clone()));
    with_ann(&StoreProvider::new(store.clone(), old)).await;
    let p = StoreProvider::new(store.clone(), current.clone());
    let hash = async || {
        store
            .find_by_username("ann")
            .await
            .expect("store call")
            .expect("ann")
            .password_hash
    };
    assert!(current.needs_rehash(&hash().await));
    let login = json!({"username": "ann", "password": "ann-password"});
    DynProvider::authenticate(&p, login.clone())
        .await
        .expect("logs in");
    let upgraded = hash().await;
    assert!(!current.needs_rehash(&upgraded), "{upgraded}");
    DynProvider::authenticate(&p, login)
        .await
        .expect("logs in with the new hash");
    assert_eq!(hash().await, upgraded, "a current hash is not rewritten");
}

#[tokio::test]
async fn created_users_get_base_permissions_unless_given_and_no_hash_is_shown() {
    let p = provider();
    let ann = with_ann(&p).await;
    assert_eq!(
        ann.extra["permissions"],
        serde_json::to_value(PermissionSet::base()).expect("json")
    );
    let shown = serde_json::to_string(&ann).expect("json");
    assert!(!shown.contains("argon2"), "{shown}");
    assert!(!shown.contains("ann-password"), "{shown}");
    let bob = DynProvider::create_client(
        &p,
        json!({"username": "bob", "password": "bob-password", "permissions": {"users": ["read"]}}),
    )
    .await
    .expect("bob");
    assert_eq!(bob.extra["permissions"], json!({"USERS": ["READ"]}));
}

#[tokio::test]
async fn bad_usernames_and_short_passwords_are_invalid() {
    let p = provider();
    for body in [
        json!({"username": "", "password": "long-enough"}),
        json!({"username": " ann", "password": "long-enough"}),
        json!({"username": "a\u{7}b", "password": "long-enough"}),
        json!({"username": "ann", "password": "short"}),
        json!({"username": "ann", "password": "x".repeat(MAX_PASSWORD_BYTES + 1)}),
        json!({"username": "ann", "password": "long-enough", "admin": true}),
    ] {
        let err = DynProvider::create_client(&p, body.clone())
            .await
            .expect_err("refused");
        assert_eq!(err.status(), 400, "{body}: {err}");
    }
}

#[tokio::test]
async fn self_registration_is_off_by_default_and_gives_no_roles_when_on() {
    let p = provider();
    let body = json!({"username": "eve", "password": "eve-password"});
    let err = DynProvider::client_self_register(&p, body.clone())
        .await
        .expect_err("off");
    assert_eq!(err.status(), 501);
    assert!(err.to_string().contains("disabled"), "{err}");

    let p = provider().with_self_registration(true, ["member"]);
    let eve = DynProvider::client_self_register(&p, body)
        .await
        .expect("on");
    assert_eq!(eve.roles, BTreeSet::from(["member".to_owned()]));
    let sneaky = json!({"username": "mal", "password": "mal-password", "roles": ["admin"]});
    assert_eq!(
        DynProvider::client_self_register(&p, sneaky)
            .await
            .expect_err("no roles in a registration")
            .status(),
        400
    );
}

#[tokio::test]
async fn self_update_of_the_password_needs_the_current_one() {
    let p = provider();
    let ann = with_ann(&p).await;
    let id = ann.client_id.as_str();
    let change = |current: Option<&str>| json!({"current_password": current, "password": "new-ann-password"});
    for bad in [None, Some("wrong-password")] {
        let err = DynProvider::client_self_update(&p, id, change(bad))
            .await
            .expect_err("refused");
        assert_eq!(err.status(), 400);
    }
    DynProvider::client_self_update(&p, id, change(Some("ann-password")))
        .await
        .expect("changed");
    let login = json!({"username": "ann", "password": "new-ann-password"});
    assert!(DynProvider::authenticate(&p, login).await.is_ok());
}

#[tokio::test]
async fn seeding_uses_the_given_password_or_generates_a_long_one_once() {
    let p = provider();
    let seed = p.seed_admin_with("X_ADMIN", None).await.expect("seeded");
    let AdminSeed::Generated { password, id } = seed else {
        panic!("generated expected");
    };
    assert!(password.expose_secret().len() >= 20);
    let admin = DynProvider::get_client(&p, &id).await.expect("admin");
    assert_eq!(admin.roles, BTreeSet::from([ADMIN_ROLE.to_owned()]));
    assert_eq!(
        admin.extra["permissions"],
        serde_json::to_value(PermissionSet::full()).expect("json")
    );
    let login = json!({"username": "admin", "password": password.expose_secret()});
    assert!(DynProvider::authenticate(&p, login).await.is_ok());
    assert!(matches!(
        p.seed_admin_with("X_ADMIN", Some("another password".into()))
            .await
            .expect("ok"),
        AdminSeed::Existing
    ));

    let other = provider();
    let other_seed = other
        .seed_admin_with("X_ADMIN", None)
        .await
        .expect("seeded");
    let AdminSeed::Generated {
        password: other_pw, ..
    } = other_seed
    else {
        panic!("generated expected");
    };
    assert_ne!(other_pw.expose_secret(), password.expose_secret());
}

#[tokio::test]
async fn a_short_admin_password_in_the_environment_is_refused() {
    let err = provider()
        .seed_admin_with("X_ADMIN", Some("short".into()))
        .await
        .expect_err("refused");
    assert!(matches!(&err, ManageError::Misconfigured(m) if m.starts_with("X_ADMIN")));
}

#[test]
fn debug_never_shows_passwords() {
    let pkg = LoginPackage {
        username: "ann".into(),
        password: "hunter22".into(),
    };
    let seed = AdminSeed::Generated {
        id: "1".into(),
        password: SecretString::from("hunter22"),
    };
    for shown in [format!("{pkg:?}"), format!("{seed:?}")] {
        assert!(!shown.contains("hunter22"), "{shown}");
    }
}
