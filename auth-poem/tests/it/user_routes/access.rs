//! Who may call each route: 401 without a credential, 403 without the permission; self-update, conflicts and bad bodies.

use super::*;

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
