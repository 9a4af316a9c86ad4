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
    assert!(
        registry
            .validate("CustomAuthHandlerConfig", &json!({"server_url": 5}))
            .is_err()
    );
    assert!(build(json!({"server_url": "ftp://idp"})).is_err());
    assert!(build(json!({"server_url": "http://idp.local", "timeout_secs": 0})).is_err());
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
