//! Listing, disabling, logging in through the provider and its throttle.

use super::*;

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
