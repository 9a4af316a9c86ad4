//! The request log, user management, and what survives a restart.

use super::*;

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
