//! The poem layer end to end: a real `Route` behind `auth.layer()`, driven
//! through `poem::test::TestClient`.

use std::sync::Arc;

use auth_core::clock::{Clock, ManualClock, SystemClock};
use auth_core::jwt::{Algorithm, JwtKey, KeySet};
use auth_core::password::PasswordHasher;
use auth_core::{
    ApiKeyHandler, AuthError, AuthMethod, AuthPermission as P, AuthResource as R, AuthResult,
    BasicHandler, JwtHandler, MemoryUserStore, PermissionSet, Pipeline, Principal, Requirement,
    TokenIssuer, UserRecord, UserStore, async_trait, jwt::Validation,
};
use auth_poem::{Authenticated, PoemAuth};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use poem::http::StatusCode;
use poem::test::{TestClient, TestResponse};
use poem::web::Json;
use poem::{Endpoint, EndpointExt, Result, Route, get, handler};
use serde_json::{Value, json};

const HTTP_KEY: &str = "http-key-for-the-e2e-tests";
const WS_KEY: &str = "ws-key-for-the-e2e-tests";
const SECRET: &[u8] = b"an-hmac-secret-for-the-e2e-tests-of-poem-auth";
const ISSUER: &str = "poem-auth-e2e";
const AUDIENCE: &str = "api";

fn default_body() -> Value {
    json!({"detail": {"error": "Invalid Credentials"}})
}

/// The caller, as the route sees it.
#[handler]
fn me(user: Authenticated) -> Json<Value> {
    Json(json!({
        "id": user.id,
        "name": user.name,
        "method": user.method,
    }))
}

/// A route that needs `USERS:READ`.
#[handler]
fn users(user: Authenticated) -> Result<Json<Value>> {
    user.require(&Requirement::permission(R::Users, P::Read))?;
    Ok(Json(json!({"users": [user.id.clone()]})))
}

fn keys() -> Arc<KeySet> {
    Arc::new(KeySet::single(
        JwtKey::hmac(Algorithm::HS256, SECRET).expect("hmac key"),
    ))
}

/// Mints tokens the app accepts, on the given clock.
fn issuer_at(clock: Arc<dyn Clock>) -> TokenIssuer {
    TokenIssuer::new(keys(), None)
        .expect("issuer")
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .lifetime_minutes(60)
        .with_clock(clock)
}

fn token_for(principal: &Principal) -> String {
    issuer_at(Arc::new(SystemClock))
        .issue(principal)
        .expect("token")
        .expose()
        .to_owned()
}

fn store() -> Arc<MemoryUserStore> {
    let store = MemoryUserStore::new(PasswordHasher::fast_insecure_for_tests());
    store
        .add_user("alice", "wonderland", PermissionSet::base(), ["reader"])
        .expect("add alice");
    Arc::new(store)
}

/// API keys, JWTs and Basic against an in-memory store, in that order.
fn pipeline_with(store: Arc<dyn UserStore>) -> Pipeline {
    Pipeline::builder()
        .handler(
            ApiKeyHandler::builder()
                .http_key(HTTP_KEY)
                .ws_key(WS_KEY)
                .build(),
        )
        .handler(JwtHandler::new(
            keys(),
            Validation::new().issuer(ISSUER).audience(AUDIENCE),
        ))
        .handler(BasicHandler::new(store).with_hasher(PasswordHasher::fast_insecure_for_tests()))
        .build()
        .expect("pipeline")
}

fn routes(auth: &PoemAuth) -> impl Endpoint + use<> {
    Route::new()
        .at("/me", get(me))
        .at("/users", get(users))
        .with(auth.layer())
}

fn app() -> TestClient<impl Endpoint> {
    TestClient::new(routes(&PoemAuth::new(pipeline_with(store()))))
}

fn basic(user_pass: &str) -> String {
    format!("Basic {}", B64.encode(user_pass))
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Status, `WWW-Authenticate` and JSON body of a response.
async fn answer(resp: TestResponse) -> (StatusCode, Option<String>, Value) {
    let status = resp.0.status();
    let challenge = resp.0.header("www-authenticate").map(str::to_owned);
    let text = resp.0.into_body().into_string().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, challenge, body)
}

const REFUSED: &str = r#"Bearer error="invalid_token""#;

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

#[tokio::test]
async fn no_credential_is_401_with_bearer_challenge_and_default_body() {
    let (status, challenge, body) = answer(get_with(&app(), "/me", &[]).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge.as_deref(), Some("Bearer"));
    assert_eq!(body, default_body());
}

#[tokio::test]
async fn wrong_api_key_is_401_with_invalid_token_challenge() {
    let cli = app();
    for headers in [
        [("x-api-key", "not-the-key")],
        [("authorization", "Bearer not-the-key")],
    ] {
        let (status, challenge, body) = answer(get_with(&cli, "/me", &headers).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{headers:?}");
        assert_eq!(challenge.as_deref(), Some(REFUSED), "{headers:?}");
        assert_eq!(body, default_body(), "{headers:?}");
    }
}

#[tokio::test]
async fn http_api_key_opens_http_routes_in_header_or_as_bearer() {
    let cli = app();
    let auth = bearer(HTTP_KEY);
    for headers in [
        [("x-api-key", HTTP_KEY)],
        [("authorization", auth.as_str())],
    ] {
        let resp = get_with(&cli, "/users", &headers).await;
        resp.assert_status_is_ok();
        let json = resp.json().await;
        json.value()
            .object()
            .get("users")
            .assert_string_array(&["user"]);
    }
}

#[tokio::test]
async fn websocket_api_key_does_not_open_http_routes() {
    let (status, challenge, _) =
        answer(get_with(&app(), "/me", &[("x-api-key", WS_KEY)]).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge.as_deref(), Some(REFUSED));
}

#[tokio::test]
async fn user_id_header_becomes_the_principal_id_for_api_keys() {
    let cli = app();
    let resp = get_with(
        &cli,
        "/me",
        &[("x-api-key", HTTP_KEY), ("user_id", "alice")],
    )
    .await;
    resp.assert_status_is_ok();
    resp.json()
        .await
        .value()
        .object()
        .get("id")
        .assert_string("alice");

    let resp = get_with(&cli, "/me", &[("x-api-key", HTTP_KEY)]).await;
    resp.assert_status_is_ok();
    resp.json()
        .await
        .value()
        .object()
        .get("id")
        .assert_string("user");
}

#[tokio::test]
async fn valid_jwt_is_accepted_and_carries_its_subject() {
    let token = token_for(
        &Principal::new("42", AuthMethod::Basic)
            .with_name("Zaphod")
            .with_permissions(PermissionSet::base()),
    );
    let resp = get_with(&app(), "/me", &[("authorization", &bearer(&token))]).await;
    resp.assert_status_is_ok();
    let json = resp.json().await;
    let caller = json.value().object();
    caller.get("id").assert_string("42");
    caller.get("name").assert_string("Zaphod");
    caller
        .get("method")
        .object()
        .get("kind")
        .assert_string("jwt");
}

#[tokio::test]
async fn expired_jwt_is_401_with_the_same_answer_as_a_wrong_key() {
    let two_hours_ago = SystemClock.now() - 2 * 3600;
    let expired = issuer_at(Arc::new(ManualClock::new(two_hours_ago)))
        .issue(&Principal::new("42", AuthMethod::Basic))
        .expect("token");
    let cli = app();
    let wrong_key = answer(get_with(&cli, "/me", &[("x-api-key", "not-the-key")]).await).await;
    let expired =
        answer(get_with(&cli, "/me", &[("authorization", &bearer(expired.expose()))]).await).await;
    assert_eq!(expired.0, StatusCode::UNAUTHORIZED);
    assert_eq!(expired, wrong_key);
}

#[tokio::test]
async fn tampered_jwt_is_401_with_the_same_answer_as_a_wrong_key() {
    let token = token_for(&Principal::new("42", AuthMethod::Basic));
    // Swap the payload for one that claims admin rights, keeping the signature.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let forged = json!({"sub": "root", "roles": ["admin"], "exp": SystemClock.now() + 3600,
        "iss": ISSUER, "aud": AUDIENCE});
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged.to_string());
    let tampered = parts.join(".");
    // And change the first signature character, for a token that is merely
    // damaged (the first character carries six signature bits, none spare).
    let sig_start = token.rfind('.').expect("three segments") + 1;
    let first = if token[sig_start..].starts_with('A') {
        "B"
    } else {
        "A"
    };
    let mut damaged = token.clone();
    damaged.replace_range(sig_start..=sig_start, first);

    let cli = app();
    let wrong_key = answer(get_with(&cli, "/me", &[("x-api-key", "not-the-key")]).await).await;
    for bad in [tampered, damaged] {
        let got = answer(get_with(&cli, "/me", &[("authorization", &bearer(&bad))]).await).await;
        assert_eq!(got.0, StatusCode::UNAUTHORIZED);
        assert_eq!(got, wrong_key);
    }
}

#[tokio::test]
async fn missing_permission_is_403_with_the_configured_body() {
    let token =
        token_for(&Principal::new("42", AuthMethod::Basic).with_permissions(PermissionSet::base()));
    let cli = app();
    let auth = bearer(&token);
    // Authenticated: /me opens.
    get_with(&cli, "/me", &[("authorization", &auth)])
        .await
        .assert_status_is_ok();
    let (status, challenge, body) =
        answer(get_with(&cli, "/users", &[("authorization", &auth)]).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(challenge, None);
    assert_eq!(body, default_body());
}

#[tokio::test]
async fn basic_with_right_password_authenticates_the_stored_user() {
    let resp = get_with(
        &app(),
        "/me",
        &[("authorization", &basic("alice:wonderland"))],
    )
    .await;
    resp.assert_status_is_ok();
    let json = resp.json().await;
    let caller = json.value().object();
    caller.get("id").assert_string("alice");
    caller
        .get("method")
        .object()
        .get("kind")
        .assert_string("basic");
}

#[tokio::test]
async fn basic_with_wrong_password_or_unknown_user_is_401_invalid_token() {
    let cli = app();
    for pair in ["alice:looking-glass", "mallory:wonderland"] {
        let (status, challenge, body) =
            answer(get_with(&cli, "/me", &[("authorization", &basic(pair))]).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{pair}");
        assert_eq!(challenge.as_deref(), Some(REFUSED), "{pair}");
        assert_eq!(body, default_body(), "{pair}");
    }
}

#[tokio::test]
async fn malformed_basic_header_is_401_not_500() {
    let no_colon = basic("alice");
    let not_utf8 = format!("Basic {}", B64.encode([0xc3, 0x28, b':', b'x']));
    let cli = app();
    for value in [
        "Basic %%%not-base64%%%",
        no_colon.as_str(),
        not_utf8.as_str(),
        "Basic a",
    ] {
        let (status, challenge, body) =
            answer(get_with(&cli, "/me", &[("authorization", value)]).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{value}");
        assert_eq!(challenge.as_deref(), Some(REFUSED), "{value}");
        assert_eq!(body, default_body(), "{value}");
    }
}

#[tokio::test]
async fn empty_authorization_counts_as_absent() {
    let cli = app();
    for headers in [
        &[("authorization", "")][..],
        &[("authorization", "   ")],
        &[("authorization", "Bearer ")],
        &[("authorization", ""), ("x-api-key", "")],
    ] {
        let (status, challenge, body) = answer(get_with(&cli, "/me", headers).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{headers:?}");
        assert_eq!(challenge.as_deref(), Some("Bearer"), "{headers:?}");
        assert_eq!(body, default_body(), "{headers:?}");
    }
    // An empty Authorization leaves the API-key header in charge.
    get_with(
        &cli,
        "/me",
        &[("authorization", ""), ("x-api-key", HTTP_KEY)],
    )
    .await
    .assert_status_is_ok();
}

#[tokio::test]
async fn configured_key_header_statuses_and_bodies_are_used() {
    let auth = PoemAuth::from_pipeline(pipeline_with(store()))
        .api_key_header("x-service-key")
        .unauthorized_body(json!({"error": "who are you?"}))
        .forbidden_status(StatusCode::NOT_FOUND)
        .forbidden_body(json!({"error": "not here"}))
        .build()
        .expect("valid options");
    let cli = TestClient::new(routes(&auth));

    let (status, _, body) = answer(get_with(&cli, "/me", &[("x-api-key", HTTP_KEY)]).await).await;
    assert_eq!(
        (status, body),
        (StatusCode::UNAUTHORIZED, json!({"error": "who are you?"}))
    );
    get_with(&cli, "/me", &[("x-service-key", HTTP_KEY)])
        .await
        .assert_status_is_ok();

    let (status, _, body) = answer(
        get_with(
            &cli,
            "/users",
            &[("authorization", &basic("alice:wonderland"))],
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({"error": "not here"}))
    );
}

#[tokio::test]
async fn extractor_authenticates_by_itself_when_auth_is_attached_as_data() {
    let auth = PoemAuth::new(pipeline_with(store()));
    let cli = TestClient::new(Route::new().at("/me", get(me)).data(auth));
    let (status, challenge, body) = answer(get_with(&cli, "/me", &[]).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge.as_deref(), Some("Bearer"));
    assert_eq!(body, default_body());
    get_with(&cli, "/me", &[("x-api-key", HTTP_KEY)])
        .await
        .assert_status_is_ok();
}

/// A store whose backend is down.
struct DownStore;

#[async_trait]
impl UserStore for DownStore {
    async fn find_by_username(&self, _username: &str) -> AuthResult<Option<UserRecord>> {
        Err(AuthError::Unavailable(
            "postgres at 10.0.0.7:5432 refused the connection".into(),
        ))
    }

    async fn find_by_id(&self, _id: &str) -> AuthResult<Option<UserRecord>> {
        Err(AuthError::Unavailable("postgres is down".into()))
    }
}

#[tokio::test]
async fn unavailable_backend_is_503_and_misconfiguration_500_without_detail() {
    let cli = TestClient::new(routes(&PoemAuth::new(pipeline_with(Arc::new(DownStore)))));
    let resp = get_with(
        &cli,
        "/me",
        &[("authorization", &basic("alice:wonderland"))],
    )
    .await;
    let (status, challenge, body) = answer(resp).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(challenge, None);
    assert!(body.is_object(), "{body}");
    assert!(!body.to_string().contains("10.0.0.7"), "{body}");

    let broken = Pipeline::builder()
        .handler(ApiKeyHandler::builder().http_key(HTTP_KEY).build())
        .after_authentication(|_cx: auth_core::AfterAuth| async {
            Err::<auth_core::AfterAuth, _>(AuthError::Misconfigured("hook secret detail".into()))
        })
        .build()
        .expect("pipeline");
    let cli = TestClient::new(routes(&PoemAuth::new(broken)));
    let (status, _, body) = answer(get_with(&cli, "/me", &[("x-api-key", HTTP_KEY)]).await).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.is_object(), "{body}");
    assert!(!body.to_string().contains("secret detail"), "{body}");
}

#[tokio::test]
async fn refused_request_never_reaches_the_handler() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    #[handler]
    fn counted() -> &'static str {
        CALLS.fetch_add(1, Ordering::SeqCst);
        "reached"
    }
    let auth = PoemAuth::new(pipeline_with(store()));
    let cli = TestClient::new(Route::new().at("/", get(counted)).with(auth.layer()));
    get_with(&cli, "/", &[("x-api-key", "nope")])
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    get_with(&cli, "/", &[])
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(CALLS.load(Ordering::SeqCst), 0);
    get_with(&cli, "/", &[("x-api-key", HTTP_KEY)])
        .await
        .assert_status_is_ok();
    assert_eq!(CALLS.load(Ordering::SeqCst), 1);
}

#[handler]
fn greet(user: auth_poem::OptionalAuthenticated) -> String {
    match user.principal() {
        Some(p) => format!("hello {}", p.id),
        None => "hello stranger".into(),
    }
}

#[tokio::test]
async fn optional_extractor_is_anonymous_without_credential_and_401_with_a_bad_one() {
    let auth = PoemAuth::new(pipeline_with(store()));
    let cli = TestClient::new(Route::new().at("/greet", get(greet)).data(auth));
    let resp = cli.get("/greet").send().await;
    resp.assert_status_is_ok();
    resp.assert_text("hello stranger").await;
    let resp = cli.get("/greet").header("x-api-key", HTTP_KEY).send().await;
    resp.assert_text("hello user").await;
    let (status, challenge, body) =
        answer(cli.get("/greet").header("x-api-key", "wrong").send().await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge.as_deref(), Some(REFUSED));
    assert_eq!(body, default_body());
}
