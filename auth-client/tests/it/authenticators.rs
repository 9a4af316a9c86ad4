//! Each built-in authenticator against real HTTP servers on loopback: a
//! fake upstream, this project's own token endpoint (auth-poem), and a TLS
//! server; a custom authenticator chosen by name; extra headers. Every test
//! ends by checking that its logs hold no secret.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::{
    API_KEY, BASIC_PASSWORD, BASIC_USER, CLIENT_ID, CLIENT_SECRET, Logs, OAuthSeen, OWNER_PASSWORD,
    OWNER_USER, PROXY_PASSWORD, PROXY_USER, Server, TOKEN_PASSWORD, TOKEN_USER, Upstream, client,
    client_error, client_from, clock,
};
use auth_client::secrecy::{ExposeSecret, SecretString};
use auth_client::{
    Authenticator, AuthenticatorRegistry, ClientError, CredentialConfig, async_trait,
};
use auth_core::jwt::{Algorithm, JwtKey, KeySet, TokenIssuer, Validation};
use auth_core::password::PasswordHasher;
use auth_core::tokens::TokenService;
use auth_core::{
    AuthPermission, AuthResource, JwtHandler, MemoryUserStore, PermissionSet, Pipeline,
};
use auth_poem::{Authenticated, PoemAuth};
use poem::{Endpoint, EndpointExt, Route, get, handler};
use reqwest::StatusCode;
use reqwest_middleware::ClientWithMiddleware;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// GETs `/echo` and returns what the server saw: `{"headers", "query"}`.
async fn echo(client: &ClientWithMiddleware, server: &Server, path_and_query: &str) -> Value {
    let resp = client
        .get(server.url(path_and_query))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.expect("json")
}

#[tokio::test]
async fn none_authenticator_sends_no_credential() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let client = client(json!({}), &clock());

    let seen = echo(&client, &server, "/echo").await;
    assert!(seen["headers"].get("authorization").is_none(), "{seen}");
    let resp = client.get(server.url("/basic")).send().await.expect("sent");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    logs.assert_no_secret();
}

#[tokio::test]
async fn basic_authenticator_opens_a_basic_protected_route() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let record =
        json!({"authenticator": "basic", "username": BASIC_USER, "password": BASIC_PASSWORD});
    let client = client(record, &clock());

    let resp = client.get(server.url("/basic")).send().await.expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await.expect("body"), "hello monitor");

    let wrong = crate::common::client(
        json!({"authenticator": "basic", "username": BASIC_USER, "password": "wrong-SECRET"}),
        &clock(),
    );
    let resp = wrong.get(server.url("/basic")).send().await.expect("sent");
    assert_eq!(
        resp.status(),
        StatusCode::UNAUTHORIZED,
        "a static credential's 401 is handed back, not retried"
    );
    assert!(logs.text().contains("authorization: ***"));
    logs.assert_no_secret();
}

#[tokio::test]
async fn api_key_goes_in_the_authorization_header_by_default_with_prefix_and_suffix() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let record = json!({"authenticator": "api_key", "api_key": API_KEY, "prefix": "Token ", "suffix": ";v=1"});
    let client = client(record, &clock());

    let seen = echo(&client, &server, "/echo").await;
    assert_eq!(
        seen["headers"]["authorization"],
        format!("Token {API_KEY};v=1")
    );
    logs.assert_no_secret();
}

#[tokio::test]
async fn api_key_goes_in_a_custom_header_masked_in_logs() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let record =
        json!({"authenticator": "api_key", "api_key": API_KEY, "header_name": "X-Service-Key"});
    let client = client(record, &clock());

    let seen = echo(&client, &server, "/echo").await;
    assert_eq!(seen["headers"]["x-service-key"], API_KEY);
    assert!(seen["headers"].get("authorization").is_none());
    assert!(
        logs.text().contains("x-service-key: ***"),
        "{}",
        logs.text()
    );
    logs.assert_no_secret();
}

#[tokio::test]
async fn api_key_goes_in_a_query_parameter_when_opted_in_masked_in_logs() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let record = json!({"authenticator": "api_key", "api_key": API_KEY, "query_param": "auth"});
    let client = client(record, &clock());

    let seen = echo(&client, &server, "/echo?page=2").await;
    assert_eq!(seen["query"], format!("page=2&auth={API_KEY}"));
    assert!(seen["headers"].get("authorization").is_none());
    assert!(
        logs.text().contains("/echo?page=2&auth=***"),
        "{}",
        logs.text()
    );
    logs.assert_no_secret();
}

#[tokio::test]
async fn a_transport_error_does_not_show_a_query_api_key() {
    let logs = Logs::capture();
    let (addr, hang_up) = crate::common::hang_up_server().await;
    let record = json!({"authenticator": "api_key", "api_key": API_KEY, "query_param": "auth"});
    let client = client(record, &clock());

    let err = client
        .get(format!("http://{addr}/echo"))
        .send()
        .await
        .expect_err("the connection is closed");
    hang_up.abort();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(API_KEY), "{shown}");
    assert!(logs.text().contains("request failed"), "{}", logs.text());
    assert!(!logs.text().contains(crate::common::MARK));
}

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

#[tokio::test]
async fn extra_headers_from_the_list_and_the_json_map_are_sent() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let record = json!({
        "authenticator": "basic",
        "username": BASIC_USER,
        "password": BASIC_PASSWORD,
        "headers": ["X-Tenant: acme", "X-Vendor-Token: vendor-SECRET"],
        "header_map": "{\"X-Trace\": \"on\"}",
        "secret_headers": ["X-Vendor-Token"],
    });
    let client = client(record, &clock());

    let seen = echo(&client, &server, "/echo").await;
    assert_eq!(seen["headers"]["x-tenant"], "acme");
    assert_eq!(seen["headers"]["x-trace"], "on");
    assert_eq!(seen["headers"]["x-vendor-token"], "vendor-SECRET");
    assert!(
        seen["headers"]["authorization"]
            .as_str()
            .is_some_and(|a| a.starts_with("Basic "))
    );
    let text = logs.text();
    assert!(text.contains("x-tenant: acme"), "{text}");
    assert!(text.contains("x-vendor-token: ***"), "{text}");
    logs.assert_no_secret();
}

/// A custom authenticator: a key in a query parameter, its name and key
/// from the record's extra settings.
#[derive(Debug)]
struct QuerySignature {
    param: String,
    key: SecretString,
}

#[async_trait]
impl Authenticator for QuerySignature {
    fn name(&self) -> &str {
        "query_signature"
    }

    fn description(&self) -> &str {
        "A key in a query parameter."
    }

    fn modify_request(&self, request: &mut reqwest::Request) -> Result<(), ClientError> {
        request
            .url_mut()
            .query_pairs_mut()
            .append_pair(&self.param, self.key.expose_secret());
        Ok(())
    }
}

fn registry_with_query_signature() -> AuthenticatorRegistry {
    let mut registry = AuthenticatorRegistry::new();
    registry
        .register(
            "query_signature",
            "A key in a query parameter.",
            |config: &CredentialConfig, _cx: &auth_client::Context| {
                let setting = |name: &str| {
                    config
                        .extra
                        .get(name)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| ClientError::Config(format!("`{name}` is needed")))
                };
                Ok(Arc::new(QuerySignature {
                    param: setting("signature_param")?,
                    key: setting("signature_key")?.into(),
                }) as Arc<dyn Authenticator>)
            },
        )
        .expect("a free name");
    registry
}

#[tokio::test]
async fn a_custom_authenticator_is_chosen_by_name() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let record = json!({
        "authenticator": "query_signature",
        "signature_param": "sig",
        "signature_key": "sig-SECRET",
        "secret_query_params": ["sig"],
    });
    let client = client_from(registry_with_query_signature(), record, &clock());

    let seen = echo(&client, &server, "/echo").await;
    assert_eq!(seen["query"], "sig=sig-SECRET");
    assert!(logs.text().contains("/echo?sig=***"), "{}", logs.text());
    logs.assert_no_secret();
}

#[tokio::test]
async fn authenticator_override_swaps_a_stored_credentials_authenticator() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let record = json!({
        "authenticator": "basic",
        "authenticator_override": "query_signature",
        "username": BASIC_USER,
        "password": BASIC_PASSWORD,
        "signature_param": "sig",
        "signature_key": "sig-SECRET",
        "secret_query_params": ["sig"],
    });
    let client = client_from(registry_with_query_signature(), record, &clock());

    let seen = echo(&client, &server, "/echo").await;
    assert_eq!(seen["query"], "sig=sig-SECRET");
    assert!(seen["headers"].get("authorization").is_none(), "{seen}");
    logs.assert_no_secret();
}

#[tokio::test]
async fn an_unknown_authenticator_name_is_refused_with_the_known_ones() {
    let record: CredentialConfig =
        serde_json::from_value(json!({"authenticator": "digest"})).expect("record");
    let err = registry_with_query_signature()
        .client(&record)
        .expect_err("unknown");
    assert!(
        err.to_string()
            .ends_with("api_key, basic, none, oauth2, query_signature, token"),
        "{err}"
    );
}

#[tokio::test]
async fn requests_go_through_the_configured_proxy_with_its_credentials() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    // The echo server plays the proxy: a proxied plain-HTTP request arrives
    // in absolute form, and poem routes it by its path.
    let proxy = Server::start(upstream.app()).await;
    let record = json!({
        "authenticator": "api_key",
        "api_key": API_KEY,
        "proxy": format!("http://{}", proxy.addr),
        "proxy_username": PROXY_USER,
        "proxy_password": PROXY_PASSWORD,
    });
    let client = client(record, &clock());

    let resp = client
        .get("http://upstream.invalid/echo")
        .send()
        .await
        .expect("sent through the proxy");
    let seen: Value = resp.json().await.expect("json");
    assert_eq!(seen["headers"]["host"], "upstream.invalid");
    assert_eq!(seen["headers"]["authorization"], API_KEY);
    assert_eq!(
        seen["headers"]["proxy-authorization"],
        format!("Basic {}", crate::common::encoded_secrets()[2])
    );
    logs.assert_no_secret();
}

#[tokio::test]
async fn no_proxy_hosts_are_reached_directly() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let (dead_proxy, hang_up) = crate::common::hang_up_server().await;
    let record = json!({
        "authenticator": "api_key",
        "api_key": API_KEY,
        "proxy": format!("http://{dead_proxy}"),
        "no_proxy": "127.0.0.1",
    });
    let client = client(record, &clock());

    let seen = echo(&client, &server, "/echo").await;
    assert_eq!(seen["headers"]["authorization"], API_KEY);
    hang_up.abort();
    logs.assert_no_secret();
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A TLS server on 127.0.0.1 with a certificate from the test CA, answering
/// every request `200 ok`.
async fn tls_server() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let certs = CertificateDer::pem_file_iter(fixture("server.pem"))
        .expect("server.pem")
        .collect::<Result<Vec<_>, _>>()
        .expect("certificates");
    let key = PrivateKeyDer::from_pem_file(fixture("server.key")).expect("server.key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return; // the client refused the certificate
                };
                let mut request = Vec::new();
                let mut chunk = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&chunk[..n]),
                    }
                }
                let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
                let _ = tls.write_all(answer).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (addr, task)
}

#[tokio::test]
async fn tls_is_verified_by_default_and_a_custom_ca_path_is_trusted() {
    let logs = Logs::capture();
    let (addr, server) = tls_server().await;
    let url = format!("https://{addr}/");
    let basic =
        json!({"authenticator": "basic", "username": BASIC_USER, "password": BASIC_PASSWORD});

    let default = client(basic.clone(), &clock());
    let err = default
        .get(&url)
        .send()
        .await
        .expect_err("an unknown CA is refused");
    assert!(err.is_connect() || err.is_request(), "{err:?}");

    let mut with_ca = basic.clone();
    with_ca["ca_path"] = json!(fixture("ca.pem"));
    let resp = client(with_ca, &clock())
        .get(&url)
        .send()
        .await
        .expect("the custom CA is trusted");
    assert_eq!(resp.text().await.expect("body"), "ok");

    let mut unverified = basic;
    unverified["verify_tls"] = json!(false);
    let resp = client(unverified, &clock())
        .get(&url)
        .send()
        .await
        .expect("verification off");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(logs.text().contains("TLS certificate verification is off"));
    server.abort();
    logs.assert_no_secret();
}
