//! Where an HTTP request's credential may come from besides the headers
//! (API-key cookie, opt-in API-key query parameter), the masked URI helper
//! and the Basic realm challenge, through `poem::test::TestClient`.

use auth_core::{ApiKeyHandler, DEFAULT_USER_ID, Pipeline};
use auth_poem::{Authenticated, PoemAuth, PoemAuthBuilder, masked_uri};
use poem::http::{StatusCode, Uri};
use poem::test::{TestClient, TestResponse};
use poem::{Endpoint, EndpointExt, Route, get, handler};

const HTTP_KEY: &str = "http-key";
const WS_KEY: &str = "ws-key";
const REFUSED: &str = r#"Bearer error="invalid_token""#;

#[handler]
fn me(user: Authenticated) -> String {
    user.id.clone()
}

fn builder() -> PoemAuthBuilder {
    let pipeline = Pipeline::builder()
        .handler(
            ApiKeyHandler::builder()
                .http_key(HTTP_KEY)
                .ws_key(WS_KEY)
                .build(),
        )
        .build()
        .expect("pipeline");
    PoemAuth::from_pipeline(pipeline)
}

fn client(auth: PoemAuth) -> TestClient<impl Endpoint> {
    TestClient::new(Route::new().at("/me", get(me)).with(auth.layer()))
}

fn challenges(resp: &TestResponse) -> Vec<&str> {
    resp.0
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().expect("text"))
        .collect()
}

#[tokio::test]
async fn api_key_in_query_is_ignored_by_default() {
    let cli = client(builder().build().expect("valid"));
    let resp = cli.get("/me").query("api_key", &HTTP_KEY).send().await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
    // Not even read: the answer is the one for no credential at all.
    assert_eq!(challenges(&resp), ["Bearer"]);
}

#[tokio::test]
async fn api_key_query_opt_in_opens_http_routes() {
    let cli = client(builder().api_key_query("api_key").build().expect("valid"));
    let resp = cli.get("/me").query("api_key", &HTTP_KEY).send().await;
    resp.assert_status_is_ok();
    resp.assert_text(DEFAULT_USER_ID).await;
    // The WebSocket key stays a WebSocket key, wherever it travels.
    let resp = cli.get("/me").query("api_key", &WS_KEY).send().await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(challenges(&resp), [REFUSED]);
}

#[tokio::test]
async fn api_key_cookie_is_ignored_by_default_and_opens_when_configured() {
    let cookie = format!("theme=dark; session_key={HTTP_KEY}");
    let cli = client(builder().build().expect("valid"));
    cli.get("/me")
        .header("cookie", &cookie)
        .send()
        .await
        .assert_status(StatusCode::UNAUTHORIZED);

    let cli = client(
        builder()
            .api_key_cookie("session_key")
            .build()
            .expect("valid"),
    );
    let resp = cli
        .get("/me")
        .header("cookie", &cookie)
        .header("user_id", "dora")
        .send()
        .await;
    resp.assert_status_is_ok();
    resp.assert_text("dora").await;
}

#[tokio::test]
async fn earlier_source_wins_authorization_then_header_then_cookie_then_query() {
    let cli = client(
        builder()
            .api_key_cookie("key")
            .api_key_query("key")
            .build()
            .expect("valid"),
    );
    let good_cookie = format!("key={HTTP_KEY}");
    let good_bearer = format!("Bearer {HTTP_KEY}");
    // A wrong value in an earlier source is not rescued by a right one later.
    for (headers, query) in [
        (
            vec![("authorization", "Bearer wrong"), ("x-api-key", HTTP_KEY)],
            None,
        ),
        (
            vec![("x-api-key", "wrong"), ("cookie", good_cookie.as_str())],
            None,
        ),
        (vec![("cookie", "key=wrong")], Some(HTTP_KEY)),
    ] {
        let mut req = cli.get("/me");
        for (name, value) in &headers {
            req = req.header(*name, *value);
        }
        if let Some(key) = query {
            req = req.query("key", &key);
        }
        let resp = req.send().await;
        resp.assert_status(StatusCode::UNAUTHORIZED);
        assert_eq!(challenges(&resp), [REFUSED], "{headers:?}");
    }
    // And a right value in an earlier source wins over a wrong one later.
    for (headers, query) in [
        (
            vec![
                ("authorization", good_bearer.as_str()),
                ("x-api-key", "wrong"),
            ],
            Some("wrong"),
        ),
        (
            vec![("x-api-key", HTTP_KEY), ("cookie", "key=wrong")],
            Some("wrong"),
        ),
        (vec![("cookie", good_cookie.as_str())], Some("wrong")),
    ] {
        let mut req = cli.get("/me");
        for (name, value) in &headers {
            req = req.header(*name, *value);
        }
        if let Some(key) = query {
            req = req.query("key", &key);
        }
        req.send().await.assert_status_is_ok();
    }
}

#[tokio::test]
async fn empty_cookie_or_query_key_counts_as_absent() {
    let cli = client(
        builder()
            .api_key_cookie("key")
            .api_key_query("key")
            .build()
            .expect("valid"),
    );
    let resp = cli
        .get("/me")
        .header("cookie", "key=")
        .query("key", &"")
        .send()
        .await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(challenges(&resp), ["Bearer"]);
    // An empty cookie leaves the query in charge.
    cli.get("/me")
        .header("cookie", "key=")
        .query("key", &HTTP_KEY)
        .send()
        .await
        .assert_status_is_ok();
}

#[tokio::test]
async fn ws_token_query_is_not_read_on_http_routes() {
    let cli = client(builder().build().expect("valid"));
    for key in [HTTP_KEY, WS_KEY] {
        let resp = cli.get("/me").query("token", &key).send().await;
        resp.assert_status(StatusCode::UNAUTHORIZED);
        assert_eq!(challenges(&resp), ["Bearer"]);
    }
}

#[tokio::test]
async fn basic_realm_adds_a_basic_challenge_after_bearer() {
    let cli = client(builder().basic_realm("poem chat").build().expect("valid"));
    let resp = cli.get("/me").send().await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(challenges(&resp), ["Bearer", r#"Basic realm="poem chat""#]);
    let resp = cli.get("/me").header("x-api-key", "wrong").send().await;
    assert_eq!(challenges(&resp), [REFUSED, r#"Basic realm="poem chat""#]);

    let resp = client(builder().build().expect("valid"))
        .get("/me")
        .send()
        .await;
    assert_eq!(
        challenges(&resp),
        ["Bearer"],
        "no realm, no Basic challenge"
    );
}

#[test]
fn masked_uri_hides_api_key_and_ws_token_values() {
    let uri: Uri = "/ws/alice?token=eyJh.eyJz.c2ln&room=7&api_key=k-1&tok=visible"
        .parse()
        .expect("uri");
    assert_eq!(
        masked_uri(&uri, &["token", "api_key"]),
        "/ws/alice?token=***&room=7&api_key=***&tok=visible"
    );

    let auth = builder()
        .api_key_query("api_key")
        .ws_token_query("access_token")
        .build()
        .expect("valid");
    let uri: Uri = "/ws?access_token=t&api_key=k&token=not-a-credential-here"
        .parse()
        .expect("uri");
    assert_eq!(
        auth.masked_uri(&uri),
        "/ws?access_token=***&api_key=***&token=not-a-credential-here"
    );
    // Without the API-key query enabled, only the WebSocket token is hidden.
    let auth = builder().build().expect("valid");
    assert_eq!(
        auth.masked_uri(&"/ws?token=t&api_key=k".parse().expect("uri")),
        "/ws?token=***&api_key=k"
    );
}
