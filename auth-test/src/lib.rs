//! What the tests of a service built with auth-poem need again and again:
//! a JSON body, a login at `/auth/token`, a bearer header, a request with or
//! without a credential, a request from a given socket peer, a token service
//! over a test key, an endpoint served on a free loopback port, and a
//! service binary run as a process on one ([`Served`]).
//!
//! A dev-dependency only: nothing here belongs in a release build.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use poem::{Route, get, handler};
//!
//! #[handler]
//! fn hello() -> &'static str {
//!     "hello"
//! }
//!
//! let base = auth_test::serve(Route::new().at("/hello", get(hello))).await;
//! assert!(base.starts_with("http://127.0.0.1:"));
//! # });
//! ```

use std::sync::Arc;

use auth_core::jwt::{Algorithm, JwtKey, KeySet, TokenIssuer};
use auth_core::tokens::TokenService;
use auth_core::{MemoryUserStore, RoleMap};
use poem::Endpoint;
use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::test::{TestClient, TestResponse};
use serde_json::{Value, json};

/// The response body as JSON.
pub async fn json_of(resp: TestResponse) -> Value {
    resp.0.into_body().into_json().await.expect("json body")
}

/// `POST /auth/token` with a username and password.
pub async fn token_login<E: Endpoint>(
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
pub async fn login<E: Endpoint>(cli: &TestClient<E>, username: &str, password: &str) -> String {
    let resp = token_login(cli, username, password).await;
    resp.assert_status_is_ok();
    json_of(resp).await["access_token"]
        .as_str()
        .expect("access token")
        .to_owned()
}

/// An `Authorization` value for a bearer token.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// `GET /auth/me` with a bearer token, which must succeed: the principal.
pub async fn me<E: Endpoint>(cli: &TestClient<E>, token: &str) -> Value {
    let resp = cli
        .get("/auth/me")
        .header("authorization", bearer(token))
        .send()
        .await;
    resp.assert_status_is_ok();
    json_of(resp).await
}

/// A request with an optional credential header and JSON body.
pub async fn request<E: Endpoint>(
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
pub async fn post_json_from<E: Endpoint>(
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
pub async fn status_and_json(resp: TestResponse) -> (StatusCode, Value) {
    let status = resp.0.status();
    let bytes = resp.0.into_body().into_bytes().await.expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// An HS256 key set whose secret is made from `seed`, and a token service
/// over it with an empty user store and `roles`.
pub fn token_service(seed: u8, roles: RoleMap) -> (Arc<KeySet>, Arc<TokenService>) {
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

/// Binds a free loopback port: the base URL (`http://127.0.0.1:port`) and
/// the acceptor to serve on, for a test that needs the address before the
/// endpoint exists (an issuer URL inside its own configuration).
pub async fn bind_loopback() -> (String, TcpAcceptor) {
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .expect("bind a loopback port");
    let addr = acceptor.local_addr()[0]
        .as_socket_addr()
        .copied()
        .expect("a socket address");
    (format!("http://{addr}"), acceptor)
}

/// Serves `app` on `acceptor` in the background for the rest of the test.
pub fn serve_on(acceptor: TcpAcceptor, app: impl Endpoint + 'static) {
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
}

/// Serves `app` on a free loopback port in the background: its base URL.
pub async fn serve(app: impl Endpoint + 'static) -> String {
    let (base, acceptor) = bind_loopback().await;
    serve_on(acceptor, app);
    base
}

/// A loopback port free at the time of the call, for a child process to
/// bind (another process may take it first; retry on a bind error).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind a loopback port")
        .port()
}

/// A service binary run as a child process on a free loopback port (passed
/// as `--bind 127.0.0.1:<port>`), killed when dropped.
pub struct Served {
    child: std::process::Child,
    port: u16,
}

impl Served {
    /// Spawns `cmd` (program, environment and stdio already set) with
    /// `--bind` on a free loopback port. It may not listen yet: see
    /// [`Served::wait_ready`] and [`Served::ready`].
    pub fn spawn(mut cmd: std::process::Command) -> Self {
        let port = free_port();
        let child = cmd
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .spawn()
            .expect("the service binary starts");
        Self { child, port }
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// The child process, for its stdio.
    pub fn child(&mut self) -> &mut std::process::Child {
        &mut self.child
    }

    /// Blocks until the service accepts connections (at most 20 s); panics
    /// if it exits first or never listens.
    pub fn wait_ready(&mut self) {
        for _ in 0..1000 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            self.exited_is_a_failure();
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("the service did not listen on {}", self.addr());
    }

    /// [`Served::wait_ready`] for async tests: the runtime keeps running.
    pub async fn ready(&mut self) {
        for _ in 0..1000 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            self.exited_is_a_failure();
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("the service did not listen on {}", self.addr());
    }

    fn exited_is_a_failure(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("the service exited before listening: {status}");
        }
    }

    /// Kills the process and waits for it.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop();
    }
}
