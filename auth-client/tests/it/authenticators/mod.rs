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

mod custom;
mod tokens;

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
