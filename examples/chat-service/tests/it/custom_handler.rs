//! The example's custom handler against a small identity provider started
//! on loopback: built through the process-wide handler registry, as the
//! handler-settings routes build it.

use std::net::SocketAddr;

use auth_core::{
    AuthContext, AuthError, AuthMethod, AuthPermission as P, AuthResource as R, Credential,
    HandlerRegistry,
};
use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::{Json, headers::Authorization, headers::authorization::Bearer};
use poem::{IntoResponse, Route, Server, get, handler};
use serde_json::{Value, json};

// Links the example's library, whose `#[auth_handler]` registers the config.
use chat_service as _;

#[handler]
fn validate(auth: Option<poem::web::TypedHeader<Authorization<Bearer>>>) -> poem::Response {
    match auth.as_ref().map(|a| a.0.token()) {
        Some("good-token") => Json(json!({
            "username": "erin",
            "name": "Erin",
            "extra": {"team": "blue"},
        }))
        .into_response(),
        Some("power-token") => Json(json!({
            "username": "frank",
            "name": "Frank",
            "extra": {},
            "permissions": {"USERS": ["LIST", "READ"]},
        }))
        .into_response(),
        Some("odd-token") => Json(json!({"name": "no username"})).into_response(),
        _ => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn idp() -> SocketAddr {
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .expect("bind");
    let addr = acceptor.local_addr()[0]
        .as_socket_addr()
        .copied()
        .expect("socket addr");
    tokio::spawn(
        Server::new_with_acceptor(acceptor).run(Route::new().at("/validate-token", get(validate))),
    );
    addr
}

fn build(config: Value) -> Result<std::sync::Arc<dyn auth_core::AuthHandler>, AuthError> {
    HandlerRegistry::with_registered()
        .expect("registry")
        .build("CustomAuthHandlerConfig", config)
}

#[tokio::test]
async fn the_config_is_registered_with_a_schema() {
    let registry = HandlerRegistry::with_registered().expect("registry");
    let info = registry
        .get("CustomAuthHandlerConfig")
        .expect("registered by #[auth_handler]");
    let schema = serde_json::to_value(&info.schema).expect("schema");
    assert!(schema["properties"]["server_url"].is_object(), "{schema}");
    assert_eq!(
        schema["properties"]["max_concurrent"]["default"], 32,
        "the bound and its default are shown: {schema}"
    );
    assert!(
        registry
            .validate("CustomAuthHandlerConfig", &json!({"server_url": 5}))
            .is_err()
    );
    assert!(build(json!({"server_url": "ftp://idp"})).is_err());
    assert!(build(json!({"server_url": "http://idp.local", "timeout_secs": 0})).is_err());
    for bound in [0, 1025] {
        assert!(
            build(json!({"server_url": "http://idp.local", "max_concurrent": bound})).is_err(),
            "{bound}"
        );
    }
}

#[tokio::test]
async fn a_token_the_idp_accepts_becomes_the_principal_with_base_or_its_permissions() {
    let addr = idp().await;
    let handler = build(json!({"server_url": format!("http://{addr}/")})).expect("built");
    let erin = handler
        .authorize(&Credential::bearer("good-token"), &AuthContext::http())
        .await
        .expect("no error")
        .expect("accepted");
    assert_eq!(erin.id, "erin");
    assert_eq!(erin.name, "Erin");
    assert_eq!(erin.extra["team"], "blue");
    assert!(matches!(erin.method, AuthMethod::Custom { .. }));
    assert!(erin.has(R::Conversation, P::Write), "base permissions");
    assert!(!erin.has(R::Users, P::List));

    let frank = handler
        .authorize(&Credential::bearer("power-token"), &AuthContext::http())
        .await
        .expect("no error")
        .expect("accepted");
    assert!(frank.has(R::Users, P::List));
    assert!(
        !frank.has(R::Conversation, P::Write),
        "the answer's permissions replace the base set"
    );
}

#[tokio::test]
async fn anything_else_from_the_idp_denies() {
    let addr = idp().await;
    let handler = build(json!({"server_url": format!("http://{addr}")})).expect("built");
    for token in ["bad-token", "odd-token"] {
        let refused = handler
            .authorize(&Credential::bearer(token), &AuthContext::http())
            .await;
        assert!(
            matches!(refused, Err(AuthError::InvalidCredentials)),
            "{token}: {refused:?}"
        );
    }
    let basic = handler
        .authorize(&Credential::basic("u", "p"), &AuthContext::http())
        .await
        .expect("no error");
    assert!(basic.is_none(), "only bearer tokens are delegated");
}

#[tokio::test]
async fn a_dead_or_silent_idp_denies_instead_of_hanging() {
    // Nothing listens on this port once the listener is dropped.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let handler = build(json!({"server_url": format!("http://{dead}")})).expect("built");
    let refused = handler
        .authorize(&Credential::bearer("good-token"), &AuthContext::http())
        .await;
    assert!(
        matches!(refused, Err(AuthError::Unavailable(_))),
        "{refused:?}"
    );

    // Accepts connections and never answers: the handler's timeout ends it.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = silent.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let handler =
        build(json!({"server_url": format!("http://{addr}"), "timeout_secs": 1})).expect("built");
    let refused = handler
        .authorize(&Credential::bearer("good-token"), &AuthContext::http())
        .await;
    assert!(
        matches!(refused, Err(AuthError::Unavailable(_))),
        "{refused:?}"
    );
}

/// A loopback identity provider written by hand, to answer what no
/// well-behaved server would: each request is reported on `arrived`, waits
/// until `release` says `true`, then gets `answer` as the raw response.
async fn raw_idp(
    answer: Vec<u8>,
    arrived: tokio::sync::mpsc::UnboundedSender<()>,
    release: tokio::sync::watch::Receiver<bool>,
) -> SocketAddr {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let answer = std::sync::Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (answer, arrived, mut release) = (answer.clone(), arrived.clone(), release.clone());
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = arrived.send(());
                if release.wait_for(|open| *open).await.is_err() {
                    return;
                }
                // The client may hang up once it has read enough.
                let _ = socket.write_all(&answer).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    addr
}

/// A provider answering every request at once with `answer`.
async fn answering(answer: Vec<u8>) -> SocketAddr {
    let (arrived, _) = tokio::sync::mpsc::unbounded_channel();
    let (_, release) = tokio::sync::watch::channel(true);
    raw_idp(answer, arrived, release).await
}

/// A 200 answer accepting the token as `erin`, `padding` bytes long in
/// `name`, with a `Content-Length` or chunked.
fn erin_padded(padding: usize, chunked: bool) -> Vec<u8> {
    let body = json!({"username": "erin", "name": "x".repeat(padding)}).to_string();
    if !chunked {
        let mut out = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(body.as_bytes());
        return out;
    }
    let mut out = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                    transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
        .to_vec();
    for chunk in body.as_bytes().chunks(16 * 1024) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[tokio::test]
async fn an_idp_answer_over_64_kib_is_refused_with_503_whether_sized_or_chunked() {
    const MIB: usize = 1024 * 1024;
    for chunked in [false, true] {
        let addr = answering(erin_padded(MIB, chunked)).await;
        let handler = build(json!({"server_url": format!("http://{addr}")})).expect("built");
        let refused = handler
            .authorize(&Credential::bearer("good-token"), &AuthContext::http())
            .await;
        assert!(
            matches!(refused, Err(AuthError::Unavailable(_))),
            "chunked: {chunked}: {refused:?}"
        );

        // Under the cap, the same answer is a principal.
        let addr = answering(erin_padded(60 * 1024, chunked)).await;
        let handler = build(json!({"server_url": format!("http://{addr}")})).expect("built");
        let erin = handler
            .authorize(&Credential::bearer("good-token"), &AuthContext::http())
            .await
            .expect("no error")
            .expect("accepted");
        assert_eq!(erin.id, "erin", "chunked: {chunked}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_beyond_max_concurrent_get_503_at_once_while_the_idp_is_slow() {
    const BOUND: usize = 2;
    let (arrived_tx, mut arrived) = tokio::sync::mpsc::unbounded_channel();
    let (release, release_rx) = tokio::sync::watch::channel(false);
    let addr = raw_idp(erin_padded(0, false), arrived_tx, release_rx).await;
    let handler = build(json!({
        "server_url": format!("http://{addr}"),
        "max_concurrent": BOUND,
    }))
    .expect("built");

    // Fill every slot: these wait on the provider, which holds them.
    let waiting: Vec<_> = (0..BOUND)
        .map(|_| {
            let handler = handler.clone();
            tokio::spawn(async move {
                handler
                    .authorize(&Credential::bearer("good-token"), &AuthContext::http())
                    .await
            })
        })
        .collect();
    for _ in 0..BOUND {
        arrived
            .recv()
            .await
            .expect("a request reaches the provider");
    }

    // The provider has answered nobody yet: the excess are refused without
    // waiting for it (the timeout only guards against a hang).
    for _ in 0..3 {
        let refused = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            handler.authorize(&Credential::bearer("good-token"), &AuthContext::http()),
        )
        .await
        .expect("refused at once, not queued");
        assert!(
            matches!(refused, Err(AuthError::Unavailable(_))),
            "{refused:?}"
        );
    }
    assert!(
        arrived.try_recv().is_err(),
        "the refused calls never reached the provider"
    );

    release.send(true).expect("release");
    for call in waiting {
        let erin = call
            .await
            .expect("task")
            .expect("no error")
            .expect("accepted");
        assert_eq!(erin.id, "erin");
    }
    let again = handler
        .authorize(&Credential::bearer("good-token"), &AuthContext::http())
        .await
        .expect("the slots are free again")
        .expect("accepted");
    assert_eq!(again.id, "erin");
}
