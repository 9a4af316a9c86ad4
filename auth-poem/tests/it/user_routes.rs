//! The user-management routes end to end, on the built-in store provider:
//! every route allowed and denied, 409, 404, 400, 501, provider logins and
//! refresh, sessions ended by disabling, and the OpenAPI document.

use std::net::IpAddr;
use std::sync::Arc;

use auth_core::jwt::{Algorithm, JwtKey, KeySet, TokenIssuer, Validation};
use auth_core::password::PasswordHasher;
use auth_core::provider::dynamic::DynProvider;
use auth_core::provider::store::StoreProvider;
use auth_core::provider::{AuthProvider, ClientData, NoPackage};
use auth_core::store::{ManageError, ManageResult};
use auth_core::throttle::{LoginThrottle, ThrottlePolicy};
use auth_core::tokens::TokenService;
use auth_core::{
    AuthPermission as P, AuthResource as R, JwtHandler, MemoryUserStore, PermissionSet, Pipeline,
    RoleMap, async_trait,
};
use auth_poem::PoemAuth;
use auth_test::{bearer, json_of, login, post_json_from, request};
use poem::http::StatusCode;
use poem::test::{TestClient, TestResponse};
use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::{OpenApi, OpenApiService, payload::PlainText};
use serde_json::{Value, json};

const ADMIN_PASSWORD: &str = "admin-password-for-tests";

struct Built {
    auth: PoemAuth,
    provider: Arc<StoreProvider>,
}

async fn build_with(provider: impl FnOnce(StoreProvider) -> StoreProvider) -> Built {
    build_with_roles(RoleMap::new().superuser("admin"), &[], provider).await
}

/// [`build_with`], believing `X-Forwarded-For` from `trusted_proxies`.
async fn build_behind(
    trusted_proxies: &[IpAddr],
    provider: impl FnOnce(StoreProvider) -> StoreProvider,
) -> Built {
    build_with_roles(RoleMap::new().superuser("admin"), trusted_proxies, provider).await
}

async fn build_with_roles(
    roles: RoleMap,
    trusted_proxies: &[IpAddr],
    provider: impl FnOnce(StoreProvider) -> StoreProvider,
) -> Built {
    let keys = Arc::new(KeySet::single(
        JwtKey::hmac(
            Algorithm::HS256,
            b"an-hmac-secret-for-the-user-routes-tests",
        )
        .expect("key"),
    ));
    let hasher = PasswordHasher::fast_insecure_for_tests();
    let store = Arc::new(MemoryUserStore::new(hasher.clone()));
    let tokens = Arc::new(
        TokenService::new(
            TokenIssuer::new(keys.clone(), None).expect("issuer"),
            store.clone(),
        )
        .with_hasher(hasher.clone())
        .with_roles(roles.clone())
        // Long waits, so no test sees one run out while it runs.
        .with_throttle(LoginThrottle::new(ThrottlePolicy {
            base_delay_secs: 600,
            max_delay_secs: 600,
            ..ThrottlePolicy::default()
        })),
    );
    let provider = Arc::new(provider(
        StoreProvider::new(store, hasher).with_sessions(tokens.clone()),
    ));
    provider
        .seed_admin_with("AUTH_ADMIN_PASSWORD", Some(ADMIN_PASSWORD.into()))
        .await
        .expect("seeded");
    let pipeline = Pipeline::builder()
        .roles(roles)
        .handler(JwtHandler::new(keys, Validation::new()).with_revocations(tokens.revocations()))
        .build()
        .expect("pipeline");
    let auth = PoemAuth::from_pipeline(pipeline)
        .token_service(tokens)
        .provider(provider.clone())
        .trusted_proxies(trusted_proxies.iter().copied())
        .build()
        .expect("auth");
    Built { auth, provider }
}

fn client(auth: &PoemAuth) -> TestClient<impl Endpoint> {
    TestClient::new(Route::new().nest("/auth", auth.routes()))
}

/// Creates `name` (base permissions, role `reader`) as the admin; its id.
async fn create<E: Endpoint>(cli: &TestClient<E>, admin: &str, name: &str) -> String {
    let resp = cli
        .post("/auth/users")
        .header("authorization", bearer(admin))
        .body_json(
            &json!({"username": name, "password": format!("{name}-password"), "roles": ["reader"]}),
        )
        .send()
        .await;
    resp.assert_status(StatusCode::CREATED);
    json_of(resp).await["client_id"]
        .as_str()
        .expect("id")
        .to_owned()
}

async fn call<E: Endpoint>(
    cli: &TestClient<E>,
    method: &str,
    path: &str,
    body: Option<&Value>,
    token: Option<&str>,
) -> TestResponse {
    let credential = token.map(|t| ("authorization", bearer(t)));
    request(cli, method, path, credential, body).await
}

#[tokio::test]
async fn every_admin_route_is_401_without_credentials_403_without_permission_and_ok_with_it() {
    let built = build_with(|p| p).await;
    let cli = client(&built.auth);
    let admin = login(&cli, "admin", ADMIN_PASSWORD).await;
    let target = create(&cli, &admin, "target").await;
    create(&cli, &admin, "reader").await;
    let reader = login(&cli, "reader", "reader-password").await;

    let roles = json!(["editor"]);
    let new_user = json!({"username": "newbie", "password": "newbie-password"});
    let update = json!({"extra": {"team": "blue"}});
    let user = format!("/auth/users/{target}");
    let routes: Vec<(&str, String, Option<&Value>, StatusCode)> = vec![
        (
            "POST",
            "/auth/users".into(),
            Some(&new_user),
            StatusCode::CREATED,
        ),
        ("GET", "/auth/users".into(), None, StatusCode::OK),
        ("GET", user.clone(), None, StatusCode::OK),
        ("PUT", user.clone(), Some(&update), StatusCode::OK),
        (
            "POST",
            format!("{user}/roles"),
            Some(&roles),
            StatusCode::OK,
        ),
        (
            "DELETE",
            format!("{user}/roles"),
            Some(&roles),
            StatusCode::OK,
        ),
        (
            "POST",
            format!("{user}/disable"),
            None,
            StatusCode::NO_CONTENT,
        ),
        (
            "POST",
            format!("{user}/enable"),
            None,
            StatusCode::NO_CONTENT,
        ),
        ("DELETE", user.clone(), None, StatusCode::NO_CONTENT),
    ];
    for (method, path, body, ok) in routes {
        let anonymous = call(&cli, method, &path, body, None).await;
        assert_eq!(
            anonymous.0.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path}"
        );
        let denied = call(&cli, method, &path, body, Some(&reader)).await;
        assert_eq!(denied.0.status(), StatusCode::FORBIDDEN, "{method} {path}");
        let allowed = call(&cli, method, &path, body, Some(&admin)).await;
        assert_eq!(allowed.0.status(), ok, "{method} {path}");
    }
    let gone = call(&cli, "GET", &user, None, Some(&admin)).await;
    gone.assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn self_update_needs_only_a_credential_and_a_new_password_ends_the_session() {
    let built = build_with(|p| p).await;
    let cli = client(&built.auth);
    let admin = login(&cli, "admin", ADMIN_PASSWORD).await;
    create(&cli, &admin, "ann").await;
    let ann = login(&cli, "ann", "ann-password").await;
    let profile = json!({"extra": {"nickname": "annie"}});
    call(&cli, "PATCH", "/auth/users/me", Some(&profile), None)
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    let resp = call(&cli, "PATCH", "/auth/users/me", Some(&profile), Some(&ann)).await;
    resp.assert_status_is_ok();
    assert_eq!(json_of(resp).await["extra"]["nickname"], "annie");

    let change = json!({"current_password": "ann-password", "password": "ann-new-password"});
    call(&cli, "PATCH", "/auth/users/me", Some(&change), Some(&ann))
        .await
        .assert_status_is_ok();
    call(&cli, "GET", "/auth/me", None, Some(&ann))
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    login(&cli, "ann", "ann-new-password").await;
}

#[tokio::test]
async fn a_wrong_current_password_counts_as_a_failed_login_of_the_account() {
    let built = build_with(|p| p).await;
    let cli = client(&built.auth);
    let admin = login(&cli, "admin", ADMIN_PASSWORD).await;
    create(&cli, &admin, "ann").await;
    let ann = login(&cli, "ann", "ann-password").await;
    let guess = json!({"current_password": "a-guess", "password": "ann-new-password"});
    // Three free failures (the policy's default), then a wait.
    for _ in 0..4 {
        let resp = call(&cli, "PATCH", "/auth/users/me", Some(&guess), Some(&ann)).await;
        resp.assert_status(StatusCode::BAD_REQUEST);
    }
    let right = json!({"current_password": "ann-password", "password": "ann-new-password"});
    let resp = call(&cli, "PATCH", "/auth/users/me", Some(&right), Some(&ann)).await;
    resp.assert_status(StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.0.headers().contains_key("retry-after"));
    // The same budget as the token route's, whatever the spelling.
    let resp = auth_test::token_login(&cli, "Ann ", "ann-password").await;
    resp.assert_status(StatusCode::TOO_MANY_REQUESTS);
    // Another account is untouched.
    login(&cli, "admin", ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn a_taken_username_is_409_and_an_unknown_user_is_404() {
    let built = build_with(|p| p).await;
    let cli = client(&built.auth);
    let admin = login(&cli, "admin", ADMIN_PASSWORD).await;
    create(&cli, &admin, "ann").await;
    let again = json!({"username": "ann", "password": "another-password"});
    let resp = call(&cli, "POST", "/auth/users", Some(&again), Some(&admin)).await;
    resp.assert_status(StatusCode::CONFLICT);
    let body = json_of(resp).await;
    assert_eq!(body["error"], "conflict");
    assert!(
        body["detail"].as_str().is_some_and(|d| d.contains("ann")),
        "{body}"
    );

    let roles = json!(["x"]);
    let update = json!({"enabled": true});
    for (method, path, body) in [
        ("GET", "/auth/users/nobody", None),
        ("PUT", "/auth/users/nobody", Some(&update)),
        ("DELETE", "/auth/users/nobody", None),
        ("POST", "/auth/users/nobody/enable", None),
        ("POST", "/auth/users/nobody/disable", None),
        ("POST", "/auth/users/nobody/roles", Some(&roles)),
        ("DELETE", "/auth/users/nobody/roles", Some(&roles)),
    ] {
        let resp = call(&cli, method, path, body, Some(&admin)).await;
        assert_eq!(resp.0.status(), StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(json_of(resp).await["error"], "not_found");
    }
}

#[tokio::test]
async fn a_bad_body_is_400_naming_the_field() {
    let built = build_with(|p| p).await;
    let cli = client(&built.auth);
    let admin = login(&cli, "admin", ADMIN_PASSWORD).await;
    for (body, field) in [
        (json!({"username": "ann"}), "password"),
        (
            json!({"username": "ann", "password": "ann-password", "roles": "admin"}),
            "roles",
        ),
        (json!({"username": "ann", "password": "short"}), "password"),
        (
            json!({"username": "ann", "password": "ann-password", "rights": 1}),
            "rights",
        ),
    ] {
        let resp = call(&cli, "POST", "/auth/users", Some(&body), Some(&admin)).await;
        assert_eq!(resp.0.status(), StatusCode::BAD_REQUEST, "{body}");
        let answer = json_of(resp).await;
        assert_eq!(answer["error"], "invalid_input");
        assert!(
            answer["detail"].as_str().is_some_and(|d| d.contains(field)),
            "{answer}"
        );
    }
    let resp = cli
        .post("/auth/users")
        .header("authorization", bearer(&admin))
        .content_type("application/json")
        .body("{not json")
        .send()
        .await;
    resp.assert_status(StatusCode::BAD_REQUEST);
    let resp = call(
        &cli,
        "POST",
        "/auth/users/admin/roles",
        Some(&json!({"roles": []})),
        Some(&admin),
    )
    .await;
    resp.assert_status(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn granting_permissions_one_lacks_is_403() {
    let built = build_with(|p| p).await;
    let cli = client(&built.auth);
    let admin = login(&cli, "admin", ADMIN_PASSWORD).await;
    let body = json!({"username": "clerk", "password": "clerk-password", "permissions": {"USERS": ["WRITE", "READ"]}});
    call(&cli, "POST", "/auth/users", Some(&body), Some(&admin))
        .await
        .assert_status(StatusCode::CREATED);
    let clerk = login(&cli, "clerk", "clerk-password").await;
    let escalate = json!({"username": "boss", "password": "boss-password", "permissions": {"USERS": ["DELETE"]}});
    let resp = call(&cli, "POST", "/auth/users", Some(&escalate), Some(&clerk)).await;
    resp.assert_status(StatusCode::FORBIDDEN);
    assert_eq!(json_of(resp).await["error"], "forbidden");
    let modest = json!({"username": "helper", "password": "helper-password", "permissions": {"USERS": ["READ"]}});
    call(&cli, "POST", "/auth/users", Some(&modest), Some(&clerk))
        .await
        .assert_status(StatusCode::CREATED);
}

/// What `clerk` (every USERS permission and the base set, no role) may
/// not hand out: a role bringing a permission the clerk lacks, the
/// superuser role, a permission the clerk lacks.
fn escalations() -> Vec<(&'static str, Value, Value)> {
    vec![
        (
            "role",
            json!(["moderator"]),
            json!({"roles": ["moderator"]}),
        ),
        (
            "superuser role",
            json!(["admin"]),
            json!({"roles": ["admin"]}),
        ),
        (
            "undefined role",
            json!(["editor"]),
            json!({"roles": ["editor"]}),
        ),
        (
            "permission",
            json!([]),
            json!({"permissions": {"SETTINGS": ["EDIT"]}}),
        ),
    ]
}

#[tokio::test]
async fn no_route_grants_a_role_or_permission_the_caller_lacks_nor_changes_the_callers_own() {
    let roles = RoleMap::new()
        .superuser("admin")
        .role("moderator", [(R::Memory, P::Delete)].into_iter().collect())
        .role("lister", [(R::Users, P::List)].into_iter().collect());
    let built = build_with_roles(roles, &[], |p| p).await;
    let cli = client(&built.auth);
    let admin = login(&cli, "admin", ADMIN_PASSWORD).await;
    let mut clerk_permissions = PermissionSet::base();
    for p in [P::Read, P::Write, P::Edit, P::List, P::Delete] {
        clerk_permissions.insert(R::Users, p);
    }
    let clerk_body = json!({
        "username": "clerk",
        "password": "clerk-password",
        "permissions": clerk_permissions,
    });
    let resp = call(&cli, "POST", "/auth/users", Some(&clerk_body), Some(&admin)).await;
    resp.assert_status(StatusCode::CREATED);
    let clerk_id = json_of(resp).await["client_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let other_body = json!({"username": "other", "password": "other-password"});
    let resp = call(&cli, "POST", "/auth/users", Some(&other_body), Some(&admin)).await;
    resp.assert_status(StatusCode::CREATED);
    let other = json_of(resp).await["client_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let clerk = login(&cli, "clerk", "clerk-password").await;
    let admin_id = json_of(call(&cli, "GET", "/auth/me", None, Some(&admin)).await).await["id"]
        .as_str()
        .expect("admin id")
        .to_owned();
    let snapshot = |id: String| {
        let cli = &cli;
        let admin = admin.clone();
        async move {
            let user =
                json_of(call(cli, "GET", &format!("/auth/users/{id}"), None, Some(&admin)).await)
                    .await;
            (user["roles"].clone(), user["permissions"].clone())
        }
    };

    let mut refused = 0;
    for (what, roles, grant) in escalations() {
        let mut create_body = json!({"username": "boss", "password": "boss-password"});
        create_body
            .as_object_mut()
            .expect("object")
            .extend(grant.as_object().expect("object").clone());
        let mut attempts: Vec<(&str, String, Value)> = vec![
            ("POST", "/auth/users".into(), create_body),
            ("PUT", format!("/auth/users/{other}"), grant.clone()),
            ("PUT", format!("/auth/users/{clerk_id}"), grant.clone()),
        ];
        if roles != json!([]) {
            for target in [&other, &clerk_id] {
                attempts.push(("POST", format!("/auth/users/{target}/roles"), roles.clone()));
            }
        }
        for (method, path, body) in attempts {
            let before_other = snapshot(other.clone()).await;
            let before_clerk = snapshot(clerk_id.clone()).await;
            let resp = call(&cli, method, &path, Some(&body), Some(&clerk)).await;
            assert_eq!(
                resp.0.status(),
                StatusCode::FORBIDDEN,
                "{what}: {method} {path} {body}"
            );
            assert_eq!(
                json_of(resp).await["error"],
                "forbidden",
                "{what}: {method} {path}"
            );
            assert_eq!(
                snapshot(other.clone()).await,
                before_other,
                "{what}: {method} {path}"
            );
            assert_eq!(
                snapshot(clerk_id.clone()).await,
                before_clerk,
                "{what}: {method} {path}"
            );
            refused += 1;
        }
    }
    assert_eq!(refused, 18);
    let boss =
        json_of(call(&cli, "GET", "/auth/users?username=boss", None, Some(&admin)).await).await;
    assert_eq!(boss["users"], json!([]), "no refused create stored a user");

    // Even what the clerk could grant another, the clerk may not give itself.
    for (method, path, body) in [
        (
            "PUT",
            format!("/auth/users/{clerk_id}"),
            json!({"roles": ["lister"]}),
        ),
        (
            "POST",
            format!("/auth/users/{clerk_id}/roles"),
            json!(["lister"]),
        ),
        (
            "DELETE",
            format!("/auth/users/{clerk_id}/roles"),
            json!(["lister"]),
        ),
        (
            "PUT",
            format!("/auth/users/{clerk_id}"),
            json!({"permissions": {"USERS": ["READ"]}}),
        ),
    ] {
        let resp = call(&cli, method, &path, Some(&body), Some(&clerk)).await;
        assert_eq!(
            resp.0.status(),
            StatusCode::FORBIDDEN,
            "self: {method} {path}"
        );
        assert!(
            json_of(resp).await["detail"]
                .as_str()
                .is_some_and(|d| d.contains("your own")),
            "self: {method} {path}"
        );
    }
    // The administrator is out of the clerk's reach: no password reset, no
    // disabling, no deleting, no taking roles away.
    for (method, path, body) in [
        (
            "PUT",
            format!("/auth/users/{admin_id}"),
            Some(json!({"password": "taken-over-password"})),
        ),
        ("POST", format!("/auth/users/{admin_id}/disable"), None),
        ("POST", format!("/auth/users/{admin_id}/enable"), None),
        (
            "DELETE",
            format!("/auth/users/{admin_id}/roles"),
            Some(json!(["admin"])),
        ),
        ("DELETE", format!("/auth/users/{admin_id}"), None),
    ] {
        let resp = call(&cli, method, &path, body.as_ref(), Some(&clerk)).await;
        assert_eq!(
            resp.0.status(),
            StatusCode::FORBIDDEN,
            "admin: {method} {path}"
        );
        assert_eq!(json_of(resp).await["error"], "forbidden");
    }
    login(&cli, "admin", ADMIN_PASSWORD).await;

    // What the clerk holds, it may grant to others.
    call(
        &cli,
        "POST",
        &format!("/auth/users/{other}/roles"),
        Some(&json!(["lister"])),
        Some(&clerk),
    )
    .await
    .assert_status_is_ok();
    let helper = json!({"username": "helper", "password": "helper-password", "roles": ["lister"],
        "permissions": {"USERS": ["READ"]}});
    call(&cli, "POST", "/auth/users", Some(&helper), Some(&clerk))
        .await
        .assert_status(StatusCode::CREATED);
    // And a superuser may grant the superuser role, to another.
    call(
        &cli,
        "POST",
        &format!("/auth/users/{other}/roles"),
        Some(&json!(["admin"])),
        Some(&admin),
    )
    .await
    .assert_status_is_ok();
    let resp = call(
        &cli,
        "DELETE",
        &format!("/auth/users/{admin_id}/roles"),
        Some(&json!(["admin"])),
        Some(&admin),
    )
    .await;
    resp.assert_status(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn listing_pages_and_filters() {
    let built = build_with(|p| p).await;
    let cli = client(&built.auth);
    let admin = login(&cli, "admin", ADMIN_PASSWORD).await;
    for name in ["ann", "bob", "cy"] {
        create(&cli, &admin, name).await;
    }
    let names = |v: &Value| {
        v["users"]
            .as_array()
            .expect("users")
            .iter()
            .map(|u| u["username"].as_str().expect("name").to_owned())
            .collect::<Vec<_>>()
    };
    let page = json_of(
        call(
            &cli,
            "GET",
            "/auth/users?offset=1&limit=2",
            None,
            Some(&admin),
        )
        .await,
    )
    .await;
    assert_eq!(names(&page), ["ann", "bob"]);
    let readers =
        json_of(call(&cli, "GET", "/auth/users?role=reader", None, Some(&admin)).await).await;
    assert_eq!(names(&readers), ["ann", "bob", "cy"]);
    let by_name =
        json_of(call(&cli, "GET", "/auth/users?username=o", None, Some(&admin)).await).await;
    assert_eq!(names(&by_name), ["bob"]);
    let bob = by_name["users"][0]["client_id"]
        .as_str()
        .expect("id")
        .to_owned();
    call(
        &cli,
        "POST",
        &format!("/auth/users/{bob}/disable"),
        None,
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
    let disabled =
        json_of(call(&cli, "GET", "/auth/users?enabled=false", None, Some(&admin)).await).await;
    assert_eq!(names(&disabled), ["bob"]);
    let shown = disabled.to_string();
    assert!(
        !shown.contains("argon2") && !shown.contains("password"),
        "{shown}"
    );
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_and_logins() {
    let built = build_with(|p| p).await;
    let cli = client(&built.auth);
    let admin = login(&cli, "admin", ADMIN_PASSWORD).await;
    let ann_id = create(&cli, &admin, "ann").await;
    let resp = cli
        .post("/auth/token")
        .body_json(&json!({"username": "ann", "password": "ann-password"}))
        .send()
        .await;
    let pair = json_of(resp).await;
    let ann = pair["access_token"].as_str().expect("access");
    call(&cli, "GET", "/auth/me", None, Some(ann))
        .await
        .assert_status_is_ok();
    call(
        &cli,
        "POST",
        &format!("/auth/users/{ann_id}/disable"),
        None,
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
    call(&cli, "GET", "/auth/me", None, Some(ann))
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    cli.post("/auth/token")
        .body_json(&json!({"refresh_token": pair["refresh_token"]}))
        .send()
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    cli.post("/auth/token")
        .body_json(&json!({"username": "ann", "password": "ann-password"}))
        .send()
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn provider_login_answers_tokens_that_refresh() {
    let built = build_with(|p| p).await;
    let cli = client(&built.auth);
    let resp = cli
        .post("/auth/login")
        .body_json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await;
    resp.assert_status_is_ok();
    let pair = json_of(resp).await;
    let me =
        json_of(call(&cli, "GET", "/auth/me", None, pair["access_token"].as_str()).await).await;
    assert_eq!(me["name"], "admin");
    assert_eq!(me["roles"], json!(["admin"]));
    let resp = cli
        .post("/auth/token")
        .body_json(&json!({"refresh_token": pair["refresh_token"]}))
        .send()
        .await;
    resp.assert_status_is_ok();

    let wrong = cli
        .post("/auth/login")
        .body_json(&json!({"username": "admin", "password": "not-the-password"}))
        .send()
        .await;
    let unknown = cli
        .post("/auth/login")
        .body_json(&json!({"username": "nobody", "password": "not-the-password"}))
        .send()
        .await;
    assert_eq!(wrong.0.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.0.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(wrong).await, json_of(unknown).await);
    cli.post("/auth/login")
        .body_json(&json!({"user": "admin"}))
        .send()
        .await
        .assert_status(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn provider_login_throttle_keys_on_the_client_a_trusted_proxy_forwards() {
    let proxy: IpAddr = "10.0.0.1".parse().expect("ip");
    let built = build_behind(&[proxy], |p| p).await;
    let app = Route::new()
        .nest("/auth", built.auth.routes())
        .data(built.auth.clone());
    let wrong = json!({"username": "admin", "password": "not-the-password"});
    let right = json!({"username": "admin", "password": ADMIN_PASSWORD});
    for i in 1..=4 {
        let forwarded = format!("6.6.6.{i}, 198.51.100.7");
        let status = post_json_from(
            &app,
            "10.0.0.1:4000",
            Some(&forwarded),
            "/auth/login",
            &wrong,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let status = post_json_from(
        &app,
        "10.0.0.1:4000",
        Some("198.51.100.7"),
        "/auth/login",
        &right,
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let status = post_json_from(
        &app,
        "10.0.0.1:4000",
        Some("198.51.100.8"),
        "/auth/login",
        &right,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // An untrusted peer's forged header is no new client: it shares the
    // throttle of the address it comes from.
    for i in 1..=4 {
        let forged = format!("192.0.2.{i}");
        let status = post_json_from(
            &app,
            "203.0.113.9:4000",
            Some(&forged),
            "/auth/login",
            &wrong,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let status = post_json_from(
        &app,
        "203.0.113.9:4000",
        Some("192.0.2.99"),
        "/auth/login",
        &right,
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn self_registration_is_501_by_default_and_works_when_enabled() {
    let built = build_with(|p| p).await;
    let cli = client(&built.auth);
    let body = json!({"username": "eve", "password": "eve-password"});
    let resp = call(&cli, "POST", "/auth/register", Some(&body), None).await;
    resp.assert_status(StatusCode::NOT_IMPLEMENTED);
    let answer = json_of(resp).await;
    assert_eq!(answer["error"], "not_implemented");
    assert!(
        answer["detail"]
            .as_str()
            .is_some_and(|d| d.contains("disabled")),
        "{answer}"
    );

    let built = build_with(|p| p.with_self_registration(true, ["member"])).await;
    let cli = client(&built.auth);
    let resp = call(&cli, "POST", "/auth/register", Some(&body), None).await;
    resp.assert_status(StatusCode::CREATED);
    assert_eq!(json_of(resp).await["roles"], json!(["member"]));
    call(&cli, "POST", "/auth/register", Some(&body), None)
        .await
        .assert_status(StatusCode::CONFLICT);
    login(&cli, "eve", "eve-password").await;
    assert_eq!(AuthProvider::initialized(&*built.provider).await, Ok(true));
}

/// A provider that only logs people in.
struct LoginOnly;

#[async_trait]
impl AuthProvider for LoginOnly {
    type AuthPackage = auth_core::provider::store::LoginPackage;
    type CreatePackage = NoPackage;
    type RegisterPackage = NoPackage;
    type UpdatePackage = NoPackage;
    type SelfUpdatePackage = NoPackage;

    fn name(&self) -> &str {
        "login-only"
    }

    async fn authenticate(
        &self,
        package: auth_core::provider::store::LoginPackage,
    ) -> ManageResult<ClientData> {
        if package.username == "root" && package.password == "root-password" {
            Ok(ClientData {
                client_id: "root".into(),
                roles: ["admin".to_owned()].into(),
                ..ClientData::default()
            })
        } else {
            Err(ManageError::Unauthenticated)
        }
    }
}

#[tokio::test]
async fn a_capability_the_provider_lacks_is_501_and_so_is_having_no_provider() {
    let roles = RoleMap::new().superuser("admin");
    let (keys, tokens) = auth_test::token_service(8, roles.clone());
    let pipeline = || {
        Pipeline::builder()
            .roles(roles.clone())
            .handler(
                JwtHandler::new(keys.clone(), Validation::new())
                    .with_revocations(tokens.revocations()),
            )
            .build()
            .expect("pipeline")
    };
    let provider: Arc<dyn DynProvider> = Arc::new(LoginOnly);
    let auth = PoemAuth::from_pipeline(pipeline())
        .token_service(tokens.clone())
        .provider(provider)
        .build()
        .expect("auth");
    let cli = client(&auth);
    let root = login(&cli, "root", "root-password").await;
    let body = json!({"username": "x", "password": "x-password"});
    let roles_body = json!(["r"]);
    for (method, path, body) in [
        ("POST", "/auth/users", Some(&body)),
        ("GET", "/auth/users", None),
        ("GET", "/auth/users/root", None),
        ("PUT", "/auth/users/root", Some(&body)),
        ("DELETE", "/auth/users/root", None),
        ("POST", "/auth/users/root/enable", None),
        ("POST", "/auth/users/root/disable", None),
        ("POST", "/auth/users/root/roles", Some(&roles_body)),
        ("DELETE", "/auth/users/root/roles", Some(&roles_body)),
        ("PATCH", "/auth/users/me", Some(&body)),
        ("POST", "/auth/register", Some(&body)),
    ] {
        let resp = call(&cli, method, path, body, Some(&root)).await;
        assert_eq!(
            resp.0.status(),
            StatusCode::NOT_IMPLEMENTED,
            "{method} {path}"
        );
        assert_eq!(json_of(resp).await["error"], "not_implemented");
    }

    let bare = PoemAuth::from_pipeline(pipeline())
        .token_service(tokens)
        .build()
        .expect("auth");
    let cli = client(&bare);
    let token = auth_core::TokenIssuer::new(keys, None)
        .expect("issuer")
        .issue(&auth_core::Principal::new("root", auth_core::AuthMethod::Jwt).with_role("admin"))
        .expect("token");
    let resp = call(&cli, "GET", "/auth/users", None, Some(token.expose())).await;
    resp.assert_status(StatusCode::NOT_IMPLEMENTED);
    assert!(
        json_of(resp).await["detail"]
            .as_str()
            .is_some_and(|d| d.contains("PoemAuthBuilder::provider"))
    );
}

struct Api;

#[OpenApi]
impl Api {
    /// Health.
    #[oai(path = "/health", method = "get")]
    async fn health(&self) -> PlainText<&'static str> {
        PlainText("ok")
    }
}

#[tokio::test]
async fn the_openapi_document_shows_the_routes_their_permissions_and_package_schemas() {
    let built = build_with(|p| p).await;
    let spec: Value =
        serde_json::from_str(&built.auth.openapi_spec(&OpenApiService::new(Api, "t", "1")))
            .expect("json");
    let create = &spec["paths"]["/auth/users"]["post"];
    assert_eq!(
        create["x-required-permissions"],
        json!({"permission": "users:write"})
    );
    let schema = body_schema(create);
    assert!(schema["properties"]["username"].is_object(), "{schema}");
    assert_eq!(schema["properties"]["password"]["writeOnly"], true);
    assert!(create["responses"]["409"].is_object());
    assert!(create["responses"]["401"].is_object());
    assert_eq!(
        spec["paths"]["/auth/users/{id}"]["delete"]["x-required-permissions"],
        json!({"permission": "users:delete"})
    );
    assert_eq!(
        spec["paths"]["/auth/users"]["get"]["x-required-permissions"],
        json!({"permission": "users:list"})
    );
    let login = body_schema(&spec["paths"]["/auth/login"]["post"]);
    assert_eq!(login["required"], json!(["username", "password"]));
    assert!(
        body_schema(&spec["paths"]["/auth/users/me"]["patch"])["properties"]["current_password"]
            .is_object()
    );
    // At the full served path, and open to anyone.
    let register = &spec["paths"]["/auth/register"];
    assert!(register.get("servers").is_none(), "{register}");
    assert_eq!(register["post"]["security"], json!([]));
    assert!(spec["paths"].get("/register").is_none());
}

/// The JSON schema of an operation's request body, whatever its media type's parameters.
fn body_schema(operation: &Value) -> &Value {
    operation["requestBody"]["content"]
        .as_object()
        .and_then(|content| {
            content
                .iter()
                .find(|(media, _)| media.starts_with("application/json"))
        })
        .map_or(&Value::Null, |(_, media)| &media["schema"])
}
