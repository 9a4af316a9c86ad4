//! Resource-server mode against a real OpenID provider that no one here
//! wrote: panva's `oidc-provider` (tests/oidc), started on a loopback port
//! with a client-credentials client and JWT access tokens (resource
//! indicators). The service finds the keys through OIDC discovery, and
//! `#[requires]` checks the token's scopes as permissions.
//!
//! Needs Node.js and oidc-provider (`bash .ci/setup-oidc`, as root for
//! apt-get). In CI a missing piece fails the test; elsewhere it skips with
//! the command to run.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use auth_core::clock::{Clock, ManualClock, SystemClock};
use auth_core::oidc::{IssuerConfig, OidcHandler};
use auth_core::{AuthPermission as P, AuthResource as R, Pipeline};
use auth_poem::{Authenticated, PoemAuth, requires};
use poem::http::StatusCode;
use poem::test::TestClient;
use poem::{Endpoint, EndpointExt, Route, get, handler};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const AUDIENCE: &str = "urn:poem-auth:api";
const OTHER_AUDIENCE: &str = "urn:poem-auth:other-api";

fn oidc_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc")
}

/// Whether the provider can run; skips (or, in CI, fails) when not.
fn provider_available() -> bool {
    let mut missing = Vec::new();
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        missing.push("node");
    }
    if !oidc_dir().join("node_modules/oidc-provider").exists() {
        missing.push("oidc-provider");
    }
    if missing.is_empty() {
        return true;
    }
    let msg = format!("missing {missing:?}: run `sudo bash .ci/setup-oidc`");
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg}");
    }
    eprintln!("skipping the OpenID provider test: {msg}");
    false
}

/// A running provider; killed when dropped.
struct Provider {
    _child: Child,
    issuer: String,
    port: u16,
    client_id: String,
    client_secret: String,
}

impl Provider {
    /// Starts the provider on `port` (0: any) signing with a fresh `alg` key.
    async fn start(port: u16, alg: &str) -> Self {
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .arg(port.to_string())
            .arg(alg)
            .current_dir(oidc_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node starts");
        let stdout = child.stdout.take().expect("stdout");
        let line = BufReader::new(stdout)
            .lines()
            .next_line()
            .await
            .expect("read")
            .expect("the provider prints its settings");
        let info: Value = serde_json::from_str(&line).expect("json");
        let issuer = info["issuer"].as_str().expect("issuer").to_owned();
        let port = issuer
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port");
        Self {
            _child: child,
            issuer,
            port,
            client_id: info["client_id"].as_str().expect("client").to_owned(),
            client_secret: info["client_secret"].as_str().expect("secret").to_owned(),
        }
    }

    /// A client-credentials access token (a JWT) for `resource`.
    async fn token(&self, resource: &str, scope: &str) -> String {
        let resp = reqwest::Client::new()
            .post(format!("{}/token", self.issuer))
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=client_credentials&resource={}&scope={}",
                form_encode(resource),
                form_encode(scope)
            ))
            .send()
            .await
            .expect("token request");
        let status = resp.status();
        let body: Value = resp.json().await.expect("json");
        assert!(status.is_success(), "token request failed: {body}");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }
}

/// Percent-encodes a form value (RFC 3986 unreserved characters pass).
fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[requires(R::Conversation, P::Read)]
#[handler]
fn conversations(user: Authenticated) -> String {
    user.id.clone()
}

#[requires(R::Users, P::Delete)]
#[handler]
fn delete_users() -> &'static str {
    "deleted"
}

fn app(handler: OidcHandler) -> TestClient<impl Endpoint> {
    let auth = PoemAuth::new(
        Pipeline::builder()
            .handler(handler)
            .build()
            .expect("pipeline"),
    );
    TestClient::new(
        Route::new()
            .at("/api/conversations", get(conversations))
            .at("/api/users", get(delete_users))
            .data(auth),
    )
}

async fn status_of(
    cli: &TestClient<impl Endpoint>,
    path: &str,
    token: &str,
) -> (StatusCode, String) {
    let resp = cli
        .get(path)
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await;
    let status = resp.0.status();
    (
        status,
        resp.0.into_body().into_string().await.expect("body"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_provider_tokens_are_verified_through_discovery_and_wrong_ones_refused() {
    if !provider_available() {
        return;
    }
    let provider = Provider::start(0, "RS256").await;
    let clock = ManualClock::new(SystemClock.now());
    let handler = OidcHandler::builder()
        .clock(Arc::new(clock.clone()))
        .issuer(IssuerConfig::discover(provider.issuer.clone(), AUDIENCE).refresh(3600, 30))
        .build()
        .expect("handler");
    let cli = app(handler);

    // Accepted; its scopes map onto the permission model; `sub` is the id.
    let token = provider
        .token(AUDIENCE, "conversation:read users:list")
        .await;
    assert_eq!(
        status_of(&cli, "/api/conversations", &token).await,
        (StatusCode::OK, provider.client_id.clone())
    );
    assert_eq!(
        status_of(&cli, "/api/users", &token).await.0,
        StatusCode::FORBIDDEN,
        "users:list does not grant users:delete"
    );

    // A token for another audience.
    let other_audience = provider.token(OTHER_AUDIENCE, "conversation:read").await;
    assert_eq!(
        status_of(&cli, "/api/conversations", &other_audience)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );

    // A token of another issuer (another provider, same audience).
    let stranger = Provider::start(0, "ES256").await;
    let foreign = stranger.token(AUDIENCE, "conversation:read").await;
    assert_eq!(
        status_of(&cli, "/api/conversations", &foreign).await.0,
        StatusCode::UNAUTHORIZED
    );

    // The provider restarts with a new signing key: picked up without a
    // restart of the service, once the refresh rate limit allows.
    let port = provider.port;
    drop(provider);
    let provider = restart(port, "EdDSA").await;
    clock.advance(31);
    let rotated = provider.token(AUDIENCE, "conversation:read").await;
    assert_eq!(
        status_of(&cli, "/api/conversations", &rotated).await,
        (StatusCode::OK, provider.client_id.clone())
    );
    assert_eq!(
        status_of(&cli, "/api/conversations", &token).await.0,
        StatusCode::UNAUTHORIZED,
        "the withdrawn key no longer verifies"
    );

    // Expired (the provider's tokens live 300 s; leeway 30 s).
    clock.advance(300 + 31);
    assert_eq!(
        status_of(&cli, "/api/conversations", &rotated).await.0,
        StatusCode::UNAUTHORIZED
    );
}

/// Starts a provider on `port` again: the old process may hold it a moment.
async fn restart(port: u16, alg: &str) -> Provider {
    for _ in 0..50 {
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Provider::start(port, alg).await
}
