//! Shared by the integration tests: a fake upstream API on loopback, a
//! poem server harness, clients made from JSON records, and log capture.

#![allow(dead_code)] // each test binary uses its own part

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use auth_client::{AuthenticatorRegistry, ClientError, CredentialConfig, ManualClock};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::{Data, Form, Json};
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route, get, handler, post};
use reqwest_middleware::ClientWithMiddleware;
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tracing::Dispatch;
use tracing::dispatcher::DefaultGuard;
use tracing_subscriber::fmt::MakeWriter;

/// Every secret of the tests contains this, so a log holding any of them
/// is caught by one search.
pub(crate) const MARK: &str = "SECRET";

pub(crate) const TOKEN_USER: &str = "svc";
pub(crate) const TOKEN_PASSWORD: &str = "token-pw-SECRET";
pub(crate) const BASIC_USER: &str = "monitor";
pub(crate) const BASIC_PASSWORD: &str = "basic-pw-SECRET";
pub(crate) const API_KEY: &str = "api-key-SECRET";
/// With characters that RFC 6749 §2.3.1 form-encodes before Base64.
pub(crate) const CLIENT_ID: &str = "monitor client";
pub(crate) const CLIENT_SECRET: &str = "client-SECRET/+&=";
pub(crate) const OWNER_USER: &str = "owner";
pub(crate) const OWNER_PASSWORD: &str = "owner-pw-SECRET";
pub(crate) const PROXY_USER: &str = "relay";
pub(crate) const PROXY_PASSWORD: &str = "proxy-pw-SECRET";

/// The forms a secret takes on the wire that do not contain [`MARK`]
/// literally: Basic credentials in Base64.
pub(crate) fn encoded_secrets() -> Vec<String> {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    vec![
        STANDARD.encode(format!("{BASIC_USER}:{BASIC_PASSWORD}")),
        STANDARD.encode(format!("{}:{}", enc(CLIENT_ID), enc(CLIENT_SECRET))),
        STANDARD.encode(format!("{PROXY_USER}:{PROXY_PASSWORD}")),
    ]
}

/// A shared buffer the log formatter writes into.
#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buf {
    type Writer = Buf;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Everything logged at any level on this thread (and in futures given
/// [`Logs::dispatch`]) while it lives.
pub(crate) struct Logs {
    buf: Buf,
    dispatch: Dispatch,
    _guard: DefaultGuard,
}

impl Logs {
    /// Starts capturing on this thread; `#[tokio::test]`'s runtime runs
    /// the servers and clients of a test on it.
    pub(crate) fn capture() -> Self {
        let buf = Buf::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(buf.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::TRACE)
            .finish();
        let dispatch = Dispatch::new(subscriber);
        let guard = tracing::dispatcher::set_default(&dispatch);
        Self {
            buf,
            dispatch,
            _guard: guard,
        }
    }

    /// The dispatcher, for futures run on other threads.
    pub(crate) fn dispatch(&self) -> Dispatch {
        self.dispatch.clone()
    }

    /// What was logged so far.
    pub(crate) fn text(&self) -> String {
        let bytes = self.buf.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Fails if anything was logged that shows a secret: the [`MARK`], a
    /// JWT (`eyJ`), or an encoded credential.
    pub(crate) fn assert_no_secret(&self) {
        let text = self.text();
        assert!(
            text.contains("auth_client"),
            "nothing was captured:\n{text}"
        );
        let mut needles = vec![MARK.to_owned(), "eyJ".to_owned()];
        needles.extend(encoded_secrets());
        for needle in &needles {
            if let Some(line) = text.lines().find(|l| l.contains(needle.as_str())) {
                panic!("a log line shows a secret ({needle}): {line}");
            }
        }
    }
}

/// A TCP server on 127.0.0.1 that hangs up on every connection; stopped
/// when the handle is aborted.
pub(crate) async fn hang_up_server() -> (SocketAddr, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            drop(tcp);
        }
    });
    (addr, task)
}

/// A poem server on 127.0.0.1, bound before this returns; stopped on drop.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    task: JoinHandle<io::Result<()>>,
}

impl Server {
    pub(crate) async fn start(app: impl Endpoint + 'static) -> Self {
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .expect("bind 127.0.0.1:0");
        let addr = *acceptor.local_addr()[0]
            .as_socket_addr()
            .expect("a TCP address");
        let task = tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
        Self { addr, task }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the fake OAuth2 token endpoint saw last (no secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OAuthSeen {
    pub(crate) client_auth: &'static str,
    pub(crate) grant_type: String,
    pub(crate) scope: Option<String>,
    pub(crate) audience: Option<String>,
}

/// A fake upstream API with a JSON token endpoint (`POST /token`), an
/// OAuth2 one (`POST /oauth/token`), routes checking credentials, and
/// counters.
///
/// Tokens are `tok-SECRET-<n>`, numbered across both endpoints;
/// `/api/bearer` accepts those from [`accept_from`](Self::accept_from) on;
/// `/api/bearer?hold` holds its refusal while
/// [`release_refusals`](Self::release_refusals) is false.
pub(crate) struct Upstream {
    pub(crate) token_hits: AtomicUsize,
    pub(crate) api_hits: AtomicUsize,
    issued: AtomicUsize,
    /// Token endpoints answer 503 while set.
    pub(crate) fail_tokens: AtomicBool,
    /// The lowest token number `/api/bearer` accepts.
    pub(crate) accept_from: AtomicUsize,
    /// The lifetime key and value put in token answers, if any.
    pub(crate) lifetime: Mutex<Option<(String, i64)>>,
    /// Token endpoints answer only while this is true.
    pub(crate) release: watch::Sender<bool>,
    /// Notified when a token request arrives.
    pub(crate) token_requested: Notify,
    /// `/api/bearer?hold` answers a refusal only while this is true.
    pub(crate) release_refusals: watch::Sender<bool>,
    /// Notified when `/api/bearer?hold` holds a refusal.
    pub(crate) refusal_held: Notify,
    pub(crate) last_oauth: Mutex<Option<OAuthSeen>>,
}

impl Upstream {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            token_hits: AtomicUsize::new(0),
            api_hits: AtomicUsize::new(0),
            issued: AtomicUsize::new(0),
            fail_tokens: AtomicBool::new(false),
            accept_from: AtomicUsize::new(1),
            lifetime: Mutex::new(None),
            release: watch::Sender::new(true),
            token_requested: Notify::new(),
            release_refusals: watch::Sender::new(true),
            refusal_held: Notify::new(),
            last_oauth: Mutex::new(None),
        })
    }

    pub(crate) fn token_hits(&self) -> usize {
        self.token_hits.load(Ordering::SeqCst)
    }

    pub(crate) fn api_hits(&self) -> usize {
        self.api_hits.load(Ordering::SeqCst)
    }

    pub(crate) fn set_lifetime(&self, key: &str, secs: i64) {
        *self.lifetime.lock().unwrap_or_else(PoisonError::into_inner) = Some((key.into(), secs));
    }

    pub(crate) fn last_oauth(&self) -> Option<OAuthSeen> {
        self.last_oauth
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn app(self: &Arc<Self>) -> impl Endpoint + 'static {
        Route::new()
            .at("/token", post(json_token))
            .at("/oauth/token", post(oauth_token))
            .at("/api/bearer", get(bearer_api))
            .at("/api/always401", get(always_401))
            .at("/basic", get(basic_api))
            .at("/echo", get(echo))
            .data(self.clone())
    }

    /// Counts the hit, waits while token answers are held, then answers 503
    /// when failing; `None` to go on.
    async fn token_gate(&self) -> Option<Response> {
        self.token_hits.fetch_add(1, Ordering::SeqCst);
        self.token_requested.notify_one();
        let mut released = self.release.subscribe();
        released
            .wait_for(|open| *open)
            .await
            .expect("the sender lives in self");
        self.fail_tokens
            .load(Ordering::SeqCst)
            .then(|| StatusCode::SERVICE_UNAVAILABLE.into_response())
    }

    fn issue(&self) -> Response {
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let mut answer = json!({
            "access_token": format!("tok-SECRET-{n}"),
            "token_type": "bearer",
            "data": {"jwt": format!("alt-tok-SECRET-{n}")},
        });
        if let Some((key, secs)) = self
            .lifetime
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            answer[key] = json!(secs);
        }
        Json(answer).into_response()
    }
}

fn refusal(status: StatusCode, error: &str) -> Response {
    Json(json!({ "error": error }))
        .with_status(status)
        .into_response()
}

#[handler]
async fn json_token(state: Data<&Arc<Upstream>>, body: Json<Value>) -> Response {
    if let Some(answer) = state.token_gate().await {
        return answer;
    }
    if body["username"] != TOKEN_USER || body["password"] != TOKEN_PASSWORD {
        return refusal(StatusCode::UNAUTHORIZED, "invalid credentials");
    }
    state.issue()
}

fn basic_credentials(req: &Request) -> Option<(String, String)> {
    let value = req.header("authorization")?.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(value).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

#[handler]
async fn oauth_token(
    req: &Request,
    state: Data<&Arc<Upstream>>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    if let Some(answer) = state.token_gate().await {
        return answer;
    }
    let decode = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let (client_auth, id, secret) = match basic_credentials(req) {
        Some((id, secret)) => ("basic", decode(&id), decode(&secret)),
        None => (
            "body",
            form.get("client_id").cloned().unwrap_or_default(),
            form.get("client_secret").cloned().unwrap_or_default(),
        ),
    };
    if id != CLIENT_ID || secret != CLIENT_SECRET {
        return refusal(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let grant_type = form.get("grant_type").cloned().unwrap_or_default();
    match grant_type.as_str() {
        "client_credentials" => {}
        "password"
            if form.get("username").map(String::as_str) == Some(OWNER_USER)
                && form.get("password").map(String::as_str) == Some(OWNER_PASSWORD) => {}
        "password" => return refusal(StatusCode::BAD_REQUEST, "invalid_grant"),
        _ => return refusal(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    }
    *state
        .last_oauth
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(OAuthSeen {
        client_auth,
        grant_type,
        scope: form.get("scope").cloned(),
        audience: form.get("audience").cloned(),
    });
    state.issue()
}

#[handler]
async fn bearer_api(req: &Request, state: Data<&Arc<Upstream>>) -> Response {
    state.api_hits.fetch_add(1, Ordering::SeqCst);
    let n = req
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer tok-SECRET-"))
        .and_then(|n| n.parse::<usize>().ok());
    match n {
        Some(n)
            if n >= state.accept_from.load(Ordering::SeqCst)
                && n <= state.issued.load(Ordering::SeqCst) =>
        {
            format!("token {n}").into_response()
        }
        _ => {
            if req.uri().query() == Some("hold") {
                state.refusal_held.notify_one();
                let mut released = state.release_refusals.subscribe();
                released
                    .wait_for(|open| *open)
                    .await
                    .expect("the sender lives in state");
            }
            StatusCode::UNAUTHORIZED.into_response()
        }
    }
}

#[handler]
fn always_401(state: Data<&Arc<Upstream>>) -> StatusCode {
    state.api_hits.fetch_add(1, Ordering::SeqCst);
    StatusCode::UNAUTHORIZED
}

#[handler]
fn basic_api(req: &Request) -> Response {
    match basic_credentials(req) {
        Some((user, password)) if user == BASIC_USER && password == BASIC_PASSWORD => {
            "hello monitor".into_response()
        }
        _ => StatusCode::UNAUTHORIZED
            .with_header("www-authenticate", "Basic realm=\"test\"")
            .into_response(),
    }
}

/// The request's headers and query as JSON.
#[handler]
fn echo(req: &Request) -> Json<Value> {
    let headers: BTreeMap<String, String> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    Json(json!({ "headers": headers, "query": req.uri().query() }))
}

/// A client for a JSON credential record, on `clock`.
pub(crate) fn client(record: Value, clock: &ManualClock) -> ClientWithMiddleware {
    client_from(AuthenticatorRegistry::new(), record, clock)
}

/// A client for a JSON credential record from `registry`, on `clock`.
pub(crate) fn client_from(
    registry: AuthenticatorRegistry,
    record: Value,
    clock: &ManualClock,
) -> ClientWithMiddleware {
    let record: CredentialConfig = serde_json::from_value(record).expect("a credential record");
    registry
        .with_clock(Arc::new(clock.clone()))
        .client(&record)
        .expect("a client")
}

/// The [`ClientError`] inside a middleware error.
pub(crate) fn client_error(err: &reqwest_middleware::Error) -> &ClientError {
    match err {
        reqwest_middleware::Error::Middleware(e) => e
            .downcast_ref::<ClientError>()
            .unwrap_or_else(|| panic!("not a ClientError: {e}")),
        reqwest_middleware::Error::Reqwest(e) => panic!("a transport error: {e}"),
    }
}

/// A clock at an arbitrary fixed start.
pub(crate) fn clock() -> ManualClock {
    ManualClock::new(1_700_000_000)
}
