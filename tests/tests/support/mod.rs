//! Helpers the integration tests share: a JSON body, a login at
//! `/auth/token`, a request with or without a credential, a request from a
//! given socket peer, and the token service most tests start from. Each
//! test file uses a part of them.
#![allow(dead_code)]

use std::sync::Arc;

use auth_core::jwt::{Algorithm, JwtKey, KeySet, TokenIssuer};
use auth_core::tokens::TokenService;
use auth_core::{MemoryUserStore, RoleMap};
use poem::Endpoint;
use poem::http::StatusCode;
use poem::test::{TestClient, TestResponse};
use serde_json::{Value, json};

/// The response body as JSON.
pub(crate) async fn json_of(resp: TestResponse) -> Value {
    resp.0.into_body().into_json().await.expect("json body")
}

/// `POST /auth/token` with a username and password.
pub(crate) async fn token_login<E: Endpoint>(
    cli: &TestClient<E>,
    username: &str,
    password: &str,
) -> TestResponse {
    cli.post("/auth/token")
        .body_json(&json!({"username": username, "password": password}))
        .send()
        .await
}

/// The access token of a login that must succeed.
pub(crate) async fn login<E: Endpoint>(
    cli: &TestClient<E>,
    username: &str,
    password: &str,
) -> String {
    let resp = token_login(cli, username, password).await;
    resp.assert_status_is_ok();
    json_of(resp).await["access_token"]
        .as_str()
        .expect("access token")
        .to_owned()
}

/// An `Authorization` value for a bearer token.
pub(crate) fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// `GET /auth/me` with a bearer token, which must succeed: the principal.
pub(crate) async fn me<E: Endpoint>(cli: &TestClient<E>, token: &str) -> Value {
    let resp = cli
        .get("/auth/me")
        .header("authorization", bearer(token))
        .send()
        .await;
    resp.assert_status_is_ok();
    json_of(resp).await
}

/// A request with an optional credential header and JSON body.
pub(crate) async fn request<E: Endpoint>(
    cli: &TestClient<E>,
    method: &str,
    path: &str,
    credential: Option<(&'static str, String)>,
    body: Option<&Value>,
) -> TestResponse {
    let mut req = match method {
        "GET" => cli.get(path),
        "POST" => cli.post(path),
        "PUT" => cli.put(path),
        "PATCH" => cli.patch(path),
        "DELETE" => cli.delete(path),
        other => panic!("method {other}"),
    };
    if let Some((name, value)) = credential {
        req = req.header(name, value);
    }
    if let Some(body) = body {
        req = req.body_json(body);
    }
    req.send().await
}

/// `POST path` with a JSON body as if from the socket peer `peer`
/// (`TestClient` requests come from no socket), with an `X-Forwarded-For`
/// header when one is given: the status.
pub(crate) async fn post_json_from<E: Endpoint>(
    ep: &E,
    peer: &str,
    forwarded_for: Option<&str>,
    path: &str,
    body: &Value,
) -> StatusCode {
    let mut builder = poem::http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json");
    if let Some(forwarded_for) = forwarded_for {
        builder = builder.header("x-forwarded-for", forwarded_for);
    }
    let (parts, ()) = builder.body(()).expect("request").into_parts();
    let parts = poem::RequestParts::from((
        parts,
        poem::web::LocalAddr::default(),
        poem::web::RemoteAddr(poem::Addr::SocketAddr(peer.parse().expect("peer address"))),
        poem::http::uri::Scheme::HTTP,
    ));
    let req = poem::Request::from_parts(parts, poem::Body::from_json(body).expect("json"));
    ep.get_response(req).await.status()
}

/// The status and body of a response; a body that is not JSON is `null`.
pub(crate) async fn status_and_json(resp: TestResponse) -> (StatusCode, Value) {
    let status = resp.0.status();
    let bytes = resp.0.into_body().into_bytes().await.expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// An HS256 key set whose secret is made from `seed`, and a token service
/// over it with an empty user store and `roles`.
pub(crate) fn token_service(seed: u8, roles: RoleMap) -> (Arc<KeySet>, Arc<TokenService>) {
    let keys = Arc::new(KeySet::single(
        JwtKey::hmac(
            Algorithm::HS256,
            format!("a-test-hmac-secret-seeded-with-{seed:03}!").as_bytes(),
        )
        .expect("key"),
    ));
    let tokens = Arc::new(
        TokenService::new(
            TokenIssuer::new(keys.clone(), None).expect("issuer"),
            Arc::new(MemoryUserStore::default()),
        )
        .with_roles(roles),
    );
    (keys, tokens)
}
