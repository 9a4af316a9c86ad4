//! The chat service's wire contract, end to end: the built binary is started
//! on a free loopback port and driven over real HTTP and WebSocket.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use auth_test::Served;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{self, Message};

mod admin;
mod idp;
mod keys;
mod open_mode;
mod users;

const HTTP_KEY: &str = "http-key-for-the-e2e-test";
const WS_KEY: &str = "ws-key-for-the-e2e-test";
const ADMIN_PASSWORD: &str = "admin-password-for-the-e2e-test";

/// A running chat-service process, killed when dropped.
struct Service {
    served: Served,
    base: String,
    _data: TempDir,
}

impl Service {
    /// Stops the process and hands back its data directory.
    fn stop(self) -> TempDir {
        let Self {
            mut served, _data, ..
        } = self;
        served.stop();
        _data
    }
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "chat-service-e2e-{}-{}",
            std::process::id(),
            auth_core::random::random_id().expect("random")
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.0.as_os_str().is_empty() {
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn command(env: &[(&str, &str)], data: &TempDir) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chat-service"));
    // Run from the data directory: the service needs nothing from the source tree.
    cmd.current_dir(&data.0);
    for (name, _) in std::env::vars() {
        if name.starts_with("CCAT_") {
            cmd.env_remove(name);
        }
    }
    cmd.envs(env.iter().copied()).env("RUST_LOG", "info");
    cmd
}

async fn start(env: &[(&str, &str)]) -> Service {
    start_in(env, TempDir::new()).await
}

async fn start_in(env: &[(&str, &str)], data: TempDir) -> Service {
    let mut cmd = command(env, &data);
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut served = Served::spawn(cmd);
    served.ready().await;
    Service {
        base: served.addr(),
        served,
        _data: data,
    }
}

async fn locked() -> Service {
    start(&[
        ("CCAT_API_KEY", HTTP_KEY),
        ("CCAT_API_KEY_WS", WS_KEY),
        ("CCAT_ADMIN_PASSWORD", ADMIN_PASSWORD),
        (
            "CCAT_JWT_SECRET",
            "a-jwt-secret-for-the-e2e-test-of-32-bytes",
        ),
    ])
    .await
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent("chat-e2e/1.0")
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

impl Service {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.base)
    }

    async fn get(&self, path: &str, bearer: Option<&str>) -> (u16, Value) {
        let mut req = http().get(self.url(path));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, bearer: Option<&str>, body: Value) -> (u16, Value) {
        let mut req = http().post(self.url(path)).json(&body);
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn login(&self, username: &str, password: &str) -> String {
        let (status, body) = self
            .post(
                "/auth/token",
                None,
                json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["token_type"], "bearer");
        body["access_token"].as_str().expect("token").to_owned()
    }

    /// Opens `/ws{suffix}` with `?token=`; the refusal status when refused.
    async fn ws(
        &self,
        suffix: &str,
        token: Option<&str>,
    ) -> Result<
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        u16,
    > {
        let query = token.map(|t| format!("?token={t}")).unwrap_or_default();
        let url = format!("ws://{}/ws{suffix}{query}", self.base);
        match tokio_tungstenite::connect_async(url).await {
            Ok((stream, _)) => Ok(stream),
            Err(tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
            Err(e) => panic!("websocket error: {e}"),
        }
    }
}

const INVALID: &str = r#"{"detail":{"error":"Invalid Credentials"}}"#;

/// Reads frames until the final `chat` message; returns the tokens and it.
async fn converse(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    text: &str,
) -> (Vec<String>, Value) {
    ws.send(Message::Text(json!({"text": text}).to_string().into()))
        .await
        .expect("send");
    let mut tokens = Vec::new();
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame in time")
            .expect("open")
            .expect("frame");
        let Message::Text(frame) = frame else {
            continue;
        };
        let value: Value = serde_json::from_str(&frame).expect("json frame");
        match value["type"].as_str() {
            Some("chat_token") => tokens.push(value["content"].as_str().expect("c").to_owned()),
            Some("chat") => return (tokens, value),
            other => panic!("unexpected frame type {other:?}: {value}"),
        }
    }
}

async fn send(
    svc: &Service,
    method: reqwest::Method,
    path: &str,
    bearer: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http().request(method, svc.url(path)).bearer_auth(bearer);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}
