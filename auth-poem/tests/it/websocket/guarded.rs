//! `#[requires]` on WebSocket routes: only the WebSocket key opens them.

use super::*;

/// Keys of their own, configured apart, so a test cannot pass by the other
/// channel's key by accident.
const HTTP_SECRET: &str = "http-secret";
const WS_SECRET: &str = "ws-secret";

/// `#[requires]` with the caller in an `Option<WsAuthenticated>`.
#[requires(R::Conversation, P::Read)]
#[handler]
async fn guarded_optional(user: Option<WsAuthenticated>, ws: WebSocket) -> impl IntoResponse {
    let id = user.map_or_else(|| "anonymous".to_owned(), |u| u.into_principal().id);
    ws.on_upgrade(move |socket| echo_as(socket, id))
}

/// `#[requires]` with the caller in a `poem::Result<WsAuthenticated>`.
#[requires(R::Conversation, P::Read)]
#[handler]
async fn guarded_result(user: poem::Result<WsAuthenticated>, ws: WebSocket) -> impl IntoResponse {
    let id = user.map_or_else(|_| "refused".to_owned(), |u| u.into_principal().id);
    ws.on_upgrade(move |socket| echo_as(socket, id))
}

/// `#[requires]` with the caller in a plain `WsAuthenticated`.
#[requires(R::Conversation, P::Read)]
#[handler]
async fn guarded_plain(user: WsAuthenticated, ws: WebSocket) -> impl IntoResponse {
    let id = user.into_principal().id;
    ws.on_upgrade(move |socket| echo_as(socket, id))
}

/// `#[requires]` on a WebSocket handler without an auth extractor.
#[requires(R::Conversation, P::Read)]
#[handler]
async fn guarded_socket_only(ws: WebSocket) -> impl IntoResponse {
    ws.on_upgrade(move |socket| echo_as(socket, "guarded".to_owned()))
}

/// A poem-openapi operation whose caller is an `Option<WsAuthenticated>`.
struct GuardedApi;

#[auth_poem::api]
#[OpenApi]
impl GuardedApi {
    /// Who the WebSocket caller is.
    #[requires(R::Conversation, P::Read)]
    #[oai(path = "/api/ws-whoami", method = "get")]
    async fn ws_whoami(&self, user: Option<WsAuthenticated>) -> PlainText<String> {
        PlainText(user.map_or_else(|| "anonymous".to_owned(), |u| u.into_principal().id))
    }
}

fn guarded_app(calls: Arc<Calls>) -> impl Endpoint + 'static {
    let auth = PoemAuth::new(
        Pipeline::builder()
            .handler(
                ApiKeyHandler::builder()
                    .http_key(HTTP_SECRET)
                    .ws_key(WS_SECRET)
                    .build(),
            )
            .build()
            .expect("pipeline"),
    );
    Route::new()
        .at("/guarded/optional", get(guarded_optional))
        .at("/guarded/result", get(guarded_result))
        .at("/guarded/plain", get(guarded_plain))
        .at("/guarded/socket", get(guarded_socket_only))
        .nest("/", OpenApiService::new(GuardedApi, "guarded", "1"))
        .data(auth)
        .data(calls)
}

/// The HTTP key, wherever it is sent, is refused on `path` with the
/// WebSocket refusal; the WebSocket key opens it as `expected_id`.
async fn assert_only_the_ws_key_opens(server: &Server, path: &str, expected_id: &str) {
    let bearer = format!("Bearer {HTTP_SECRET}");
    for (url, headers) in [
        (server.url(path), &[("x-api-key", HTTP_SECRET)][..]),
        (server.url(path), &[("authorization", bearer.as_str())]),
        (server.url(&format!("{path}?token={HTTP_SECRET}")), &[]),
        (server.url(path), &[]),
    ] {
        let (status, challenges, body) = refusal(&url, headers).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{url} {headers:?}");
        assert!(challenges.is_empty(), "{url}: {challenges:?}");
        assert_eq!(body, default_body(), "{url}");
    }
    let reply = echo_reply(&server.url(&format!("{path}?token={WS_SECRET}")), &[])
        .await
        .expect("the WebSocket key opens the socket");
    assert_eq!(reply, format!("{expected_id}:ping"), "{path}");
    let reply = echo_reply(&server.url(path), &[("x-api-key", WS_SECRET)])
        .await
        .expect("the WebSocket key in a header opens the socket");
    assert_eq!(reply, format!("{expected_id}:ping"), "{path}");
}

#[tokio::test]
async fn requires_with_optional_ws_extractor_refuses_the_http_key_and_accepts_the_ws_key() {
    let server = Server::start_with(guarded_app).await;
    assert_only_the_ws_key_opens(&server, "/guarded/optional", DEFAULT_USER_ID).await;
    server.stop().await;
}

#[tokio::test]
async fn requires_with_result_ws_extractor_refuses_the_http_key_and_accepts_the_ws_key() {
    let server = Server::start_with(guarded_app).await;
    assert_only_the_ws_key_opens(&server, "/guarded/result", DEFAULT_USER_ID).await;
    server.stop().await;
}

#[tokio::test]
async fn requires_with_plain_ws_extractor_refuses_the_http_key_and_accepts_the_ws_key() {
    let server = Server::start_with(guarded_app).await;
    assert_only_the_ws_key_opens(&server, "/guarded/plain", DEFAULT_USER_ID).await;
    server.stop().await;
}

#[tokio::test]
async fn requires_on_a_websocket_handler_without_auth_extractor_authenticates_on_websocket() {
    let server = Server::start_with(guarded_app).await;
    assert_only_the_ws_key_opens(&server, "/guarded/socket", "guarded").await;
    server.stop().await;
}

#[tokio::test]
async fn requires_on_an_api_operation_with_optional_ws_extractor_refuses_the_http_key() {
    let server = Server::start_with(guarded_app).await;
    for headers in [&[("x-api-key", HTTP_SECRET)][..], &[]] {
        assert_eq!(
            http_get(
                server.addr,
                &format!("/api/ws-whoami?token={HTTP_SECRET}"),
                headers
            )
            .await,
            StatusCode::FORBIDDEN,
            "{headers:?}"
        );
    }
    assert_eq!(
        http_get(
            server.addr,
            &format!("/api/ws-whoami?token={WS_SECRET}"),
            &[]
        )
        .await,
        StatusCode::OK
    );
    server.stop().await;
}
