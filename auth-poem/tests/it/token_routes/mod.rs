//! The token routes end to end: login (JSON and OAuth2 form), refresh
//! rotation and reuse detection, revocation, logout, throttling, `/me`, the
//! permission catalogue and JWKS.

use std::net::IpAddr;
use std::sync::Arc;

use auth_core::clock::{Clock, ManualClock, unix_now};
use auth_core::jwt::{Algorithm, JwtKey, KeySet, TokenIssuer, Validation};
use auth_core::password::PasswordHasher;
use auth_core::throttle::{LoginThrottle, ThrottlePolicy};
use auth_core::tokens::TokenService;
use auth_core::{JwtHandler, MemoryUserStore, PermissionSet, Pipeline};
use auth_poem::{Authenticated, PoemAuth};
use auth_test::{json_of, post_json_from};
use poem::http::StatusCode;
use poem::test::{TestClient, TestResponse};
use poem::{Endpoint, EndpointExt, Route, get, handler};
use serde_json::{Value, json};

mod published;

#[handler]
fn whoami(user: Authenticated) -> String {
    user.id.clone()
}

fn app_with(keys: KeySet, prefix: &str) -> (impl Endpoint, Arc<MemoryUserStore>) {
    app_behind(keys, prefix, &[])
}

/// [`app_with`], believing `X-Forwarded-For` from `trusted_proxies`.
fn app_behind(
    keys: KeySet,
    prefix: &str,
    trusted_proxies: &[IpAddr],
) -> (impl Endpoint, Arc<MemoryUserStore>) {
    let keys = Arc::new(keys);
    let hasher = PasswordHasher::fast_insecure_for_tests();
    let users = Arc::new(MemoryUserStore::new(hasher.clone()));
    users
        .add_user("alice", "wonderland", PermissionSet::base(), ["reader"])
        .expect("user");
    let throttle = ThrottlePolicy {
        free_attempts: 3,
        lockout_after: 5,
        ..ThrottlePolicy::default()
    };
    // The time stands still: the throttle counts in whole seconds, and a
    // second boundary between two logins must not end a backoff early.
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(unix_now()));
    let tokens = Arc::new(
        TokenService::new(
            TokenIssuer::new(keys.clone(), None)
                .expect("issuer")
                .with_clock(clock.clone()),
            users.clone(),
        )
        .with_hasher(hasher)
        .with_throttle(LoginThrottle::new(throttle))
        .with_clock(clock.clone()),
    );
    let pipeline = Pipeline::builder()
        .handler(
            JwtHandler::new(keys, Validation::new())
                .with_clock(clock)
                .with_revocations(tokens.revocations()),
        )
        .build()
        .expect("pipeline");
    let auth = PoemAuth::from_pipeline(pipeline)
        .token_service(tokens)
        .trusted_proxies(trusted_proxies.iter().copied())
        .build()
        .expect("auth");
    let app = Route::new()
        .nest(prefix, auth.routes())
        .at("/api/whoami", get(whoami).with(auth.layer()))
        .data(auth);
    (app, users)
}

fn app() -> TestClient<impl Endpoint> {
    TestClient::new(app_with(hs_keys(), "/auth").0)
}

fn hs_keys() -> KeySet {
    KeySet::single(
        JwtKey::hmac(
            Algorithm::HS256,
            b"an-hmac-secret-for-the-token-routes-tests",
        )
        .expect("key"),
    )
}

async fn login<E: Endpoint>(cli: &TestClient<E>, password: &str) -> TestResponse {
    cli.post("/auth/token")
        .body_json(&json!({"username": "alice", "password": password}))
        .send()
        .await
}

async fn tokens<E: Endpoint>(cli: &TestClient<E>) -> (String, String) {
    let resp = login(cli, "wonderland").await;
    resp.assert_status_is_ok();
    let body = json_of(resp).await;
    (
        body["access_token"].as_str().expect("access").to_owned(),
        body["refresh_token"].as_str().expect("refresh").to_owned(),
    )
}

async fn whoami_status<E: Endpoint>(cli: &TestClient<E>, token: &str) -> StatusCode {
    cli.get("/api/whoami")
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .0
        .status()
}

#[tokio::test]
async fn json_login_answers_bearer_tokens_that_open_protected_routes() {
    let cli = app();
    let resp = login(&cli, "wonderland").await;
    resp.assert_status_is_ok();
    let body = json_of(resp).await;
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 1440 * 60);
    let access = body["access_token"].as_str().expect("access");
    assert!(
        body["refresh_token"]
            .as_str()
            .is_some_and(|r| r.len() >= 43)
    );
    assert_eq!(whoami_status(&cli, access).await, StatusCode::OK);
    let me = auth_test::me(&cli, access).await;
    assert_eq!(me["id"], "alice");
    assert_eq!(me["roles"], json!(["reader"]));
    assert!(me["permissions"]["CONVERSATION"].is_array());
}

#[tokio::test]
async fn oauth2_password_form_login_works() {
    let cli = app();
    let resp = cli
        .post("/auth/token")
        .content_type("application/x-www-form-urlencoded")
        .body("grant_type=password&username=alice&password=wonderland&scope=conversation%3Aread")
        .send()
        .await;
    resp.assert_status_is_ok();
    let access = json_of(resp).await["access_token"]
        .as_str()
        .expect("access")
        .to_owned();
    assert_eq!(whoami_status(&cli, &access).await, StatusCode::OK);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_refusal() {
    let cli = app();
    let wrong = login(&cli, "nope").await;
    wrong.assert_status(StatusCode::UNAUTHORIZED);
    let wrong_body = json_of(wrong).await;
    assert_eq!(
        wrong_body,
        json!({"detail": {"error": "Invalid Credentials"}})
    );
    let unknown = cli
        .post("/auth/token")
        .body_json(&json!({"username": "nobody", "password": "wonderland"}))
        .send()
        .await;
    unknown.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(unknown).await, wrong_body);
}

#[tokio::test]
async fn oauth2_form_refusals_use_oauth2_error_codes() {
    let cli = app();
    let form = |body: &'static str| {
        cli.post("/auth/token")
            .content_type("application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let bad = form("grant_type=password&username=alice&password=nope").await;
    bad.assert_status(StatusCode::BAD_REQUEST);
    assert_eq!(json_of(bad).await, json!({"error": "invalid_grant"}));
    let unsupported = form("grant_type=client_credentials").await;
    unsupported.assert_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        json_of(unsupported).await,
        json!({"error": "unsupported_grant_type"})
    );
    let incomplete = form("grant_type=password&username=alice").await;
    assert_eq!(
        json_of(incomplete).await,
        json!({"error": "invalid_request"})
    );
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_refresh_token_ends_the_session() {
    let cli = app();
    let (_, first) = tokens(&cli).await;
    let resp = cli
        .post("/auth/token")
        .content_type("application/x-www-form-urlencoded")
        .body(format!("grant_type=refresh_token&refresh_token={first}"))
        .send()
        .await;
    resp.assert_status_is_ok();
    let body = json_of(resp).await;
    let second = body["refresh_token"].as_str().expect("rotated").to_owned();
    assert_ne!(second, first);
    // JSON refresh with the old token: reuse, refused, family revoked.
    let reuse = cli
        .post("/auth/token")
        .body_json(&json!({"refresh_token": first}))
        .send()
        .await;
    reuse.assert_status(StatusCode::UNAUTHORIZED);
    let after = cli
        .post("/auth/token")
        .body_json(&json!({"refresh_token": second}))
        .send()
        .await;
    after.assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refresh_and_access_tokens_are_not_interchangeable() {
    let cli = app();
    let (access, refresh) = tokens(&cli).await;
    assert_eq!(
        whoami_status(&cli, &refresh).await,
        StatusCode::UNAUTHORIZED
    );
    let resp = cli
        .post("/auth/token")
        .body_json(&json!({"refresh_token": access}))
        .send()
        .await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_revoked_access_token_is_refused_at_once_and_unknown_tokens_revoke_fine() {
    let cli = app();
    let (access, _) = tokens(&cli).await;
    assert_eq!(whoami_status(&cli, &access).await, StatusCode::OK);
    let resp = cli
        .post("/auth/revoke")
        .content_type("application/x-www-form-urlencoded")
        .body(format!("token={access}&token_type_hint=access_token"))
        .send()
        .await;
    resp.assert_status_is_ok();
    assert_eq!(whoami_status(&cli, &access).await, StatusCode::UNAUTHORIZED);
    for garbage in ["nope", "a.b.c"] {
        cli.post("/auth/revoke")
            .body_json(&json!({"token": garbage}))
            .send()
            .await
            .assert_status_is_ok();
    }
}

#[tokio::test]
async fn logout_ends_the_access_token_and_its_refresh_token() {
    let cli = app();
    let (access, refresh) = tokens(&cli).await;
    cli.post("/auth/logout")
        .header("authorization", format!("Bearer {access}"))
        .send()
        .await
        .assert_status_is_ok();
    assert_eq!(whoami_status(&cli, &access).await, StatusCode::UNAUTHORIZED);
    let resp = cli
        .post("/auth/token")
        .body_json(&json!({"refresh_token": refresh}))
        .send()
        .await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
    cli.post("/auth/logout")
        .send()
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled_with_retry_after() {
    let cli = app();
    for _ in 0..4 {
        login(&cli, "nope")
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
    }
    let resp = login(&cli, "wonderland").await;
    resp.assert_status(StatusCode::TOO_MANY_REQUESTS);
    let retry = resp
        .0
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    assert_eq!(retry.as_deref(), Some("1"));
}

fn alice(password: &str) -> Value {
    json!({"username": "alice", "password": password})
}

#[tokio::test]
async fn login_throttle_keys_on_the_peer_not_on_a_forged_forwarded_for() {
    let (app, _) = app_with(hs_keys(), "/auth");
    let peer = "203.0.113.9:4000";
    for i in 1..=4 {
        let forged = format!("198.51.100.{i}");
        let status = post_json_from(&app, peer, Some(&forged), "/auth/token", &alice("nope")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // A new forged address does not make a new client ...
    let status = post_json_from(
        &app,
        peer,
        Some("192.0.2.1"),
        "/auth/token",
        &alice("wonderland"),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // ... while another peer is a client of its own.
    let other = "203.0.113.10:4000";
    let status = post_json_from(&app, other, None, "/auth/token", &alice("wonderland")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_login_throttle_keys_on_the_forwarded_client() {
    let trusted: [IpAddr; 1] = ["10.0.0.1".parse().expect("ip")];
    let (app, _) = app_behind(hs_keys(), "/auth", &trusted);
    let through_proxy = "10.0.0.1:4000";
    for i in 1..=4 {
        // The client's own left-most entry changes; the hop the proxy added does not.
        let forwarded = format!("6.6.6.{i}, 198.51.100.7");
        let status = post_json_from(
            &app,
            through_proxy,
            Some(&forwarded),
            "/auth/token",
            &alice("nope"),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let status = post_json_from(
        &app,
        through_proxy,
        Some("1.1.1.1, 198.51.100.7"),
        "/auth/token",
        &alice("wonderland"),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Another client behind the same proxy is not throttled with the first.
    let status = post_json_from(
        &app,
        through_proxy,
        Some("198.51.100.8"),
        "/auth/token",
        &alice("wonderland"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}
