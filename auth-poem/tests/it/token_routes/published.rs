//! Available permissions, JWKS and discovery, prefixes, and the token routes in the spec.

use super::*;

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
