//! Without keys: open on loopback only, refusing other hosts and cross-site origins.

use super::*;

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
