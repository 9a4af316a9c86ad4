//! `token` against auth-poem's own token endpoint, and `oauth2` with each grant and client authentication.

use super::*;

/// A user with base permissions (which read, but do not write, users).
const POEM_USER: &str = "alice";
const POEM_PASSWORD: &str = "wonderland-SECRET";

#[auth_poem::requires(AuthResource::Conversation, AuthPermission::Read)]
#[handler]
fn conversations(user: Authenticated) -> String {
    format!("conversations of {}", user.id)
}

#[auth_poem::requires(AuthResource::Users, AuthPermission::Write)]
#[handler]
fn create_user() -> String {
    "created".into()
}

/// auth-poem with its token service at `/auth`, counting `POST /auth/token`.
fn poem_auth_app(token_hits: Arc<AtomicUsize>) -> impl Endpoint + 'static {
    let keys = Arc::new(KeySet::single(
        JwtKey::hmac(
            Algorithm::HS256,
            b"an-hmac-secret-for-the-authenticator-tests",
        )
        .expect("key"),
    ));
    let hasher = PasswordHasher::fast_insecure_for_tests();
    let users = Arc::new(MemoryUserStore::new(hasher.clone()));
    users
        .add_user(POEM_USER, POEM_PASSWORD, PermissionSet::base(), ["reader"])
        .expect("user");
    let tokens = Arc::new(
        TokenService::new(TokenIssuer::new(keys.clone(), None).expect("issuer"), users)
            .with_hasher(hasher),
    );
    let pipeline = Pipeline::builder()
        .handler(JwtHandler::new(keys, Validation::new()).with_revocations(tokens.revocations()))
        .build()
        .expect("pipeline");
    let auth = PoemAuth::from_pipeline(pipeline)
        .token_service(tokens)
        .build()
        .expect("auth");
    let routes = auth.routes().before(move |req| {
        token_hits.fetch_add(1, Ordering::SeqCst);
        async move { Ok(req) }
    });
    Route::new()
        .nest("/auth", routes)
        .at("/api/conversations", get(conversations).with(auth.layer()))
        .at("/api/users", get(create_user).with(auth.layer()))
        .data(auth)
}

#[tokio::test]
async fn token_authenticator_logs_in_at_the_auth_poem_token_endpoint_and_calls_a_protected_route() {
    let logs = Logs::capture();
    let token_hits = Arc::new(AtomicUsize::new(0));
    let server = Server::start(poem_auth_app(token_hits.clone())).await;
    let record = json!({
        "authenticator": "token",
        "token_url": server.url("/auth/token"),
        "username": POEM_USER,
        "password": POEM_PASSWORD,
    });
    let client = client(record, &clock());

    let resp = client
        .get(server.url("/api/conversations"))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await.expect("body"), "conversations of alice");

    let resp = client
        .get(server.url("/api/users"))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        resp.status(),
        StatusCode::FORBIDDEN,
        "authenticated but lacking the permission"
    );
    assert_eq!(
        token_hits.load(Ordering::SeqCst),
        1,
        "one login serves both requests; a 403 is not a reason to log in again"
    );
    logs.assert_no_secret();
}

#[tokio::test]
async fn token_authenticator_with_a_wrong_password_is_refused_by_auth_poem() {
    let logs = Logs::capture();
    let server = Server::start(poem_auth_app(Arc::default())).await;
    let record = json!({
        "authenticator": "token",
        "token_url": server.url("/auth/token"),
        "username": POEM_USER,
        "password": "not-the-SECRET",
    });
    let client = client(record, &clock());

    let err = client
        .get(server.url("/api/conversations"))
        .send()
        .await
        .expect_err("refused");
    assert!(
        matches!(client_error(&err), ClientError::Refused { status: 401, .. }),
        "{err}"
    );
    logs.assert_no_secret();
}

#[tokio::test]
async fn token_key_format_and_header_are_configurable() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let record = json!({
        "authenticator": "token",
        "token_url": server.url("/token"),
        "username": TOKEN_USER,
        "password": TOKEN_PASSWORD,
        "token_key": "data.jwt",
        "token_format": "JWT {}",
        "header_name": "X-Auth",
    });
    let client = client(record, &clock());

    let seen = echo(&client, &server, "/echo").await;
    assert_eq!(seen["headers"]["x-auth"], "JWT alt-tok-SECRET-1");
    assert!(logs.text().contains("x-auth: ***"), "{}", logs.text());
    logs.assert_no_secret();
}

#[tokio::test]
async fn a_token_answer_without_the_configured_key_is_an_error() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let record = json!({
        "authenticator": "token",
        "token_url": server.url("/token"),
        "username": TOKEN_USER,
        "password": TOKEN_PASSWORD,
        "token_key": "data.missing",
    });
    let client = client(record, &clock());

    let err = client
        .get(server.url("/echo"))
        .send()
        .await
        .expect_err("no token");
    assert!(
        matches!(client_error(&err), ClientError::MissingToken { key, .. } if key == "data.missing"),
        "{err}"
    );
    assert_eq!(upstream.api_hits(), 0);
    logs.assert_no_secret();
}

fn oauth_record(server: &Server, more: Value) -> Value {
    let mut record = json!({
        "authenticator": "oauth2",
        "token_url": server.url("/oauth/token"),
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    });
    for (k, v) in more.as_object().expect("an object") {
        record[k] = v.clone();
    }
    record
}

#[tokio::test]
async fn oauth2_client_credentials_with_basic_client_auth_and_scopes() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let record = oauth_record(&server, json!({"scopes": ["metrics:read", "alerts:write"]}));
    let client = client(record, &clock());

    let resp = client
        .get(server.url("/api/bearer"))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        upstream.last_oauth(),
        Some(OAuthSeen {
            client_auth: "basic",
            grant_type: "client_credentials".into(),
            scope: Some("metrics:read alerts:write".into()),
            audience: None,
        })
    );
    logs.assert_no_secret();
}

#[tokio::test]
async fn oauth2_client_auth_in_the_body_with_extra_params() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let record = oauth_record(
        &server,
        json!({"client_auth": "body", "extra_params": {"audience": "https://api.example"}}),
    );
    let client = client(record, &clock());

    let resp = client
        .get(server.url("/api/bearer"))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        upstream.last_oauth(),
        Some(OAuthSeen {
            client_auth: "body",
            grant_type: "client_credentials".into(),
            scope: None,
            audience: Some("https://api.example".into()),
        })
    );
    logs.assert_no_secret();
}

#[tokio::test]
async fn oauth2_password_grant_sends_the_resource_owners_credentials() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let record = oauth_record(
        &server,
        json!({"grant_type": "password", "username": OWNER_USER, "password": OWNER_PASSWORD}),
    );
    let client = client(record, &clock());

    let resp = client
        .get(server.url("/api/bearer"))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        upstream.last_oauth().map(|seen| seen.grant_type),
        Some("password".into())
    );
    logs.assert_no_secret();
}

#[tokio::test]
async fn oauth2_wrong_client_secret_is_refused_with_the_oauth_error_code() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let record = oauth_record(&server, json!({"client_secret": "wrong-SECRET"}));
    let client = client(record, &clock());

    let err = client
        .get(server.url("/api/bearer"))
        .send()
        .await
        .expect_err("refused");
    assert!(
        matches!(
            client_error(&err),
            ClientError::Refused { status: 401, oauth_error: Some(code), .. } if code == "invalid_client"
        ),
        "{err}"
    );
    logs.assert_no_secret();
}
