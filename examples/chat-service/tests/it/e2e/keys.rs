//! The HTTP and WebSocket keys: each locks its own channel, with the chat server's bodies and headers.

use super::*;

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
