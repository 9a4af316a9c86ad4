//! WebSocket authentication over a real TCP listener, driven by a
//! `tokio-tungstenite` client: the upgrade is authenticated on the WebSocket
//! channel before it happens, and a refused one gets a 403 and no socket.
//! Under `#[requires]` too, whatever wraps the WebSocket extractor.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_core::jwt::{Algorithm, JwtKey, KeySet, Validation};
use auth_core::{
    ApiKeyHandler, AuthMethod, AuthPermission as P, AuthResource as R, DEFAULT_USER_ID, JwtHandler,
    PermissionSet, Pipeline, Principal, TokenIssuer,
};
use auth_poem::{Authenticated, PoemAuth, WsAuthenticated, requires};
use futures_util::{SinkExt, StreamExt};
use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Data;
use poem::web::websocket::{Message, WebSocket};
use poem::{Endpoint, EndpointExt, IntoResponse, Route, get, handler};
use poem_openapi::payload::PlainText;
use poem_openapi::{OpenApi, OpenApiService};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message as ClientMessage};

mod guarded;
mod logs;

const HTTP_KEY: &str = "http-key";
const WS_KEY: &str = "ws-key";
const SECRET: &[u8] = b"an-hmac-secret-for-the-websocket-tests";
const ISSUER: &str = "poem-auth-ws";
const AUDIENCE: &str = "chat";

fn default_body() -> Value {
    json!({"detail": {"error": "Invalid Credentials"}})
}

/// How many times a socket handler ran (past authentication).
#[derive(Default)]
struct Calls(AtomicUsize);

/// Echoes every text message as `<principal id>:<message>`.
#[handler]
async fn echo(user: WsAuthenticated, ws: WebSocket, calls: Data<&Arc<Calls>>) -> impl IntoResponse {
    calls.0.0.fetch_add(1, Ordering::SeqCst);
    let user = user.into_principal();
    ws.on_upgrade(move |socket| echo_as(socket, user.id))
}

/// The same, for callers that may be anonymous.
#[handler]
async fn maybe_echo(user: Option<WsAuthenticated>, ws: WebSocket) -> impl IntoResponse {
    let id = user.map_or_else(|| "anonymous".to_owned(), |u| u.into_principal().id);
    ws.on_upgrade(move |socket| echo_as(socket, id))
}

async fn echo_as(socket: poem::web::websocket::WebSocketStream, id: String) {
    let (mut tx, mut rx) = socket.split();
    while let Some(Ok(msg)) = rx.next().await {
        if let Message::Text(text) = msg
            && tx
                .send(Message::Text(format!("{id}:{text}")))
                .await
                .is_err()
        {
            break;
        }
    }
}

/// An HTTP route behind the layer.
#[handler]
fn me(user: Authenticated) -> String {
    user.id.clone()
}

fn keys() -> Arc<KeySet> {
    Arc::new(KeySet::single(
        JwtKey::hmac(Algorithm::HS256, SECRET).expect("hmac key"),
    ))
}

fn jwt_for(subject: &str) -> String {
    TokenIssuer::new(keys(), None)
        .expect("issuer")
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .lifetime_minutes(5)
        .issue(&Principal::new(subject, AuthMethod::Basic).with_permissions(PermissionSet::base()))
        .expect("token")
        .expose()
        .to_owned()
}

/// API keys for both channels, then JWTs.
fn pipeline() -> Pipeline {
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
        .build()
        .expect("pipeline")
}

fn app(auth: PoemAuth, calls: Arc<Calls>) -> impl Endpoint + 'static {
    Route::new()
        // No outer `.data(auth)`: each WebSocket route carries the auth.
        .at("/ws", auth.websocket(get(echo)))
        .at("/ws/:user_id", auth.websocket(get(echo)))
        .at("/maybe", auth.websocket(get(maybe_echo)))
        .nest("/api", Route::new().at("/me", get(me)).with(auth.layer()))
        .data(calls)
}

/// A poem server on a real socket, shut down gracefully by [`Server::stop`].
struct Server {
    addr: SocketAddr,
    calls: Arc<Calls>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<io::Result<()>>,
}

impl Server {
    /// Binds 127.0.0.1:0 first, then serves the bound listener: the
    /// address is ready to connect to when this returns.
    async fn start(auth: PoemAuth) -> Self {
        Self::start_with(|calls| app(auth, calls)).await
    }

    async fn start_with<E: Endpoint + 'static>(app: impl FnOnce(Arc<Calls>) -> E) -> Self {
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .expect("bind 127.0.0.1:0");
        let addr = *acceptor.local_addr()[0]
            .as_socket_addr()
            .expect("a TCP address");
        let calls = Arc::new(Calls::default());
        let app = app(calls.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(
            poem::Server::new_with_acceptor(acceptor).run_with_graceful_shutdown(
                app,
                async {
                    let _ = stopped.await;
                },
                Some(Duration::from_secs(5)),
            ),
        );
        Self {
            addr,
            calls,
            stop,
            task,
        }
    }

    fn url(&self, path_and_query: &str) -> String {
        format!("ws://{}{path_and_query}", self.addr)
    }

    fn handler_calls(&self) -> usize {
        self.calls.0.load(Ordering::SeqCst)
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.task
            .await
            .expect("server task")
            .expect("server ran cleanly");
    }
}

/// Opens a socket to `url` (with extra request headers), sends `ping` and
/// returns the answer; closes the socket.
async fn echo_reply(url: &str, headers: &[(&str, &str)]) -> Result<String, tungstenite::Error> {
    let mut req = url.into_client_request()?;
    for (name, value) in headers {
        req.headers_mut().insert(
            poem::http::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            value.parse().expect("header value"),
        );
    }
    let (mut socket, resp) = tokio_tungstenite::connect_async(req).await?;
    assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
    socket.send(ClientMessage::text("ping")).await?;
    let reply = loop {
        match socket.next().await.expect("a reply before the end")? {
            ClientMessage::Text(text) => break text.as_str().to_owned(),
            ClientMessage::Ping(_) | ClientMessage::Pong(_) => {}
            other => panic!("unexpected message {other:?}"),
        }
    };
    socket.close(None).await?;
    Ok(reply)
}

/// The HTTP answer to an upgrade the server refused: status,
/// `WWW-Authenticate` values and JSON body.
async fn refusal(url: &str, headers: &[(&str, &str)]) -> (StatusCode, Vec<String>, Value) {
    match echo_reply(url, headers).await {
        Ok(reply) => panic!("{url}: the socket opened and answered {reply:?}"),
        Err(tungstenite::Error::Http(resp)) => {
            let challenges = resp
                .headers()
                .get_all("www-authenticate")
                .iter()
                .map(|v| v.to_str().expect("text").to_owned())
                .collect();
            let body = resp.body().as_deref().expect("a response body");
            let body = serde_json::from_slice(body).expect("a JSON body");
            (resp.status(), challenges, body)
        }
        Err(other) => panic!("{url}: expected an HTTP refusal, got {other}"),
    }
}

/// A plain HTTP/1.1 GET on the server's socket: the status.
async fn http_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> StatusCode {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut resp = String::new();
    stream.read_to_string(&mut resp).await.expect("read");
    let code = resp
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .expect("a status line");
    StatusCode::from_bytes(code.as_bytes()).expect("a status code")
}

#[tokio::test]
async fn ws_key_in_token_query_opens_the_socket_and_echo_answers_as_the_principal() {
    let server = Server::start(PoemAuth::new(pipeline())).await;
    let reply = echo_reply(&server.url(&format!("/ws?token={WS_KEY}")), &[])
        .await
        .expect("socket opens");
    assert_eq!(reply, format!("{DEFAULT_USER_ID}:ping"));
    assert_eq!(server.handler_calls(), 1);
    server.stop().await;
}

#[tokio::test]
async fn http_key_in_token_query_is_refused_403_with_json_body_and_no_upgrade() {
    let server = Server::start(PoemAuth::new(pipeline())).await;
    let (status, challenges, body) =
        refusal(&server.url(&format!("/ws?token={HTTP_KEY}")), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(challenges.is_empty(), "{challenges:?}");
    assert_eq!(body, default_body());
    assert_eq!(server.handler_calls(), 0, "the socket handler never ran");
    server.stop().await;
}

#[tokio::test]
async fn jwt_in_token_query_opens_the_socket_as_its_subject() {
    let server = Server::start(PoemAuth::new(pipeline())).await;
    let token = jwt_for("zaphod");
    let reply = echo_reply(&server.url(&format!("/ws?token={token}")), &[])
        .await
        .expect("socket opens");
    assert_eq!(reply, "zaphod:ping");
    // The path's user id is a hint for API keys, not a way to rename a JWT subject.
    let reply = echo_reply(&server.url(&format!("/ws/alice?token={token}")), &[])
        .await
        .expect("socket opens");
    assert_eq!(reply, "zaphod:ping");
    server.stop().await;
}

#[tokio::test]
async fn no_or_empty_token_is_refused_403() {
    let server = Server::start(PoemAuth::new(pipeline())).await;
    for path in ["/ws", "/ws?token=", "/ws?token=%20", "/ws/alice"] {
        let (status, challenges, body) = refusal(&server.url(path), &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(challenges.is_empty(), "{path}: {challenges:?}");
        assert_eq!(body, default_body(), "{path}");
    }
    assert_eq!(server.handler_calls(), 0);
    server.stop().await;
}

#[tokio::test]
async fn path_user_id_becomes_the_principal_id_for_the_ws_key() {
    let server = Server::start(PoemAuth::new(pipeline())).await;
    let reply = echo_reply(&server.url(&format!("/ws/alice?token={WS_KEY}")), &[])
        .await
        .expect("socket opens");
    assert_eq!(reply, "alice:ping");
    // The path wins over the header; without a path parameter the header counts.
    let reply = echo_reply(
        &server.url(&format!("/ws/alice?token={WS_KEY}")),
        &[("user_id", "mallory")],
    )
    .await
    .expect("socket opens");
    assert_eq!(reply, "alice:ping");
    let reply = echo_reply(
        &server.url(&format!("/ws?token={WS_KEY}")),
        &[("user_id", "bob")],
    )
    .await
    .expect("socket opens");
    assert_eq!(reply, "bob:ping");
    server.stop().await;
}

#[tokio::test]
async fn ws_key_does_not_open_http_routes_and_http_key_does_not_open_websocket() {
    let server = Server::start(PoemAuth::new(pipeline())).await;
    let bearer_ws = format!("Bearer {WS_KEY}");
    for headers in [
        &[("x-api-key", WS_KEY)][..],
        &[("authorization", bearer_ws.as_str())],
    ] {
        assert_eq!(
            http_get(server.addr, "/api/me", headers).await,
            StatusCode::UNAUTHORIZED,
            "{headers:?}"
        );
    }
    // The WebSocket token parameter is not read on HTTP routes.
    assert_eq!(
        http_get(server.addr, &format!("/api/me?token={HTTP_KEY}"), &[]).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        http_get(server.addr, "/api/me", &[("x-api-key", HTTP_KEY)]).await,
        StatusCode::OK
    );

    let bearer_http = format!("Bearer {HTTP_KEY}");
    for (path, headers) in [
        (format!("/ws?token={HTTP_KEY}"), &[][..]),
        ("/ws".to_owned(), &[("x-api-key", HTTP_KEY)]),
        ("/ws".to_owned(), &[("authorization", bearer_http.as_str())]),
    ] {
        let (status, _, body) = refusal(&server.url(&path), headers).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path} {headers:?}");
        assert_eq!(body, default_body());
    }
    // A WebSocket key in a header opens the socket too (non-browser clients).
    let reply = echo_reply(&server.url("/ws"), &[("x-api-key", WS_KEY)])
        .await
        .expect("socket opens");
    assert_eq!(reply, format!("{DEFAULT_USER_ID}:ping"));
    server.stop().await;
}

#[tokio::test]
async fn with_only_an_http_key_configured_the_http_key_still_cannot_open_websocket() {
    let only_http = Pipeline::builder()
        .handler(ApiKeyHandler::builder().http_key(HTTP_KEY).build())
        .build()
        .expect("pipeline");
    let server = Server::start(PoemAuth::new(only_http)).await;
    // The HTTP channel is locked and opened by the key ...
    assert_eq!(
        http_get(server.addr, "/api/me", &[("x-api-key", HTTP_KEY)]).await,
        StatusCode::OK
    );
    // ... while the WebSocket channel, which no key locks, is not opened by it.
    for (path, headers) in [
        (format!("/ws?token={HTTP_KEY}"), &[][..]),
        ("/ws".to_owned(), &[("x-api-key", HTTP_KEY)]),
    ] {
        let (status, _, _) = refusal(&server.url(&path), headers).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(server.handler_calls(), 0);
    server.stop().await;
}

#[tokio::test]
async fn optional_ws_extractor_opens_anonymous_socket_when_refused() {
    let server = Server::start(PoemAuth::new(pipeline())).await;
    for (path, expected) in [
        ("/maybe".to_owned(), "anonymous:ping".to_owned()),
        (
            format!("/maybe?token={HTTP_KEY}"),
            "anonymous:ping".to_owned(),
        ),
        (
            format!("/maybe?token={WS_KEY}"),
            format!("{DEFAULT_USER_ID}:ping"),
        ),
    ] {
        let reply = echo_reply(&server.url(&path), &[])
            .await
            .expect("socket opens");
        assert_eq!(reply, expected, "{path}");
    }
    server.stop().await;
}

#[tokio::test]
async fn ws_refused_status_and_body_are_configurable() {
    let auth = PoemAuth::from_pipeline(pipeline())
        .ws_refused_status(StatusCode::UNAUTHORIZED)
        .unauthorized_body(json!({"error": "who are you?"}))
        .build()
        .expect("valid options");
    let server = Server::start(auth).await;
    let (status, challenges, body) = refusal(&server.url("/ws"), &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenges, ["Bearer"]);
    assert_eq!(body, json!({"error": "who are you?"}));
    let (status, challenges, _) = refusal(&server.url(&format!("/ws?token={HTTP_KEY}")), &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenges, [r#"Bearer error="invalid_token""#]);
    server.stop().await;
}

#[tokio::test]
async fn ws_token_parameter_name_is_configurable() {
    let auth = PoemAuth::from_pipeline(pipeline())
        .ws_token_query("access_token")
        .build()
        .expect("valid options");
    let server = Server::start(auth).await;
    let reply = echo_reply(&server.url(&format!("/ws?access_token={WS_KEY}")), &[])
        .await
        .expect("socket opens");
    assert_eq!(reply, format!("{DEFAULT_USER_ID}:ping"));
    let (status, _, _) = refusal(&server.url(&format!("/ws?token={WS_KEY}")), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    server.stop().await;
}

#[tokio::test]
async fn api_key_cookie_and_query_open_websocket_when_enabled() {
    let server = Server::start(PoemAuth::new(pipeline())).await;
    for (path, headers) in [
        (format!("/ws?api_key={WS_KEY}"), &[][..]),
        ("/ws".to_owned(), &[("cookie", "api_key=ws-key")]),
    ] {
        let (status, _, _) = refusal(&server.url(&path), headers).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "off by default: {path}");
    }
    server.stop().await;

    let auth = PoemAuth::from_pipeline(pipeline())
        .api_key_query("api_key")
        .api_key_cookie("api_key")
        .build()
        .expect("valid options");
    let server = Server::start(auth).await;
    for (path, headers) in [
        (format!("/ws/carol?api_key={WS_KEY}"), &[][..]),
        (
            "/ws/carol".to_owned(),
            &[("cookie", "theme=dark; api_key=ws-key")],
        ),
    ] {
        let reply = echo_reply(&server.url(&path), headers)
            .await
            .expect("socket opens");
        assert_eq!(reply, "carol:ping", "{path} {headers:?}");
    }
    server.stop().await;
}
