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

#[tokio::test]
async fn available_permissions_lists_every_resource() {
    let cli = app();
    let resp = cli.get("/auth/available-permissions").send().await;
    resp.assert_status_is_ok();
    let body = json_of(resp).await;
    assert_eq!(
        body["CONVERSATION"],
        json!(["DELETE", "EDIT", "LIST", "READ", "WRITE"])
    );
    assert_eq!(body.as_object().map(|o| o.len()), Some(11));
}

#[tokio::test]
async fn jwks_publishes_asymmetric_keys_only() {
    let cli = app();
    cli.get("/auth/.well-known/jwks.json")
        .send()
        .await
        .assert_status(StatusCode::NOT_FOUND);

    let pem = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../auth-core/tests/keys/p256.pem"
    ))
    .expect("key");
    let key = JwtKey::from_private_pem(Algorithm::ES256, &pem)
        .expect("key")
        .with_kid("es-1");
    let cli = TestClient::new(app_with(KeySet::single(key), "/auth").0);
    let resp = cli.get("/auth/.well-known/jwks.json").send().await;
    resp.assert_status_is_ok();
    let jwks = json_of(resp).await;
    assert_eq!(jwks["keys"][0]["kid"], "es-1");
    assert_eq!(jwks["keys"][0]["alg"], "ES256");
    assert!(jwks["keys"][0].get("d").is_none(), "never the private key");
    // Tokens minted by this service verify with what it publishes.
    let (access, _) = tokens(&cli).await;
    let published = JwtKey::from_jwk(&jwks["keys"][0]).expect("jwk");
    let v = auth_core::jwt::JwtValidator::new(KeySet::single(published), Validation::new());
    assert!(v.validate(&access).is_ok());
}

#[tokio::test]
async fn openid_configuration_needs_public_keys_and_a_url_issuer() {
    // A shared secret: nothing to publish.
    app()
        .get("/auth/.well-known/openid-configuration")
        .send()
        .await
        .assert_status(StatusCode::NOT_FOUND);
    // Public keys, but no issuer URL: other services could not discover it.
    let key = JwtKey::generate(Algorithm::EdDSA)
        .expect("key")
        .with_kid("ed-1");
    TestClient::new(app_with(KeySet::single(key), "/auth").0)
        .get("/auth/.well-known/openid-configuration")
        .send()
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn jwks_is_cacheable_for_the_published_max_age() {
    let key = JwtKey::generate(Algorithm::ES256)
        .expect("key")
        .with_kid("es-1");
    let resp = TestClient::new(app_with(KeySet::single(key), "/auth").0)
        .get("/auth/.well-known/jwks.json")
        .send()
        .await;
    resp.assert_status_is_ok();
    resp.assert_header(
        "cache-control",
        format!("public, max-age={}", auth_poem::JWKS_MAX_AGE_SECS),
    );
}

#[tokio::test]
async fn token_routes_mount_under_any_prefix() {
    let (app, _) = app_with(hs_keys(), "/v2/oauth");
    let cli = TestClient::new(app);
    let resp = cli
        .post("/v2/oauth/token")
        .body_json(&json!({"username": "alice", "password": "wonderland"}))
        .send()
        .await;
    resp.assert_status_is_ok();
}

#[tokio::test]
async fn without_a_token_service_login_answers_501() {
    let pipeline = Pipeline::builder()
        .handler(JwtHandler::new(hs_keys(), Validation::new()))
        .build()
        .expect("pipeline");
    let auth = PoemAuth::new(pipeline);
    let cli = TestClient::new(Route::new().nest("/auth", auth.routes()));
    let resp = cli
        .post("/auth/token")
        .body_json(&json!({"username": "a", "password": "b"}))
        .send()
        .await;
    resp.assert_status(StatusCode::NOT_IMPLEMENTED);
}

#[tokio::test]
async fn disabling_a_user_refuses_their_refresh_token_and_login() {
    let (app, users) = app_with(hs_keys(), "/auth");
    let cli = TestClient::new(app);
    let (_, refresh) = tokens(&cli).await;
    auth_core::UserStore::set_enabled(&*users, "alice", false)
        .await
        .expect("disable");
    let resp = cli
        .post("/auth/token")
        .body_json(&json!({"refresh_token": refresh}))
        .send()
        .await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
    login(&cli, "wonderland")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
}

#[test]
fn the_token_routes_appear_in_the_spec_with_both_body_types() {
    let pipeline = Pipeline::builder()
        .handler(JwtHandler::new(hs_keys(), Validation::new()))
        .build()
        .expect("pipeline");
    let auth = PoemAuth::new(pipeline);
    let spec: Value = serde_json::from_str(
        &poem_openapi::OpenApiService::new(auth.token_api(), "t", "1")
            .server("/auth")
            .spec(),
    )
    .expect("spec");
    let token = &spec["paths"]["/token"]["post"];
    let content = &token["requestBody"]["content"];
    let types: Vec<&str> = content
        .as_object()
        .expect("content")
        .keys()
        .map(String::as_str)
        .collect();
    assert!(
        types.iter().any(|t| t.starts_with("application/json")),
        "{types:?}"
    );
    assert!(
        types.contains(&"application/x-www-form-urlencoded"),
        "{types:?}"
    );
    assert!(token["responses"].get("200").is_some() && token["responses"].get("429").is_some());
    for path in [
        "/revoke",
        "/logout",
        "/me",
        "/available-permissions",
        "/.well-known/jwks.json",
        "/.well-known/openid-configuration",
    ] {
        assert!(spec["paths"].get(path).is_some(), "{path} missing");
    }
}

struct SecretApi;

#[poem_openapi::OpenApi]
impl SecretApi {
    /// A protected operation.
    #[oai(path = "/secret", method = "get")]
    async fn secret(&self, user: auth_poem::ApiAuth) -> poem_openapi::payload::PlainText<String> {
        poem_openapi::payload::PlainText(user.id.clone())
    }

    /// The API's own `/me`, which the token route's must not replace.
    #[oai(path = "/me", method = "get")]
    async fn me(&self) -> poem_openapi::payload::PlainText<String> {
        poem_openapi::payload::PlainText("mine".into())
    }
}

#[test]
fn the_served_spec_includes_the_token_routes_where_they_are_mounted() {
    let keys = Arc::new(hs_keys());
    let users = Arc::new(MemoryUserStore::new(
        PasswordHasher::fast_insecure_for_tests(),
    ));
    let tokens = Arc::new(TokenService::new(
        TokenIssuer::new(keys.clone(), None).expect("issuer"),
        users,
    ));
    let pipeline = Pipeline::builder()
        .handler(JwtHandler::new(keys, Validation::new()).with_revocations(tokens.revocations()))
        .build()
        .expect("pipeline");
    let auth = PoemAuth::from_pipeline(pipeline)
        .token_service(tokens)
        .token_url("/v2/auth/token")
        .build()
        .expect("auth");
    let service = poem_openapi::OpenApiService::new(SecretApi, "t", "1").server("/api");
    let spec: Value = serde_json::from_str(&auth.openapi_spec(&service)).expect("spec");
    // Every operation at its full served path: no path-level servers.
    let token = &spec["paths"]["/v2/auth/token"];
    assert!(token.get("servers").is_none(), "{token}");
    assert!(token["post"]["requestBody"].is_object());
    assert!(spec["components"]["schemas"].get("TokenResponse").is_some());
    for path in [
        "/v2/auth/revoke",
        "/v2/auth/logout",
        "/v2/auth/me",
        "/v2/auth/tokens",
    ] {
        assert!(spec["paths"].get(path).is_some(), "{path} missing");
    }
    // Signed with a shared secret: no JWKS, no discovery, so not listed.
    for path in [
        "/v2/auth/.well-known/jwks.json",
        "/v2/auth/.well-known/openid-configuration",
    ] {
        assert!(spec["paths"].get(path).is_none(), "{path} is not served");
    }
    // The API's own `/me`, under the API's server path, is the API's.
    assert_eq!(
        spec["paths"]["/api/me"]["get"]["summary"],
        "The API's own `/me`, which the token route's must not replace."
    );
    assert!(spec["paths"]["/api/secret"].is_object());
    assert_eq!(spec["servers"], json!([{"url": "/"}]));
    assert!(
        spec["paths"]
            .as_object()
            .expect("paths")
            .values()
            .all(|item| item.get("servers").is_none())
    );
}

#[test]
fn the_jwks_and_discovery_routes_are_listed_when_they_are_served() {
    let keys = Arc::new(KeySet::single(
        JwtKey::generate(Algorithm::EdDSA).expect("ed25519 key"),
    ));
    let users = Arc::new(MemoryUserStore::new(
        PasswordHasher::fast_insecure_for_tests(),
    ));
    let tokens = Arc::new(TokenService::new(
        TokenIssuer::new(keys.clone(), None)
            .expect("issuer")
            .issuer("https://api.example/auth"),
        users,
    ));
    let pipeline = Pipeline::builder()
        .handler(JwtHandler::new(keys, Validation::new()).with_revocations(tokens.revocations()))
        .build()
        .expect("pipeline");
    let auth = PoemAuth::from_pipeline(pipeline)
        .token_service(tokens)
        .build()
        .expect("auth");
    let service = poem_openapi::OpenApiService::new(SecretApi, "t", "1");
    let spec: Value = serde_json::from_str(&auth.openapi_spec(&service)).expect("spec");
    for path in [
        "/auth/.well-known/jwks.json",
        "/auth/.well-known/openid-configuration",
    ] {
        assert!(spec["paths"].get(path).is_some(), "{path} missing");
    }
}
