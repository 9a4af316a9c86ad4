//! What an administrator does with the registry: listing, revoking, cleaning up, issuing, ending sessions; and a registry that fails or is absent.

use super::*;

#[tokio::test]
async fn admin_lists_tokens_by_client_and_role_without_expired_ones() {
    let app = app();
    let admin = app.login("admin").await;
    app.login("alice").await;
    app.login("bob").await;
    let (status, short) = app
        .call(
            "POST",
            "/auth/tokens",
            Some(&admin),
            Some(json!({"client_id": "bob", "roles": ["writer"], "lifetime_seconds": 60})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{short}");

    let (status, page) = app.call("GET", "/auth/tokens", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(jtis(&page).len(), 4);
    let (_, page) = app
        .call("GET", "/auth/tokens?client_id=bob", Some(&admin), None)
        .await;
    assert_eq!(jtis(&page).len(), 2);
    let (_, page) = app
        .call("GET", "/auth/tokens?role=writer", Some(&admin), None)
        .await;
    assert_eq!(jtis(&page).len(), 2);
    let (_, page) = app
        .call("GET", "/auth/tokens?limit=1&offset=1", Some(&admin), None)
        .await;
    assert_eq!(jtis(&page).len(), 1);
    assert_eq!(page["offset"], 1);

    app.clock.advance(61);
    let (_, page) = app
        .call("GET", "/auth/tokens?client_id=bob", Some(&admin), None)
        .await;
    assert_eq!(jtis(&page).len(), 1, "the 60 s token has expired");
    let (_, page) = app
        .call(
            "GET",
            "/auth/tokens?client_id=bob&include_expired=true",
            Some(&admin),
            None,
        )
        .await;
    assert!(jtis(&page).contains(&short["jti"].as_str().expect("jti").to_owned()));

    app.assert_admin_only("GET", "/auth/tokens", None).await;
}

#[tokio::test]
async fn admin_revokes_a_filtered_set_at_once_and_gets_the_count() {
    let app = app();
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let bob1 = app.login("bob").await;
    let bob2 = app.login("bob").await;

    let (status, body) = app
        .call(
            "POST",
            "/auth/tokens/revoke",
            Some(&admin),
            Some(json!({"client_id": "bob"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"revoked": 2}));
    assert_eq!(app.me(&bob1).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.me(&bob2).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.me(&alice).await, StatusCode::OK);

    // An empty filter revokes nothing by mistake.
    let (status, body) = app
        .call("POST", "/auth/tokens/revoke", Some(&admin), Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid");
    assert_eq!(app.me(&alice).await, StatusCode::OK);

    app.assert_admin_only("POST", "/auth/tokens/revoke", Some(json!({"all": true})))
        .await;
    // The refused call revoked nothing.
    assert_eq!(app.me(&alice).await, StatusCode::OK);

    let (status, body) = app
        .call(
            "POST",
            "/auth/tokens/revoke",
            Some(&admin),
            Some(json!({"all": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // alice's two (one from assert_admin_only) and the admin's own.
    assert_eq!(body, json!({"revoked": 3}));
    assert_eq!(app.me(&alice).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.me(&admin).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cleanup_deletes_expired_records_only() {
    let app = app();
    let admin = app.login("admin").await;
    for _ in 0..2 {
        let (status, _) = app
            .call(
                "POST",
                "/auth/tokens",
                Some(&admin),
                Some(json!({"client_id": "alice", "roles": [], "lifetime_seconds": 60})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    app.clock.advance(120);
    let (status, body) = app
        .call("DELETE", "/auth/tokens/expired", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"deleted": 2}));
    let left = app
        .store
        .list_tokens(
            &TokenFilter {
                include_expired: true,
                ..TokenFilter::default()
            },
            START + 120,
            Page::default(),
        )
        .await
        .expect("list");
    assert_eq!(left.len(), 1, "the admin's own token is still live");
    let (_, body) = app
        .call("DELETE", "/auth/tokens/expired", Some(&admin), None)
        .await;
    assert_eq!(body, json!({"deleted": 0}));

    app.assert_admin_only("DELETE", "/auth/tokens/expired", None)
        .await;
}

#[tokio::test]
async fn admin_issues_a_recorded_token_with_a_subset_of_the_clients_roles() {
    let app = app();
    let admin = app.login("root").await;
    let (status, body) = app
        .call(
            "POST",
            "/auth/tokens",
            Some(&admin),
            Some(json!({"client_id": "bob", "roles": ["reader"], "lifetime_seconds": 3600})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["token_type"], "bearer");
    let token = body["access_token"].as_str().expect("token");
    let me = auth_test::me(&app.cli, token).await;
    assert_eq!(me["id"], "bob");
    assert_eq!(me["roles"], json!(["reader"]));

    let (_, page) = app
        .call("GET", "/auth/tokens?client_id=bob", Some(&admin), None)
        .await;
    let listed = &page["tokens"][0];
    assert_eq!(listed["jti"], body["jti"]);
    assert_eq!(listed["issued_by"], "root");
    assert_eq!(listed["roles"], json!(["reader"]));

    app.assert_admin_only(
        "POST",
        "/auth/tokens",
        Some(json!({"client_id": "bob", "roles": [], "lifetime_seconds": 3600})),
    )
    .await;
}

#[tokio::test]
async fn issuing_refuses_lifetimes_out_of_bounds_foreign_roles_and_unknown_clients() {
    let app = app();
    let admin = app.login("root").await;
    let issue = |body: Value| {
        let admin = admin.clone();
        let app = &app;
        async move {
            app.call("POST", "/auth/tokens", Some(&admin), Some(body))
                .await
        }
    };
    for lifetime in [59, 7 * 24 * 3600 + 1, -1] {
        let (status, body) =
            issue(json!({"client_id": "bob", "roles": [], "lifetime_seconds": lifetime})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{lifetime}");
        assert_eq!(body["error"], "invalid");
        assert!(
            body["detail"]
                .as_str()
                .expect("detail")
                .contains("between 60 and 604800")
        );
    }
    let (status, body) =
        issue(json!({"client_id": "bob", "roles": ["reader", "ops"], "lifetime_seconds": 60}))
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "forbidden");
    assert!(body["detail"].as_str().expect("detail").contains("subset"));
    let (status, body) =
        issue(json!({"client_id": "nobody", "roles": [], "lifetime_seconds": 60})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");

    let (_, page) = app
        .call(
            "GET",
            "/auth/tokens?include_expired=true",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        jtis(&page).len(),
        1,
        "no refused request left a token behind"
    );
}

#[tokio::test]
async fn nobody_mints_a_token_for_a_client_more_powerful_than_themselves() {
    let app = app();
    // admin holds the base set, USERS:LIST, DELETE and WRITE and the role `ops`.
    let admin = app.login("admin").await;
    for (client, why) in [
        ("root", "a superuser"),
        ("carol", "a permission admin lacks"),
    ] {
        let (status, body) = app
            .call(
                "POST",
                "/auth/tokens",
                Some(&admin),
                Some(json!({"client_id": client, "roles": [], "lifetime_seconds": 3600})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{client}: {why}");
        assert_eq!(body["error"], "forbidden");
        assert!(
            body["detail"].as_str().expect("detail").contains(client),
            "{body}"
        );
    }
    let (_, page) = app
        .call(
            "GET",
            "/auth/tokens?include_expired=true",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        jtis(&page).len(),
        1,
        "no refused request left a token behind"
    );
    let (status, body) = app
        .call(
            "POST",
            "/auth/tokens",
            Some(&admin),
            Some(json!({"client_id": "dave", "roles": ["ops"], "lifetime_seconds": 3600})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "dave holds less than admin: {body}"
    );
}

#[tokio::test]
async fn an_administrator_ends_a_session_as_a_whole_and_no_other() {
    let app = app();
    let admin = app.login("admin").await;
    let (first, refresh) = app.login_pair("alice").await;
    let (status, next) = app
        .call(
            "POST",
            "/auth/token",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{next}");
    let second = next["access_token"].as_str().expect("access").to_owned();
    let other = app.login("alice").await;
    let sid = auth_test::me(&app.cli, &second).await["extra"]["sid"]
        .as_str()
        .expect("sid")
        .to_owned();
    app.assert_admin_only("DELETE", &format!("/auth/tokens/sessions/{sid}"), None)
        .await;
    assert_eq!(
        app.me(&first).await,
        StatusCode::OK,
        "alice could not end it"
    );
    let (status, _) = app
        .call(
            "DELETE",
            &format!("/auth/tokens/sessions/{sid}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.me(&first).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.me(&second).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.me(&other).await,
        StatusCode::OK,
        "another session lives on"
    );
    let (status, _) = app
        .call(
            "POST",
            "/auth/token",
            None,
            Some(json!({"refresh_token": next["refresh_token"]})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "its refresh token ended too"
    );
}

#[tokio::test]
async fn logout_over_http_ends_the_earlier_access_tokens_of_the_session() {
    let app = app();
    let (first, refresh) = app.login_pair("alice").await;
    let (_, next) = app
        .call(
            "POST",
            "/auth/token",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    let second = next["access_token"].as_str().expect("access").to_owned();
    let (status, _) = app.call("POST", "/auth/logout", Some(&second), None).await;
    assert!(status.is_success(), "{status}");
    assert_eq!(app.me(&first).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.me(&second).await, StatusCode::UNAUTHORIZED);
}

/// A registry that cannot be reached.
struct DownStore;

#[async_trait]
impl TokenStore for DownStore {
    async fn record_token(&self, _: TokenRecord) -> ManageResult<()> {
        Err(ManageError::Unavailable("connection refused".into()))
    }
    async fn list_tokens(
        &self,
        _: &TokenFilter,
        _: i64,
        _: Page,
    ) -> ManageResult<Vec<TokenRecord>> {
        Err(ManageError::Unavailable("connection refused".into()))
    }
    async fn revoke_tokens(&self, _: &TokenFilter, _: i64) -> ManageResult<u64> {
        Err(ManageError::Unavailable("connection refused".into()))
    }
    async fn revoke_session(&self, _: &str, _: i64) -> ManageResult<()> {
        Err(ManageError::Unavailable("connection refused".into()))
    }
    async fn revoke_client_tokens(&self, _: &str, _: i64) -> ManageResult<()> {
        Err(ManageError::Unavailable("connection refused".into()))
    }
    async fn delete_expired(&self, _: i64) -> ManageResult<u64> {
        Err(ManageError::Unavailable("connection refused".into()))
    }
}

#[tokio::test]
async fn a_registry_that_fails_refuses_the_login_with_503_and_no_token() {
    let app = app_with(Some(Arc::new(DownStore)), Arc::new(MemoryTokenStore::new()));
    let resp = app
        .cli
        .post("/auth/token")
        .body_json(&json!({"username": "alice", "password": "alice-pw"}))
        .send()
        .await;
    resp.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    let body = json_of(resp).await;
    assert!(body.get("access_token").is_none(), "{body}");
}

#[tokio::test]
async fn without_a_registry_the_token_routes_answer_501() {
    let app = app_with(None, Arc::new(MemoryTokenStore::new()));
    let alice = app.login("alice").await;
    let (status, body) = app
        .call("GET", "/auth/tokens/mine", Some(&alice), None)
        .await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
    assert_eq!(body["error"], "unsupported");
}
