//! Extra headers, custom authenticators chosen by name, proxies and TLS.

use super::*;

#[tokio::test]
async fn extra_headers_from_the_list_and_the_json_map_are_sent() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let record = json!({
        "authenticator": "basic",
        "username": BASIC_USER,
        "password": BASIC_PASSWORD,
        "headers": ["X-Tenant: acme", "X-Vendor-Token: vendor-SECRET"],
        "header_map": "{\"X-Trace\": \"on\"}",
        "secret_headers": ["X-Vendor-Token"],
    });
    let client = client(record, &clock());

    let seen = echo(&client, &server, "/echo").await;
    assert_eq!(seen["headers"]["x-tenant"], "acme");
    assert_eq!(seen["headers"]["x-trace"], "on");
    assert_eq!(seen["headers"]["x-vendor-token"], "vendor-SECRET");
    assert!(
        seen["headers"]["authorization"]
            .as_str()
            .is_some_and(|a| a.starts_with("Basic "))
    );
    let text = logs.text();
    assert!(text.contains("x-tenant: acme"), "{text}");
    assert!(text.contains("x-vendor-token: ***"), "{text}");
    logs.assert_no_secret();
}

/// A custom authenticator: a key in a query parameter, its name and key
/// from the record's extra settings.
#[derive(Debug)]
struct QuerySignature {
    param: String,
    key: SecretString,
}

#[async_trait]
impl Authenticator for QuerySignature {
    fn name(&self) -> &str {
        "query_signature"
    }

    fn description(&self) -> &str {
        "A key in a query parameter."
    }

    fn modify_request(&self, request: &mut reqwest::Request) -> Result<(), ClientError> {
        request
            .url_mut()
            .query_pairs_mut()
            .append_pair(&self.param, self.key.expose_secret());
        Ok(())
    }
}

fn registry_with_query_signature() -> AuthenticatorRegistry {
    let mut registry = AuthenticatorRegistry::new();
    registry
        .register(
            "query_signature",
            "A key in a query parameter.",
            |config: &CredentialConfig, _cx: &auth_client::Context| {
                let setting = |name: &str| {
                    config
                        .extra
                        .get(name)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| ClientError::Config(format!("`{name}` is needed")))
                };
                Ok(Arc::new(QuerySignature {
                    param: setting("signature_param")?,
                    key: setting("signature_key")?.into(),
                }) as Arc<dyn Authenticator>)
            },
        )
        .expect("a free name");
    registry
}

#[tokio::test]
async fn a_custom_authenticator_is_chosen_by_name() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let record = json!({
        "authenticator": "query_signature",
        "signature_param": "sig",
        "signature_key": "sig-SECRET",
        "secret_query_params": ["sig"],
    });
    let client = client_from(registry_with_query_signature(), record, &clock());

    let seen = echo(&client, &server, "/echo").await;
    assert_eq!(seen["query"], "sig=sig-SECRET");
    assert!(logs.text().contains("/echo?sig=***"), "{}", logs.text());
    logs.assert_no_secret();
}

#[tokio::test]
async fn authenticator_override_swaps_a_stored_credentials_authenticator() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let record = json!({
        "authenticator": "basic",
        "authenticator_override": "query_signature",
        "username": BASIC_USER,
        "password": BASIC_PASSWORD,
        "signature_param": "sig",
        "signature_key": "sig-SECRET",
        "secret_query_params": ["sig"],
    });
    let client = client_from(registry_with_query_signature(), record, &clock());

    let seen = echo(&client, &server, "/echo").await;
    assert_eq!(seen["query"], "sig=sig-SECRET");
    assert!(seen["headers"].get("authorization").is_none(), "{seen}");
    logs.assert_no_secret();
}

#[tokio::test]
async fn an_unknown_authenticator_name_is_refused_with_the_known_ones() {
    let record: CredentialConfig =
        serde_json::from_value(json!({"authenticator": "digest"})).expect("record");
    let err = registry_with_query_signature()
        .client(&record)
        .expect_err("unknown");
    assert!(
        err.to_string()
            .ends_with("api_key, basic, none, oauth2, query_signature, token"),
        "{err}"
    );
}

#[tokio::test]
async fn requests_go_through_the_configured_proxy_with_its_credentials() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    // The echo server plays the proxy: a proxied plain-HTTP request arrives
    // in absolute form, and poem routes it by its path.
    let proxy = Server::start(upstream.app()).await;
    let record = json!({
        "authenticator": "api_key",
        "api_key": API_KEY,
        "proxy": format!("http://{}", proxy.addr),
        "proxy_username": PROXY_USER,
        "proxy_password": PROXY_PASSWORD,
    });
    let client = client(record, &clock());

    let resp = client
        .get("http://upstream.invalid/echo")
        .send()
        .await
        .expect("sent through the proxy");
    let seen: Value = resp.json().await.expect("json");
    assert_eq!(seen["headers"]["host"], "upstream.invalid");
    assert_eq!(seen["headers"]["authorization"], API_KEY);
    assert_eq!(
        seen["headers"]["proxy-authorization"],
        format!("Basic {}", crate::common::encoded_secrets()[2])
    );
    logs.assert_no_secret();
}

#[tokio::test]
async fn no_proxy_hosts_are_reached_directly() {
    let logs = Logs::capture();
    let upstream = Upstream::new();
    let server = Server::start(upstream.app()).await;
    let (dead_proxy, hang_up) = crate::common::hang_up_server().await;
    let record = json!({
        "authenticator": "api_key",
        "api_key": API_KEY,
        "proxy": format!("http://{dead_proxy}"),
        "no_proxy": "127.0.0.1",
    });
    let client = client(record, &clock());

    let seen = echo(&client, &server, "/echo").await;
    assert_eq!(seen["headers"]["authorization"], API_KEY);
    hang_up.abort();
    logs.assert_no_secret();
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A TLS server on 127.0.0.1 with a certificate from the test CA, answering
/// every request `200 ok`.
async fn tls_server() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let certs = CertificateDer::pem_file_iter(fixture("server.pem"))
        .expect("server.pem")
        .collect::<Result<Vec<_>, _>>()
        .expect("certificates");
    let key = PrivateKeyDer::from_pem_file(fixture("server.key")).expect("server.key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return; // the client refused the certificate
                };
                let mut request = Vec::new();
                let mut chunk = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&chunk[..n]),
                    }
                }
                let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
                let _ = tls.write_all(answer).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (addr, task)
}

#[tokio::test]
async fn tls_is_verified_by_default_and_a_custom_ca_path_is_trusted() {
    let logs = Logs::capture();
    let (addr, server) = tls_server().await;
    let url = format!("https://{addr}/");
    let basic =
        json!({"authenticator": "basic", "username": BASIC_USER, "password": BASIC_PASSWORD});

    let default = client(basic.clone(), &clock());
    let err = default
        .get(&url)
        .send()
        .await
        .expect_err("an unknown CA is refused");
    assert!(err.is_connect() || err.is_request(), "{err:?}");

    let mut with_ca = basic.clone();
    with_ca["ca_path"] = json!(fixture("ca.pem"));
    let resp = client(with_ca, &clock())
        .get(&url)
        .send()
        .await
        .expect("the custom CA is trusted");
    assert_eq!(resp.text().await.expect("body"), "ok");

    let mut unverified = basic;
    unverified["verify_tls"] = json!(false);
    let resp = client(unverified, &clock())
        .get(&url)
        .send()
        .await
        .expect("verification off");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(logs.text().contains("TLS certificate verification is off"));
    server.abort();
    logs.assert_no_secret();
}
