//! Swagger UI in a real browser: headless Chromium opens `/docs`, calls a
//! protected operation (401), logs in through *Authorize* with the OAuth2
//! password flow against the token route, and calls it again (200).
//!
//! Needs Chromium, Node.js and playwright-core (`bash .ci/setup-browser`,
//! as root). In CI a missing piece fails the test; elsewhere it skips with
//! that message.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use auth_core::jwt::{Algorithm, JwtKey, KeySet, TokenIssuer, Validation};
use auth_core::password::PasswordHasher;
use auth_core::tokens::TokenService;
use auth_core::{JwtHandler, MemoryUserStore, PermissionSet, Pipeline};
use auth_poem::{ApiAuth, PoemAuth};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{EndpointExt, Route, Server};
use poem_openapi::payload::PlainText;
use poem_openapi::{OpenApi, OpenApiService};

struct SecretApi;

#[OpenApi]
impl SecretApi {
    /// A protected operation.
    #[oai(path = "/secret", method = "get")]
    async fn secret(&self, user: ApiAuth) -> PlainText<String> {
        PlainText(format!("hello {}", user.id))
    }
}

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// What is missing to run the browser, if anything.
fn missing_browser_parts() -> Vec<&'static str> {
    let mut missing = Vec::new();
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        missing.push("chromium");
    }
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        missing.push("node");
    }
    if !browser_dir().join("node_modules/playwright-core").exists() {
        missing.push("playwright-core");
    }
    missing
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swagger_ui_authorize_logs_in_with_the_password_flow_and_calls_a_protected_operation() {
    let missing = missing_browser_parts();
    if !missing.is_empty() {
        let msg = format!("missing {missing:?}: run `sudo bash .ci/setup-browser`");
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{msg}");
        }
        eprintln!("skipping the Swagger UI browser test: {msg}");
        return;
    }

    let keys = Arc::new(KeySet::single(
        JwtKey::hmac(Algorithm::HS256, b"an-hmac-secret-for-the-swagger-ui-tests").expect("key"),
    ));
    let hasher = PasswordHasher::fast_insecure_for_tests();
    let users = Arc::new(MemoryUserStore::new(hasher.clone()));
    users
        .add_user("alice", "wonderland", PermissionSet::base(), ["reader"])
        .expect("user");
    let tokens = Arc::new(
        TokenService::new(TokenIssuer::new(keys.clone(), None).expect("issuer"), users)
            .with_hasher(hasher),
    );
    let pipeline = Pipeline::builder()
        .handler(JwtHandler::new(keys, Validation::new()).with_revocations(tokens.revocations()))
        .build()
        .expect("pipeline");
    let auth = PoemAuth::from_pipeline(pipeline)
        .token_service(tokens)
        .build()
        .expect("auth");
    let service = OpenApiService::new(SecretApi, "Browser test", "1.0").server("/api");
    let app = Route::new()
        .nest("/", auth.openapi_endpoints(&service))
        .nest("/auth", auth.routes())
        .nest("/api", service)
        .data(auth);

    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .expect("bind");
    let addr = acceptor.local_addr()[0]
        .as_socket_addr()
        .copied()
        .expect("socket address");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        Server::new_with_acceptor(acceptor)
            .run_with_graceful_shutdown(
                app,
                async { stop_rx.await.unwrap_or(()) },
                Some(Duration::from_secs(2)),
            )
            .await
    });

    let script = browser_dir().join("swagger_login.mjs");
    let run = tokio::process::Command::new("node")
        .arg(&script)
        .arg(format!("http://{addr}/docs"))
        // The spec keys the operation by its served path, under the `/api` nest.
        .args(["alice", "wonderland", "/api/secret"])
        .current_dir(browser_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the browser run timed out")
        .expect("node runs");
    let _ = stop_tx.send(());
    let _ = server.await;

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "browser script failed\nstdout: {stdout}\nstderr: {stderr}"
    );
    let result: serde_json::Value =
        serde_json::from_str(stdout.trim().lines().last().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(
        result,
        serde_json::json!({"before": 401, "after": 200}),
        "{stderr}"
    );
}
