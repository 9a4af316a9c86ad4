//! Token lifetimes against a token endpoint on loopback: static and dynamic
//! refresh on a moved clock, one fetch for many waiting requests, one
//! re-authentication after a 401, and the pause after a failed login. Every
//! test ends by checking that its logs hold no secret.

use std::sync::atomic::Ordering;

use crate::common::{
    Logs, Server, TOKEN_PASSWORD, TOKEN_USER, Upstream, client, client_error, clock,
};
use auth_client::ClientError;
use reqwest::StatusCode;
use reqwest_middleware::ClientWithMiddleware;
use serde_json::{Value, json};

fn token_record(server: &Server, more: Value) -> Value {
    let mut record = json!({
        "authenticator": "token",
        "token_url": server.url("/token"),
        "username": TOKEN_USER,
        "password": TOKEN_PASSWORD,
    });
    for (k, v) in more.as_object().expect("an object") {
        record[k] = v.clone();
    }
    record
}

/// GETs `path`, expecting 200; returns the body (`token <n>` for `/api/bearer`).
async fn ok_body(client: &ClientWithMiddleware, server: &Server, path: &str) -> String {
    let resp = client.get(server.url(path)).send().await.expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
    resp.text().await.expect("body")
}

#[tokio::test]
async fn static_refresh_fetches_a_new_token_after_the_ttl_whatever_the_server_says() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    upstream.set_lifetime("expires_in", 60);
    let server = Server::start(upstream.app()).await;
    let clock = clock();
    let client = client(token_record(&server, json!({"token_ttl": 600})), &clock);

    assert_eq!(ok_body(&client, &server, "/api/bearer").await, "token 1");
    clock.advance(599);
    assert_eq!(ok_body(&client, &server, "/api/bearer").await, "token 1");
    assert_eq!(upstream.token_hits(), 1, "static ignores expires_in: 60");
    clock.advance(1);
    assert_eq!(ok_body(&client, &server, "/api/bearer").await, "token 2");
    assert_eq!(upstream.token_hits(), 2);
    logs.assert_no_secret();
}

#[tokio::test]
async fn static_refresh_defaults_to_an_hour() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let clock = clock();
    let client = client(token_record(&server, json!({})), &clock);

    ok_body(&client, &server, "/api/bearer").await;
    clock.advance(3599);
    ok_body(&client, &server, "/api/bearer").await;
    assert_eq!(upstream.token_hits(), 1);
    clock.advance(1);
    assert_eq!(ok_body(&client, &server, "/api/bearer").await, "token 2");
    logs.assert_no_secret();
}

#[tokio::test]
async fn dynamic_refresh_follows_expires_in_and_refreshes_shortly_before_expiry() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    upstream.set_lifetime("expires_in", 300);
    let server = Server::start(upstream.app()).await;
    let clock = clock();
    let client = client(token_record(&server, json!({"refresh": "dynamic"})), &clock);

    assert_eq!(ok_body(&client, &server, "/api/bearer").await, "token 1");
    clock.advance(269);
    assert_eq!(ok_body(&client, &server, "/api/bearer").await, "token 1");
    assert_eq!(upstream.token_hits(), 1);
    clock.advance(1); // 30 s (the default margin) before expiry
    assert_eq!(ok_body(&client, &server, "/api/bearer").await, "token 2");
    assert_eq!(upstream.token_hits(), 2);
    logs.assert_no_secret();
}

#[tokio::test]
async fn dynamic_refresh_reads_a_configured_key_and_margin() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    upstream.set_lifetime("ttl", 100);
    let server = Server::start(upstream.app()).await;
    let clock = clock();
    let record = token_record(
        &server,
        json!({"refresh": "dynamic", "expires_in_key": "ttl", "refresh_margin": 10}),
    );
    let client = client(record, &clock);

    ok_body(&client, &server, "/api/bearer").await;
    clock.advance(89);
    ok_body(&client, &server, "/api/bearer").await;
    assert_eq!(upstream.token_hits(), 1);
    clock.advance(1);
    assert_eq!(ok_body(&client, &server, "/api/bearer").await, "token 2");
    logs.assert_no_secret();
}

#[tokio::test]
async fn oauth2_refreshes_dynamically_by_default() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    upstream.set_lifetime("expires_in", 120);
    let server = Server::start(upstream.app()).await;
    let clock = clock();
    let record = json!({
        "authenticator": "oauth2",
        "token_url": server.url("/oauth/token"),
        "client_id": crate::common::CLIENT_ID,
        "client_secret": crate::common::CLIENT_SECRET,
    });
    let client = client(record, &clock);

    ok_body(&client, &server, "/api/bearer").await;
    clock.advance(89);
    ok_body(&client, &server, "/api/bearer").await;
    assert_eq!(upstream.token_hits(), 1);
    clock.advance(1);
    assert_eq!(ok_body(&client, &server, "/api/bearer").await, "token 2");
    logs.assert_no_secret();
}

#[tokio::test]
async fn a_hundred_concurrent_requests_share_one_token_fetch() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let clock = clock();
    let client = client(token_record(&server, json!({})), &clock);

    // Hold the token endpoint's answer until every request has started and
    // the first fetch is in flight.
    upstream.release.send_replace(false);
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let client = client.clone();
            let url = server.url("/api/bearer");
            tokio::spawn(async move {
                let resp = client.get(url).send().await.expect("sent");
                (resp.status(), resp.text().await.expect("body"))
            })
        })
        .collect();
    upstream.token_requested.notified().await;
    upstream.release.send_replace(true);
    for task in tasks {
        let (status, body) = task.await.expect("task");
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "token 1");
    }
    assert_eq!(upstream.token_hits(), 1);
    assert_eq!(upstream.api_hits(), 100);
    logs.assert_no_secret();
}

#[tokio::test]
async fn a_401_triggers_exactly_one_reauthentication_and_one_retry() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let clock = clock();
    let client = client(token_record(&server, json!({})), &clock);

    // The API has revoked the first token the client will get.
    upstream.accept_from.store(2, Ordering::SeqCst);
    assert_eq!(ok_body(&client, &server, "/api/bearer").await, "token 2");
    assert_eq!(upstream.token_hits(), 2);
    assert_eq!(upstream.api_hits(), 2);

    // The new token is kept.
    ok_body(&client, &server, "/api/bearer").await;
    assert_eq!(upstream.token_hits(), 2);
    assert_eq!(upstream.api_hits(), 3);
    logs.assert_no_secret();
}

#[tokio::test]
async fn a_401_after_the_retry_is_returned_without_another_authentication() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let clock = clock();
    let client = client(token_record(&server, json!({})), &clock);

    let resp = client
        .get(server.url("/api/always401"))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(upstream.token_hits(), 2, "the first login and one more");
    assert_eq!(upstream.api_hits(), 2, "the request and one retry");
    logs.assert_no_secret();
}

#[tokio::test]
async fn a_late_401_for_an_old_token_does_not_drop_the_new_one() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let clock = clock();
    let client = client(token_record(&server, json!({})), &clock);
    assert_eq!(ok_body(&client, &server, "/api/bearer").await, "token 1");

    // Token 1 is revoked; the refusal of request B is held back until
    // request A has been refused, re-authenticated and retried.
    upstream.accept_from.store(2, Ordering::SeqCst);
    upstream.release_refusals.send_replace(false);
    let b = tokio::spawn({
        let client = client.clone();
        let url = server.url("/api/bearer?hold");
        async move {
            let resp = client.get(url).send().await.expect("sent");
            (resp.status(), resp.text().await.expect("body"))
        }
    });
    upstream.refusal_held.notified().await;
    assert_eq!(ok_body(&client, &server, "/api/bearer").await, "token 2");
    assert_eq!(upstream.token_hits(), 2);

    upstream.release_refusals.send_replace(true);
    let (status, body) = b.await.expect("task");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "token 2", "B's retry used the token A fetched");
    assert_eq!(
        upstream.token_hits(),
        2,
        "a 401 for token 1 arriving after token 2 was fetched must not drop token 2"
    );
    logs.assert_no_secret();
}

#[tokio::test]
async fn concurrent_401s_for_one_revoked_token_refresh_it_once() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let clock = clock();
    let client = client(token_record(&server, json!({})), &clock);

    assert_eq!(ok_body(&client, &server, "/api/bearer").await, "token 1");
    upstream.accept_from.store(2, Ordering::SeqCst);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let client = client.clone();
            let url = server.url("/api/bearer");
            tokio::spawn(async move { client.get(url).send().await.expect("sent").status() })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.expect("task"), StatusCode::OK);
    }
    assert_eq!(upstream.token_hits(), 2);
    logs.assert_no_secret();
}

#[tokio::test]
async fn a_failed_authentication_waits_the_retry_delay_before_trying_again() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    upstream.fail_tokens.store(true, Ordering::SeqCst);
    let server = Server::start(upstream.app()).await;
    let clock = clock();
    let client = client(token_record(&server, json!({})), &clock);
    let get = || client.get(server.url("/api/bearer")).send();

    let err = get().await.expect_err("the token endpoint is down");
    assert!(
        matches!(
            client_error(&err),
            ClientError::TokenEndpoint { status: 503, .. }
        ),
        "{err}"
    );
    assert_eq!(upstream.token_hits(), 1);

    upstream.fail_tokens.store(false, Ordering::SeqCst);
    let err = get().await.expect_err("within the retry delay");
    assert!(
        matches!(
            client_error(&err),
            ClientError::RetryLater { retry_in: 60, .. }
        ),
        "{err}"
    );
    clock.advance(59);
    let err = get().await.expect_err("still within the retry delay");
    assert!(
        matches!(
            client_error(&err),
            ClientError::RetryLater { retry_in: 1, .. }
        ),
        "{err}"
    );
    assert_eq!(upstream.token_hits(), 1, "the token server was left alone");
    assert_eq!(
        upstream.api_hits(),
        0,
        "no request went out unauthenticated"
    );

    clock.advance(1);
    assert_eq!(ok_body(&client, &server, "/api/bearer").await, "token 1");
    assert_eq!(upstream.token_hits(), 2);
    logs.assert_no_secret();
}

#[tokio::test]
async fn the_retry_delay_is_configurable_and_covers_refused_credentials() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let clock = clock();
    let record = token_record(
        &server,
        json!({"password": "wrong-SECRET", "retry_delay": 5}),
    );
    let client = client(record, &clock);
    let get = || client.get(server.url("/api/bearer")).send();

    let err = get().await.expect_err("refused");
    assert!(
        matches!(client_error(&err), ClientError::Refused { status: 401, .. }),
        "{err}"
    );
    clock.advance(4);
    let err = get().await.expect_err("within 5 s");
    assert!(matches!(
        client_error(&err),
        ClientError::RetryLater { retry_in: 1, .. }
    ));
    assert_eq!(upstream.token_hits(), 1);
    clock.advance(1);
    get().await.expect_err("refused again");
    assert_eq!(upstream.token_hits(), 2);
    assert!(
        !err.to_string().contains("wrong"),
        "errors never quote the password: {err}"
    );
    logs.assert_no_secret();
}
