//! The poem-openapi side end to end: a small `#[OpenApi]` API with a
//! protected, an optional and a public operation, its generated and patched
//! spec, Swagger UI, and the answers of each operation.
//!
//! The service is served under `/api` and says so (`server("/api")`): the
//! served spec keys its operations by the full served path, `/api/me`.

use std::sync::Arc;

use auth_core::jwt::{Algorithm, JwtKey, KeySet, Validation};
use auth_core::password::PasswordHasher;
use auth_core::{
    ApiKeyHandler, AuthMethod, BasicHandler, JwtHandler, MemoryUserStore, PermissionSet, Pipeline,
    Principal, Requirement, TokenIssuer,
};
use auth_poem::{ApiAuth, OptionalApiAuth, PoemAuth};
use poem::http::StatusCode;
use poem::test::{TestClient, TestResponse};
use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::payload::PlainText;
use poem_openapi::{OpenApi, OpenApiService};
use serde_json::{Value, json};

const HTTP_KEY: &str = "http-key-for-the-openapi-tests";
const KEY_HEADER: &str = "x-service-key";
const TOKEN_URL: &str = "/auth/v1/token";
const SECRET: &[u8] = b"an-hmac-secret-for-the-openapi-tests-of-poem-auth";
const REFUSED: &str = r#"Bearer error="invalid_token""#;

fn unauthorized_body() -> Value {
    json!({"error": "who are you?"})
}

fn forbidden_body() -> Value {
    json!({"error": "not for you"})
}

struct Api;

#[OpenApi]
impl Api {
    /// The caller's id; needs a credential.
    #[oai(path = "/me", method = "get")]
    async fn me(&self, user: ApiAuth) -> PlainText<String> {
        PlainText(user.id.clone())
    }

    /// Admins only.
    #[oai(path = "/admin", method = "get")]
    async fn admin(&self, user: ApiAuth) -> poem::Result<PlainText<String>> {
        user.require(&Requirement::role("admin"))?;
        Ok(PlainText(user.id.clone()))
    }

    /// The caller's id, or `anonymous`.
    #[oai(path = "/feed", method = "get")]
    async fn feed(&self, user: OptionalApiAuth) -> PlainText<String> {
        PlainText(
            user.principal()
                .map_or_else(|| "anonymous".to_owned(), |p| p.id.clone()),
        )
    }

    /// Open to all.
    #[oai(path = "/health", method = "get")]
    async fn health(&self) -> PlainText<&'static str> {
        PlainText("ok")
    }
}

fn keys() -> Arc<KeySet> {
    Arc::new(KeySet::single(
        JwtKey::hmac(Algorithm::HS256, SECRET).expect("hmac key"),
    ))
}

/// API keys, JWTs and Basic, so every scheme is documented.
fn auth() -> PoemAuth {
    let store = MemoryUserStore::new(PasswordHasher::fast_insecure_for_tests());
    let pipeline = Pipeline::builder()
        .handler(ApiKeyHandler::builder().http_key(HTTP_KEY).build())
        .handler(JwtHandler::new(keys(), Validation::new()))
        .handler(BasicHandler::new(Arc::new(store)))
        .build()
        .expect("pipeline");
    PoemAuth::from_pipeline(pipeline)
        .api_key_header(KEY_HEADER)
        .token_url(TOKEN_URL)
        .unauthorized_body(unauthorized_body())
        .forbidden_body(forbidden_body())
        .build()
        .expect("auth")
}

fn service() -> OpenApiService<Api, ()> {
    OpenApiService::new(Api, "OpenAPI e2e", "1.0").server("/api")
}

fn app() -> TestClient<impl Endpoint> {
    let auth = auth();
    let service = service();
    TestClient::new(
        Route::new()
            .nest("/", auth.openapi_endpoints(&service))
            .nest("/api", service)
            .data(auth),
    )
}

fn jwt_for(id: &str) -> String {
    let token = TokenIssuer::new(keys(), None)
        .expect("issuer")
        .issue(&Principal::new(id, AuthMethod::Basic).with_permissions(PermissionSet::base()))
        .expect("token");
    format!("Bearer {}", token.expose())
}

fn spec() -> Value {
    serde_json::from_str(&auth().openapi_spec(&service())).expect("spec is JSON")
}

/// The `GET` operation of the served spec at `/api` + `path`.
fn operation<'a>(spec: &'a Value, path: &str) -> &'a Value {
    &spec["paths"][format!("/api{path}")]["get"]
}

async fn get_with(
    cli: &TestClient<impl Endpoint>,
    path: &str,
    headers: &[(&str, &str)],
) -> TestResponse {
    let mut req = cli.get(path);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await
}

/// Status, `WWW-Authenticate` and body of a response.
async fn answer(resp: TestResponse) -> (StatusCode, Option<String>, String) {
    let status = resp.0.status();
    let challenge = resp.0.header("www-authenticate").map(str::to_owned);
    let text = resp.0.into_body().into_string().await.expect("body");
    (status, challenge, text)
}

// ---- the spec ----

#[test]
fn spec_documents_bearer_jwt_api_key_basic_and_oauth2_password_schemes() {
    let spec = spec();
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["bearer"]["bearerFormat"], "JWT");
    assert_eq!(schemes["api_key"]["type"], "apiKey");
    assert_eq!(schemes["api_key"]["in"], "header");
    assert_eq!(schemes["api_key"]["name"], KEY_HEADER);
    assert_eq!(schemes["basic"]["type"], "http");
    assert_eq!(schemes["basic"]["scheme"], "basic");
    assert_eq!(schemes["oauth2"]["type"], "oauth2");
    assert_eq!(
        schemes["oauth2"]["flows"],
        json!({"password": {"tokenUrl": TOKEN_URL, "refreshUrl": TOKEN_URL, "scopes": {}}})
    );
}

#[test]
fn protected_operation_lists_each_scheme_as_its_own_alternative() {
    assert_eq!(
        operation(&spec(), "/me")["security"],
        json!([{"bearer": []}, {"api_key": []}, {"basic": []}, {"oauth2": []}])
    );
}

#[test]
fn optional_operation_adds_the_empty_alternative() {
    assert_eq!(
        operation(&spec(), "/feed")["security"],
        json!([{"bearer": []}, {"api_key": []}, {"basic": []}, {"oauth2": []}, {}])
    );
}

#[test]
fn public_operation_has_no_security_and_no_refusal_answers() {
    let spec = spec();
    let health = operation(&spec, "/health");
    assert!(health.get("security").is_none(), "{health}");
    let responses = health["responses"].as_object().expect("responses");
    assert_eq!(responses.keys().collect::<Vec<_>>(), ["200"]);
}

#[test]
fn patched_spec_documents_401_and_403_with_the_configured_bodies_on_guarded_operations() {
    let spec = spec();
    for path in ["/me", "/admin", "/feed"] {
        let responses = &operation(&spec, path)["responses"];
        let unauthorized = &responses["401"];
        assert_eq!(
            unauthorized["description"], "Missing or invalid credentials",
            "{path}"
        );
        assert_eq!(
            unauthorized["content"]["application/json"]["example"],
            unauthorized_body(),
            "{path}"
        );
        assert!(
            unauthorized["headers"]["WWW-Authenticate"].is_object(),
            "{path}"
        );
        let forbidden = &responses["403"];
        assert_eq!(
            forbidden["description"], "Authenticated but not permitted",
            "{path}"
        );
        assert_eq!(
            forbidden["content"]["application/json"]["example"],
            forbidden_body(),
            "{path}"
        );
        assert!(responses["200"].is_object(), "{path}");
    }
}

#[test]
fn unpatched_spec_has_no_refusal_answers() {
    let _auth = auth();
    let raw: Value = serde_json::from_str(&service().spec()).expect("spec is JSON");
    for path in ["/me", "/feed", "/health"] {
        let responses = raw["paths"][path]["get"]["responses"]
            .as_object()
            .expect("responses");
        assert_eq!(responses.keys().collect::<Vec<_>>(), ["200"], "{path}");
    }
}

#[test]
fn bare_service_spec_shows_the_default_schemes_whatever_auth_was_built() {
    let _auth = auth();
    let raw: Value = serde_json::from_str(&service().spec()).expect("spec is JSON");
    let schemes = &raw["components"]["securitySchemes"];
    assert_eq!(schemes["api_key"]["name"], "x-api-key");
    assert_eq!(
        schemes["oauth2"]["flows"]["password"]["tokenUrl"],
        "/auth/token"
    );
    let served = spec();
    let schemes = &served["components"]["securitySchemes"];
    assert_eq!(schemes["api_key"]["name"], KEY_HEADER);
    assert_eq!(
        schemes["oauth2"]["flows"]["password"]["tokenUrl"],
        TOKEN_URL
    );
}

#[tokio::test]
async fn every_operation_of_the_served_spec_answers_at_its_documented_path() {
    let cli = app();
    let served = spec();
    let paths = served["paths"].as_object().expect("paths");
    assert!(
        paths.keys().all(|path| path.starts_with("/api/")),
        "{:?}",
        paths.keys()
    );
    assert_eq!(served["servers"], json!([{"url": "/"}]));
    for path in paths.keys() {
        let status = cli.get(path).send().await.0.status();
        assert!(
            status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
            "GET {path}: {status}"
        );
    }
}

#[tokio::test]
async fn openapi_json_route_serves_the_patched_spec() {
    let resp = app().get("/openapi.json").send().await;
    resp.assert_status_is_ok();
    resp.assert_content_type("application/json");
    let text = resp.0.into_body().into_string().await.expect("body");
    let served: Value = serde_json::from_str(&text).expect("spec is JSON");
    assert_eq!(served, spec());
}

#[tokio::test]
async fn docs_route_serves_swagger_ui_with_the_bundle_inline_and_the_login_set_up() {
    let resp = app().get("/docs").send().await;
    resp.assert_status_is_ok();
    let html = resp.0.into_body().into_string().await.expect("body");
    // Nothing to fetch: no external script or stylesheet.
    assert!(!html.contains("<script src") && !html.contains("<link"));
    assert!(html.contains("SwaggerUIBundle({"));
    assert!(html.contains(&format!(r#""tokenUrl":"{TOKEN_URL}""#)));
    assert!(html.contains("initOAuth("));
}

// ---- the answers ----

#[tokio::test]
async fn protected_operation_without_credential_is_401_with_challenge_and_configured_body() {
    let (status, challenge, body) = answer(get_with(&app(), "/api/me", &[]).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge.as_deref(), Some("Bearer"));
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("JSON"),
        unauthorized_body()
    );
}

#[tokio::test]
async fn protected_operation_opens_with_the_api_key_and_with_a_jwt() {
    let cli = app();
    let resp = get_with(&cli, "/api/me", &[(KEY_HEADER, HTTP_KEY)]).await;
    resp.assert_status_is_ok();
    resp.assert_text("user").await;

    let jwt = jwt_for("42");
    let resp = get_with(&cli, "/api/me", &[("authorization", &jwt)]).await;
    resp.assert_status_is_ok();
    resp.assert_text("42").await;
}

#[tokio::test]
async fn protected_operation_refuses_a_wrong_key_with_invalid_token_challenge() {
    let (status, challenge, _) =
        answer(get_with(&app(), "/api/me", &[(KEY_HEADER, "not-the-key")]).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge.as_deref(), Some(REFUSED));
}

#[tokio::test]
async fn missing_role_in_an_operation_is_403_with_the_configured_body() {
    let (status, challenge, body) =
        answer(get_with(&app(), "/api/admin", &[(KEY_HEADER, HTTP_KEY)]).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(challenge, None);
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("JSON"),
        forbidden_body()
    );
}

#[tokio::test]
async fn optional_operation_without_credential_answers_anonymously() {
    let resp = get_with(&app(), "/api/feed", &[]).await;
    resp.assert_status_is_ok();
    resp.assert_text("anonymous").await;
}

#[tokio::test]
async fn optional_operation_with_api_key_or_jwt_sees_the_principal() {
    let cli = app();
    let resp = get_with(
        &cli,
        "/api/feed",
        &[(KEY_HEADER, HTTP_KEY), ("user_id", "alice")],
    )
    .await;
    resp.assert_status_is_ok();
    resp.assert_text("alice").await;

    let jwt = jwt_for("42");
    let resp = get_with(&cli, "/api/feed", &[("authorization", &jwt)]).await;
    resp.assert_status_is_ok();
    resp.assert_text("42").await;
}

#[tokio::test]
async fn optional_operation_with_a_wrong_credential_is_401_not_anonymous() {
    let cli = app();
    let tampered = format!("{}x", jwt_for("42"));
    for headers in [
        [(KEY_HEADER, "not-the-key")],
        [("authorization", tampered.as_str())],
        [("authorization", "Basic %%%")],
    ] {
        let (status, challenge, body) = answer(get_with(&cli, "/api/feed", &headers).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{headers:?}");
        assert_eq!(challenge.as_deref(), Some(REFUSED), "{headers:?}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).expect("JSON"),
            unauthorized_body(),
            "{headers:?}"
        );
    }
}

#[tokio::test]
async fn public_operation_answers_without_credential() {
    let resp = get_with(&app(), "/api/health", &[]).await;
    resp.assert_status_is_ok();
    resp.assert_text("ok").await;
}

#[tokio::test]
async fn behind_the_layer_operations_take_the_principal_it_stored() {
    let auth = auth();
    let cli = TestClient::new(Route::new().nest("/api", service()).with(auth.layer()));
    let resp = get_with(&cli, "/api/me", &[(KEY_HEADER, HTTP_KEY)]).await;
    resp.assert_status_is_ok();
    resp.assert_text("user").await;
    // The layer refuses before the optional operation is reached.
    get_with(&cli, "/api/feed", &[])
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
}
