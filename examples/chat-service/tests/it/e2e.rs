//! The chat service's wire contract, end to end: the built binary is started
//! on a free loopback port and driven over real HTTP and WebSocket.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use auth_test::Served;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{self, Message};

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

#[tokio::test]
async fn http_key_locks_http_with_the_chat_servers_403_body() {
    let svc = locked().await;
    for bearer in [None, Some("wrong"), Some(WS_KEY)] {
        let (status, body) = svc.get("/", bearer).await;
        assert_eq!(status, 403, "{bearer:?}");
        assert_eq!(body, serde_json::from_str::<Value>(INVALID).expect("json"));
    }
    let (status, body) = svc.get("/", Some(HTTP_KEY)).await;
    assert_eq!(status, 200);
    assert!(body["status"].is_string(), "{body}");
    let version = body["version"].as_str().expect("version");
    assert_eq!(version.split('.').count(), 3, "{version}");
}

#[tokio::test]
async fn user_id_header_names_the_api_key_user() {
    let svc = locked().await;
    let resp = http()
        .post(svc.url("/message"))
        .bearer_auth(HTTP_KEY)
        .header("user_id", "alice")
        .json(&json!({"text": "hello there"}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["type"], "chat");
    assert_eq!(body["user_id"], "alice");
    assert_eq!(body["content"], "hello there");
    let (_, body) = svc
        .post("/message", Some(HTTP_KEY), json!({"text": "x"}))
        .await;
    assert_eq!(body["user_id"], "user");
}

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

#[tokio::test]
async fn websocket_streams_tokens_then_the_whole_reply_and_needs_the_ws_key() {
    let svc = locked().await;
    assert_eq!(svc.ws("", None).await.err(), Some(403));
    assert_eq!(svc.ws("", Some("wrong")).await.err(), Some(403));
    assert_eq!(
        svc.ws("", Some(HTTP_KEY)).await.err(),
        Some(403),
        "the HTTP key does not open the WebSocket"
    );
    let mut ws = svc.ws("/carol", Some(WS_KEY)).await.expect("upgrade");
    let (tokens, last) = converse(&mut ws, "one two three").await;
    assert_eq!(tokens.concat(), "one two three");
    assert!(tokens.len() >= 3, "{tokens:?}");
    assert_eq!(last["content"], "one two three");
    assert_eq!(last["user_id"], "carol");
    let mut ws = svc.ws("", Some(WS_KEY)).await.expect("upgrade");
    let (_, last) = converse(&mut ws, "hi").await;
    assert_eq!(last["user_id"], "user");
}

#[tokio::test]
async fn a_login_jwt_works_on_http_and_as_websocket_token() {
    let svc = locked().await;
    let (status, _) = svc
        .post(
            "/auth/token",
            None,
            json!({"username": "admin", "password": "wrong"}),
        )
        .await;
    assert!(status == 401 || status == 403, "{status}");
    let jwt = svc.login("admin", ADMIN_PASSWORD).await;
    let (status, _) = svc.get("/", Some(&jwt)).await;
    assert_eq!(status, 200);
    let (status, me) = svc.get("/auth/me", Some(&jwt)).await;
    assert_eq!(status, 200);
    assert_eq!(me["name"], "admin", "{me}");
    let mut ws = svc.ws("", Some(&jwt)).await.expect("upgrade with a JWT");
    let (_, last) = converse(&mut ws, "over jwt").await;
    assert_eq!(last["content"], "over jwt");
    assert_eq!(last["user_id"], me["id"]);
}

#[tokio::test]
async fn each_key_is_independent_setting_one_leaves_the_other_channel_open() {
    let svc = start(&[
        ("CCAT_API_KEY_WS", WS_KEY),
        ("CCAT_ADMIN_PASSWORD", ADMIN_PASSWORD),
    ])
    .await;
    let (status, _) = svc.get("/", None).await;
    assert_eq!(status, 200, "HTTP stays open when only the WS key is set");
    assert_eq!(svc.ws("", None).await.err(), Some(403));
    assert!(svc.ws("", Some(WS_KEY)).await.is_ok());
}

#[tokio::test]
async fn with_no_keys_it_is_open_on_loopback() {
    let svc = start(&[("CCAT_ADMIN_PASSWORD", ADMIN_PASSWORD)]).await;
    let (status, _) = svc.get("/", None).await;
    assert_eq!(status, 200);
    let mut ws = svc.ws("/dave", None).await.expect("open websocket");
    let (_, last) = converse(&mut ws, "open").await;
    assert_eq!(last["user_id"], "dave");
}

impl Service {
    fn port(&self) -> &str {
        self.base.rsplit(':').next().expect("a port")
    }

    /// `method path` with these extra headers; the status and JSON body.
    async fn with_headers(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut req = http().request(method.clone(), self.url(path));
        if method == reqwest::Method::POST {
            req = req.json(&json!({"text": "hi"}));
        }
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Opens `/ws` with this `Origin`; the refusal status when refused.
    async fn ws_from(&self, origin: &str, token: Option<&str>) -> Result<(), u16> {
        use tungstenite::client::IntoClientRequest as _;
        let query = token.map(|t| format!("?token={t}")).unwrap_or_default();
        let mut request = format!("ws://{}/ws{query}", self.base)
            .into_client_request()
            .expect("request");
        request
            .headers_mut()
            .insert("origin", origin.parse().expect("header value"));
        match tokio_tungstenite::connect_async(request).await {
            Ok(_) => Ok(()),
            Err(tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
            Err(e) => panic!("websocket error: {e}"),
        }
    }
}

#[tokio::test]
async fn open_mode_refuses_a_host_that_is_not_loopback() {
    let svc = start(&[("CCAT_ADMIN_PASSWORD", ADMIN_PASSWORD)]).await;
    let port = svc.port().to_owned();
    let invalid: Value = serde_json::from_str(INVALID).expect("json");
    for host in [
        "evil.example".to_owned(),
        format!("evil.example:{port}"),
        format!("localhost.evil.example:{port}"),
        format!("127.0.0.1.nip.io:{port}"),
    ] {
        for method in [reqwest::Method::GET, reqwest::Method::POST] {
            let path = if method == reqwest::Method::GET {
                "/"
            } else {
                "/message"
            };
            let (status, body) = svc
                .with_headers(method.clone(), path, None, &[("host", &host)])
                .await;
            assert_eq!(status, 403, "{method} Host: {host}");
            assert_eq!(body, invalid, "{method} Host: {host}");
        }
    }
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        "localhost".to_owned(),
    ] {
        let (status, body) = svc
            .with_headers(reqwest::Method::GET, "/", None, &[("host", &host)])
            .await;
        assert_eq!(status, 200, "Host: {host}: {body}");
    }
}

#[tokio::test]
async fn open_mode_refuses_a_cross_site_origin_on_unsafe_requests_and_websockets() {
    let svc = start(&[("CCAT_ADMIN_PASSWORD", ADMIN_PASSWORD)]).await;
    let local = format!("http://localhost:{}", svc.port());
    let invalid: Value = serde_json::from_str(INVALID).expect("json");
    for origin in [
        "http://evil.example",
        "null",
        "http://localhost.evil.example",
    ] {
        for method in [
            reqwest::Method::POST,
            reqwest::Method::PUT,
            reqwest::Method::PATCH,
            reqwest::Method::DELETE,
        ] {
            let (status, body) = svc
                .with_headers(method.clone(), "/message", None, &[("origin", origin)])
                .await;
            assert_eq!(status, 403, "{method} Origin: {origin}");
            assert_eq!(body, invalid, "{method} Origin: {origin}");
        }
        assert_eq!(
            svc.ws_from(origin, None).await,
            Err(403),
            "WebSocket Origin: {origin}"
        );
        let (status, _) = svc
            .with_headers(reqwest::Method::GET, "/", None, &[("origin", origin)])
            .await;
        assert_eq!(status, 200, "a safe GET is not refused for its Origin");
    }
    let (status, body) = svc
        .with_headers(
            reqwest::Method::POST,
            "/message",
            None,
            &[("origin", &local)],
        )
        .await;
    assert_eq!(status, 200, "a loopback Origin: {body}");
    let (status, body) = svc
        .with_headers(reqwest::Method::POST, "/message", None, &[])
        .await;
    assert_eq!(status, 200, "no Origin (not a browser): {body}");
    assert_eq!(svc.ws_from(&local, None).await, Ok(()));
}

#[tokio::test]
async fn with_both_keys_set_host_and_origin_are_left_to_the_keys() {
    let svc = locked().await;
    let (status, body) = svc
        .with_headers(
            reqwest::Method::GET,
            "/",
            Some(HTTP_KEY),
            &[("host", "evil.example")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = svc
        .with_headers(
            reqwest::Method::POST,
            "/message",
            Some(HTTP_KEY),
            &[("origin", "http://evil.example")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        svc.ws_from("http://evil.example", Some(WS_KEY)).await,
        Ok(())
    );
}

#[test]
fn without_keys_it_refuses_to_bind_beyond_loopback() {
    let data = TempDir::new();
    let out = command(&[], &data)
        .args(["--bind", "0.0.0.0:0"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("CCAT_API_KEY") && stderr.contains("loopback"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_generated_admin_password_is_printed_once_and_works() {
    let data = TempDir::new();
    let mut cmd = command(&[("CCAT_API_KEY", HTTP_KEY)], &data);
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut served = Served::spawn(cmd);
    let stderr = served.child().stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut svc = Service {
        base: served.addr(),
        served,
        _data: data,
    };
    let mut password = None;
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) {
        if let Some(p) = line.split("with the generated password: ").nth(1) {
            password = Some(p.trim().to_owned());
            break;
        }
    }
    let password = password.expect("the generated password is printed");
    assert!(password.len() >= 20);
    svc.served.ready().await;
    let jwt = svc.login("admin", &password).await;
    assert!(!jwt.is_empty());
}

#[tokio::test]
async fn a_generated_admin_password_never_reaches_the_log_and_can_be_rotated() {
    const NEW_PASSWORD: &str = "the-rotated-admin-password";
    const RESET_PASSWORD: &str = "the-admin-password-set-by-the-key";
    let data = TempDir::new();
    let log_path = data.0.join("service.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut cmd = command(&[("CCAT_API_KEY", HTTP_KEY), ("NO_COLOR", "1")], &data);
    // Everything our crates log, whichever stream it goes to: the tracing
    // output (stdout) in the file, stderr read line by line.
    cmd.env(
        "RUST_LOG",
        "info,auth_core=trace,auth_poem=trace,auth_store=trace,chat_service=trace",
    );
    cmd.stdout(log).stderr(Stdio::piped());
    let mut served = Served::spawn(cmd);
    let stderr = served.child().stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut svc = Service {
        base: served.addr(),
        served,
        _data: data,
    };
    let mut stderr_lines = Vec::new();
    let mut password = None;
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) {
        let found = line
            .split("with the generated password: ")
            .nth(1)
            .map(|p| p.trim().to_owned());
        stderr_lines.push(line);
        if found.is_some() {
            password = found;
            break;
        }
    }
    let password = password.expect("the generated password is printed");
    svc.served.ready().await;

    // Use it, then rotate it as the README says: PATCH /users/me.
    let jwt = svc.login("admin", &password).await;
    let (status, body) = send(
        &svc,
        reqwest::Method::PATCH,
        "/users/me",
        &jwt,
        Some(json!({"current_password": password, "password": NEW_PASSWORD})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = svc
        .post(
            "/auth/token",
            None,
            json!({"username": "admin", "password": password}),
        )
        .await;
    assert!(
        status == 401 || status == 403,
        "the old password is gone: {status}"
    );
    svc.login("admin", NEW_PASSWORD).await;

    // Or, lost: whoever holds USERS:EDIT (here the HTTP key) sets it.
    let (status, list) = send(
        &svc,
        reqwest::Method::GET,
        "/users?username=admin",
        HTTP_KEY,
        None,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    let id = list["users"]
        .as_array()
        .and_then(|users| users.iter().find(|u| u["username"] == "admin"))
        .and_then(|admin| admin["client_id"].as_str())
        .expect("the admin's id")
        .to_owned();
    let (status, body) = send(
        &svc,
        reqwest::Method::PUT,
        &format!("/users/{id}"),
        HTTP_KEY,
        Some(json!({"password": RESET_PASSWORD})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    svc.login("admin", RESET_PASSWORD).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let printed = |l: &str| l.starts_with("poem-auth: ") && l.contains(&password);
    stderr_lines.extend(rx.try_iter());
    assert_eq!(
        stderr_lines.iter().filter(|l| printed(l)).count(),
        1,
        "printed once on stderr"
    );
    let log = std::fs::read_to_string(&log_path).expect("log");
    assert!(
        log.contains("auth_poem::request") && log.contains("status=200"),
        "the request log was captured:\n{log}"
    );
    for line in log.lines().chain(
        stderr_lines
            .iter()
            .map(String::as_str)
            .filter(|l| !printed(l)),
    ) {
        for secret in [
            password.as_str(),
            NEW_PASSWORD,
            RESET_PASSWORD,
            jwt.as_str(),
        ] {
            assert!(!line.contains(secret), "a password reached the log: {line}");
        }
    }
}

#[tokio::test]
async fn one_log_line_per_request_names_the_caller_and_never_a_secret() {
    let data = TempDir::new();
    let log_path = data.0.join("service.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut cmd = command(
        &[
            ("CCAT_API_KEY", HTTP_KEY),
            ("CCAT_API_KEY_WS", WS_KEY),
            ("CCAT_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("NO_COLOR", "1"),
        ],
        &data,
    );
    cmd.stdout(log.try_clone().expect("clone")).stderr(log);
    let served = Served::spawn(cmd);
    let mut svc = Service {
        base: served.addr(),
        served,
        _data: data,
    };
    svc.served.ready().await;
    let jwt = svc.login("admin", ADMIN_PASSWORD).await;
    let (status, _) = svc.get("/", Some(HTTP_KEY)).await;
    assert_eq!(status, 200);
    let (status, _) = svc.get("/", Some(&jwt)).await;
    assert_eq!(status, 200);
    let (status, _) = svc.get("/", Some("a-wrong-key")).await;
    assert_eq!(status, 403);
    let mut ws = svc.ws("", Some(WS_KEY)).await.expect("upgrade");
    converse(&mut ws, "hello").await;
    drop(ws);
    assert_eq!(svc.ws("", Some("wrong-ws-token")).await.err(), Some(403));
    tokio::time::sleep(Duration::from_millis(300)).await;

    let text = std::fs::read_to_string(&log_path).expect("log");
    for secret in [
        HTTP_KEY,
        WS_KEY,
        ADMIN_PASSWORD,
        jwt.as_str(),
        "a-wrong-key",
        "wrong-ws-token",
    ] {
        assert!(!text.contains(secret), "a secret reached the log:\n{text}");
    }
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("auth_poem::request"))
        .collect();
    assert!(lines.len() >= 6, "{text}");
    let key_line = lines
        .iter()
        .find(|l| l.contains("auth_method=\"api_key\"") && l.contains("path=/ "))
        .expect("the API-key request is logged with its method");
    for field in [
        "request_id=",
        "method=GET",
        "status=200",
        "principal=\"user\"",
        "client_ip=127.0.0.1",
        "user_agent=",
        "latency_ms=",
    ] {
        assert!(key_line.contains(field), "{field} missing: {key_line}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains("auth_method=\"jwt\"") && l.contains("token_id=")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("status=403") && !l.contains("principal=")),
        "{text}"
    );
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

#[tokio::test]
async fn users_are_managed_with_users_permissions_and_get_base_permissions() {
    let svc = locked().await;
    let admin = svc.login("admin", ADMIN_PASSWORD).await;
    let (status, created) = send(
        &svc,
        reqwest::Method::POST,
        "/users",
        &admin,
        Some(json!({"username": "grace", "password": "grace-password-1"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let (status, _) = send(
        &svc,
        reqwest::Method::POST,
        "/users",
        &admin,
        Some(json!({"username": "grace", "password": "another-password"})),
    )
    .await;
    assert_eq!(status, 409, "a duplicate username is a conflict");
    let (status, list) = send(&svc, reqwest::Method::GET, "/users", &admin, None).await;
    assert_eq!(status, 200);
    assert!(list.to_string().contains("grace"), "{list}");

    // grace has the base permissions: she may chat, not manage users.
    let grace = svc.login("grace", "grace-password-1").await;
    let (status, body) = svc
        .post("/message", Some(&grace), json!({"text": "hi"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user_id"], created["client_id"]);
    let (status, body) = send(&svc, reqwest::Method::GET, "/users", &grace, None).await;
    assert_eq!(status, 403);
    assert_eq!(body, serde_json::from_str::<Value>(INVALID).expect("json"));
    let (status, _) = svc.get("/auth/available-permissions", Some(&grace)).await;
    assert_eq!(status, 200);

    // The WS key grants base permissions, so it cannot reach /users over HTTP anyway.
    let (status, _) = send(&svc, reqwest::Method::GET, "/users", WS_KEY, None).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn users_tokens_and_revocations_survive_a_restart() {
    let env = [
        ("CCAT_API_KEY", HTTP_KEY),
        ("CCAT_ADMIN_PASSWORD", ADMIN_PASSWORD),
    ];
    let svc = start(&env).await;
    let admin = svc.login("admin", ADMIN_PASSWORD).await;
    let (status, _) = send(
        &svc,
        reqwest::Method::POST,
        "/users",
        &admin,
        Some(json!({"username": "heidi", "password": "heidi-password-1"})),
    )
    .await;
    assert_eq!(status, 201);
    let heidi = svc.login("heidi", "heidi-password-1").await;
    let revoked = svc.login("heidi", "heidi-password-1").await;
    let resp = http()
        .post(svc.url("/auth/revoke"))
        .json(&json!({"token": revoked}))
        .send()
        .await
        .expect("revoke");
    assert!(resp.status().is_success(), "{}", resp.status());
    let (status, _) = svc.get("/auth/me", Some(&revoked)).await;
    assert_eq!(status, 403);

    let data = svc.stop();
    assert!(data.0.join("data/auth.db").exists(), "SQLite under ./data");
    let svc = start_in(&env, data).await;
    let (status, _) = svc.get("/auth/me", Some(&heidi)).await;
    assert_eq!(status, 200, "the JWT secret and the user survive");
    let (status, _) = svc.get("/auth/me", Some(&revoked)).await;
    assert_eq!(status, 403, "the revocation survives");
    svc.login("heidi", "heidi-password-1").await;
}

#[poem::handler]
fn validate_token(req: &poem::Request) -> poem::Response {
    use poem::IntoResponse as _;
    match req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
    {
        Some("Bearer idp-token-of-ivan") => poem::web::Json(json!({
            "username": "ivan",
            "name": "Ivan",
            "extra": {"source": "idp"},
        }))
        .into_response(),
        _ => poem::http::StatusCode::UNAUTHORIZED.into_response(),
    }
}

#[tokio::test]
async fn the_custom_handler_is_activated_at_run_time_and_validates_against_the_idp() {
    use poem::listener::{Acceptor, Listener};
    let acceptor = poem::listener::TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .expect("bind");
    let idp = *acceptor.local_addr()[0].as_socket_addr().expect("addr");
    tokio::spawn(
        poem::Server::new_with_acceptor(acceptor)
            .run(poem::Route::new().at("/validate-token", poem::get(validate_token))),
    );

    let svc = locked().await;
    let (status, _) = svc.get("/", Some("idp-token-of-ivan")).await;
    assert_eq!(status, 403, "no handler accepts the IdP's token yet");

    let admin = svc.login("admin", ADMIN_PASSWORD).await;
    let (status, list) = send(
        &svc,
        reqwest::Method::GET,
        "/auth_handler/settings",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        list.to_string().contains("CustomAuthHandlerConfig"),
        "{list}"
    );
    let (status, _) = send(
        &svc,
        reqwest::Method::GET,
        "/auth_handler/settings/NoSuchHandler",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, body) = send(
        &svc,
        reqwest::Method::PUT,
        "/auth_handler/settings/CustomAuthHandlerConfig",
        &admin,
        Some(json!({"server_url": 42})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = send(
        &svc,
        reqwest::Method::PUT,
        "/auth_handler/settings/CustomAuthHandlerConfig",
        HTTP_KEY.to_owned().as_str(),
        Some(json!({"server_url": format!("http://{idp}")})),
    )
    .await;
    assert_eq!(status, 200, "the HTTP key holds every permission");

    let (status, body) = svc.get("/", Some("idp-token-of-ivan")).await;
    assert_eq!(status, 200, "{body}");
    let (_, me) = svc.get("/auth/me", Some("idp-token-of-ivan")).await;
    assert_eq!(me["id"], "ivan", "{me}");
    let (status, _) = svc.get("/", Some("idp-token-of-someone-else")).await;
    assert_eq!(status, 403);
    let (status, _) = svc.get("/users", Some("idp-token-of-ivan")).await;
    assert_eq!(status, 403, "base permissions only");
}

#[tokio::test]
async fn every_operation_of_the_spec_answers_at_its_documented_path_and_method() {
    let svc = locked().await;
    let client = http();
    let spec: Value = client
        .get(svc.url("/openapi.json"))
        .send()
        .await
        .expect("spec")
        .json()
        .await
        .expect("JSON");
    let paths = spec["paths"].as_object().expect("paths");
    let mut called = Vec::new();
    for (path, item) in paths {
        assert!(item.get("servers").is_none(), "{path} has its own servers");
        for method in ["get", "put", "post", "delete", "patch"] {
            if item.get(method).is_none() {
                continue;
            }
            let uri: Vec<&str> = path
                .split('/')
                .map(|part| if part.starts_with('{') { "x" } else { part })
                .collect();
            let url = svc.url(&uri.join("/"));
            let method =
                reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let status = client
                .request(method.clone(), &url)
                .send()
                .await
                .expect("answer")
                .status();
            assert!(status != 404 && status != 405, "{method} {url}: {status}");
            called.push(format!("{method} {path}"));
        }
    }
    for expected in [
        "POST /auth/token",
        "GET /auth/me",
        "POST /message",
        "GET /users",
        "GET /auth_handler/settings",
    ] {
        assert!(
            called.iter().any(|c| c == expected),
            "{expected} not in {called:?}"
        );
    }
    // The user routes are served at the root and under /auth: listed once,
    // at the root, where the README documents them.
    assert!(!paths.contains_key("/auth/users"));
    assert!(!paths.contains_key("/auth/.well-known/jwks.json"));
    let missing = client
        .get(svc.url("/not-served"))
        .send()
        .await
        .expect("answer");
    assert_eq!(missing.status(), 404);
}
