//! The custom handler against a loopback identity provider, and every operation of the spec at its documented path.

use super::*;

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
