//! The smallest useful poem-auth service.
//!
//! ```text
//! AUTH_DEV_MODE=true AUTH_API_KEY=change-me cargo run -p quickstart
//! ```
//!
//! Settings come from `AUTH_*` variables (see `auth_core::Settings`). Routes:
//!
//! | route | access |
//! |---|---|
//! | `GET /health` | open |
//! | `GET /me` | any valid credential; answers the principal |
//! | `GET /conversations` | `CONVERSATION:READ` (an OpenAPI operation) |
//! | `GET /openapi.json`, `GET /docs` | the OpenAPI document and Swagger UI, open |
//! | `POST /auth/token` | log in as `admin` (JSON or OAuth2 form); answers a JWT and a refresh token |
//! | `/auth/*` | refresh, revoke, logout, `me`, `available-permissions` (see `PoemAuth::routes`) |
//! | `/auth/users`, `/auth/login` | user management (`USERS:*`) and provider logins (see `auth_poem::routes::users`) |
//!
//! Users live in memory, managed by the built-in store provider. At start it
//! seeds `admin` (every permission) with the password in
//! `AUTH_ADMIN_PASSWORD`; when that is unset, one is generated and printed
//! once to stderr.
//!
//! It listens on `127.0.0.1:3000`, or on `--bind ADDR:PORT`, or on
//! `QUICKSTART_BIND`, and stops gracefully on Ctrl-C or SIGTERM.

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use auth_core::{AuthPermission as P, AuthResource as R, MemoryUserStore, RoleMap, Settings};
use auth_poem::{ApiAuth, Authenticated, PoemAuth};
use poem::listener::TcpListener;
use poem::web::Json;
use poem::{Endpoint, EndpointExt, Result, Route, Server, get, handler};
use poem_openapi::{OpenApi, OpenApiService};
use serde_json::{Value, json};
use tracing_subscriber::EnvFilter;

/// Where the service listens when told nothing else.
const DEFAULT_BIND: &str = "127.0.0.1:3000";
/// The environment variable that overrides [`DEFAULT_BIND`].
const BIND_VAR: &str = "QUICKSTART_BIND";
/// How long in-flight requests get to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

const USAGE: &str = "usage: quickstart [--bind ADDR:PORT]

Serves GET /health, GET /me, GET /conversations and the token routes
under /auth (POST /auth/token logs in as admin). Settings come from AUTH_*
variables (AUTH_API_KEY, AUTH_JWT_SECRET, AUTH_DEV_MODE, AUTH_ADMIN_PASSWORD,
...); the address from --bind, else QUICKSTART_BIND, else 127.0.0.1:3000.";

/// The variable holding the `admin` user's password.
const ADMIN_PASSWORD_VAR: &str = "AUTH_ADMIN_PASSWORD";

#[handler]
fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The caller, as the pipeline sees it.
#[handler]
fn me(user: Authenticated) -> Json<Value> {
    Json(json!({
        "id": user.id,
        "name": user.name,
        "roles": user.roles,
        "permissions": user.permissions,
        "method": user.method,
    }))
}

/// The API: a stand-in for real data.
struct Api;

#[auth_poem::api]
#[OpenApi]
impl Api {
    /// The caller's conversations, behind `CONVERSATION:READ`: the body
    /// runs only for a caller who holds it (`#[requires]` answers 401 and 403).
    #[requires(R::Conversation, P::Read)]
    #[oai(path = "/conversations", method = "get")]
    async fn conversations(&self, user: ApiAuth) -> poem_openapi::payload::Json<Value> {
        poem_openapi::payload::Json(json!({
            "user": user.id,
            "conversations": [{"id": "c-1", "title": "Hello, poem-auth"}],
        }))
    }
}

/// Builds the service from settings, seeding `admin` in the empty user
/// store: with `admin_password` when given, else from `AUTH_ADMIN_PASSWORD`
/// or generated and printed once. Fails with the message to show when the
/// settings cannot run (no JWT secret outside development mode, ...).
async fn app(
    settings: &Settings,
    admin_password: Option<String>,
) -> Result<impl Endpoint + use<>, Box<dyn Error>> {
    let auth = PoemAuth::from_settings(settings)
        .users(MemoryUserStore::default())
        .roles(RoleMap::new().superuser("admin"))
        .build()?;
    auth.seed_admin(ADMIN_PASSWORD_VAR, admin_password).await?;
    let api = OpenApiService::new(Api, "quickstart", env!("CARGO_PKG_VERSION"));
    Ok(Route::new()
        .at("/health", get(health))
        .at("/me", get(me).with(auth.layer()))
        .nest("/auth", auth.routes())
        .nest("/", auth.api_routes(api)))
}

/// The address to listen on: `--bind`, else `QUICKSTART_BIND`, else the default.
/// `Ok(None)` means help was asked for.
fn bind_address(
    mut args: impl Iterator<Item = String>,
    env: Option<String>,
) -> Result<Option<String>, String> {
    let mut bind = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--bind" => {
                bind = Some(
                    args.next()
                        .ok_or("--bind needs a value, e.g. --bind 0.0.0.0:3000")?,
                );
            }
            other => match other.strip_prefix("--bind=") {
                Some(value) => bind = Some(value.to_owned()),
                None => return Err(format!("unknown argument `{other}`")),
            },
        }
    }
    let bind = bind
        .or(env.filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| DEFAULT_BIND.to_owned());
    if bind.trim().is_empty() {
        return Err("--bind needs a value, e.g. --bind 0.0.0.0:3000".into());
    }
    Ok(Some(bind))
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let bind = match bind_address(std::env::args().skip(1), std::env::var(BIND_VAR).ok()) {
        Ok(Some(bind)) => bind,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("quickstart: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("quickstart: {e}");
            return ExitCode::FAILURE;
        }
    };
    let app = match app(&settings, None).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("quickstart: refusing to start: {e}");
            return ExitCode::FAILURE;
        }
    };

    let key = if settings.api_key.is_some() {
        "set"
    } else {
        "not set"
    };
    tracing::info!(
        api_key = key,
        dev_mode = settings.dev_mode,
        algorithm = ?settings.jwt_algorithm,
        "auth handlers: API key, JWT; users: admin"
    );
    tracing::info!("GET  /health         open");
    tracing::info!("GET  /me             any valid credential");
    tracing::info!("GET  /conversations  CONVERSATION:READ");
    tracing::info!("POST /auth/token     log in (JSON or OAuth2 form); refresh");
    tracing::info!("     /auth/*         revoke, logout, me, available-permissions");
    tracing::info!("     /auth/users     user management (USERS:*)");
    tracing::info!("serving on http://{bind}");

    let served = Server::new(TcpListener::bind(bind.as_str()))
        .run_with_graceful_shutdown(app, shutdown_signal(), Some(SHUTDOWN_GRACE))
        .await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quickstart: cannot serve on {bind}: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use poem::http::StatusCode;
    use poem::test::TestClient;

    use super::*;

    const KEY: &str = "test-http-key";
    const SECRET: &str = "a-test-secret-that-is-long-enough-for-hs256";

    fn settings(vars: &[(&str, &str)]) -> Settings {
        Settings::from_vars("AUTH_", vars.iter().copied()).expect("valid settings")
    }

    const ADMIN: &str = "admin-test-password";

    async fn client() -> TestClient<impl Endpoint> {
        let s = settings(&[("AUTH_API_KEY", KEY), ("AUTH_JWT_SECRET", SECRET)]);
        TestClient::new(app(&s, Some(ADMIN.into())).await.expect("app"))
    }

    #[tokio::test]
    async fn without_jwt_secret_it_refuses_to_start_unless_in_dev_mode() {
        let e = app(&settings(&[("AUTH_API_KEY", KEY)]), Some(ADMIN.into()))
            .await
            .err()
            .expect("refused");
        let msg = e.to_string();
        assert!(
            msg.contains("AUTH_JWT_SECRET") && msg.contains("AUTH_DEV_MODE"),
            "{msg}"
        );
        assert!(
            app(
                &settings(&[("AUTH_API_KEY", KEY), ("AUTH_DEV_MODE", "true")]),
                Some(ADMIN.into())
            )
            .await
            .is_ok()
        );
    }

    #[tokio::test]
    async fn health_is_open_and_me_is_not() {
        let cli = client().await;
        cli.get("/health").send().await.assert_status_is_ok();
        cli.get("/me")
            .send()
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn me_answers_the_api_key_principal() {
        let resp = client()
            .await
            .get("/me")
            .header("x-api-key", KEY)
            .header("user_id", "alice")
            .send()
            .await;
        resp.assert_status_is_ok();
        let json = resp.json().await;
        let body = json.value().object();
        body.get("id").assert_string("alice");
        body.get("method")
            .object()
            .get("kind")
            .assert_string("api_key");
        body.get("permissions")
            .object()
            .get("CONVERSATION")
            .assert_string_array(&["DELETE", "EDIT", "LIST", "READ", "WRITE"]);
    }

    #[tokio::test]
    async fn admin_logs_in_at_auth_token_and_the_jwt_opens_protected_routes() {
        let cli = client().await;
        let resp = cli
            .post("/auth/token")
            .body_json(&json!({"username": "admin", "password": ADMIN}))
            .send()
            .await;
        resp.assert_status_is_ok();
        let json = resp.json().await;
        let token = json
            .value()
            .object()
            .get("access_token")
            .string()
            .to_owned();
        let resp = cli
            .get("/conversations")
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await;
        resp.assert_status_is_ok();
        let resp = cli
            .get("/me")
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await;
        resp.assert_status_is_ok();
        resp.json()
            .await
            .value()
            .object()
            .get("name")
            .assert_string("admin");
        cli.post("/auth/token")
            .body_json(&json!({"username": "admin", "password": "wrong"}))
            .send()
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn conversations_answers_401_without_credential_and_403_without_the_permission() {
        let s = settings(&[("AUTH_API_KEY", KEY), ("AUTH_JWT_SECRET", SECRET)]);
        let cli = TestClient::new(app(&s, Some(ADMIN.into())).await.expect("app"));
        cli.get("/conversations")
            .send()
            .await
            .assert_status(StatusCode::UNAUTHORIZED);

        let issuer = s.token_issuer(s.jwt_keys().expect("keys")).expect("issuer");
        let guest = auth_core::Principal::new("guest", auth_core::AuthMethod::Jwt);
        let token = issuer.issue(&guest).expect("token");
        cli.get("/conversations")
            .header("authorization", format!("Bearer {}", token.expose()))
            .send()
            .await
            .assert_status(StatusCode::FORBIDDEN);

        let resp = cli
            .get("/conversations")
            .header("x-api-key", KEY)
            .send()
            .await;
        resp.assert_status_is_ok();
        resp.json()
            .await
            .value()
            .object()
            .get("user")
            .assert_string("user");
    }

    #[tokio::test]
    async fn after_logout_the_access_token_no_longer_opens_conversations() {
        let cli = client().await;
        let resp = cli
            .post("/auth/token")
            .body_json(&json!({"username": "admin", "password": ADMIN}))
            .send()
            .await;
        resp.assert_status_is_ok();
        let json = resp.json().await;
        let bearer = format!(
            "Bearer {}",
            json.value().object().get("access_token").string()
        );
        cli.get("/conversations")
            .header("authorization", &bearer)
            .send()
            .await
            .assert_status_is_ok();
        cli.post("/auth/logout")
            .header("authorization", &bearer)
            .send()
            .await
            .assert_status_is_ok();
        cli.get("/conversations")
            .header("authorization", &bearer)
            .send()
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn the_openapi_document_lists_conversations_with_its_requirement() {
        let resp = client().await.get("/openapi.json").send().await;
        resp.assert_status_is_ok();
        let json = resp.json().await;
        let op = json
            .value()
            .object()
            .get("paths")
            .object()
            .get("/conversations")
            .object()
            .get("get");
        op.object().get("x-required-permissions").assert_not_null();
    }

    /// `path` with each `{parameter}` filled in.
    fn filled(path: &str) -> String {
        path.split('/')
            .map(|part| if part.starts_with('{') { "x" } else { part })
            .collect::<Vec<_>>()
            .join("/")
    }

    #[tokio::test]
    async fn every_operation_of_the_spec_answers_at_its_documented_path_and_method() {
        let cli = client().await;
        let spec: Value = serde_json::from_str(
            &cli.get("/openapi.json")
                .send()
                .await
                .0
                .into_body()
                .into_string()
                .await
                .expect("body"),
        )
        .expect("JSON");
        let paths = spec["paths"].as_object().expect("paths");
        let mut called = Vec::new();
        for (path, item) in paths {
            assert!(item.get("servers").is_none(), "{path} has its own servers");
            for method in ["get", "put", "post", "delete", "patch"] {
                if item.get(method).is_none() {
                    continue;
                }
                let uri = filled(path);
                let request = match method {
                    "get" => cli.get(&uri),
                    "put" => cli.put(&uri),
                    "post" => cli.post(&uri),
                    "delete" => cli.delete(&uri),
                    _ => cli.patch(&uri),
                };
                let status = request.send().await.0.status();
                assert!(
                    status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {uri}: {status}"
                );
                called.push(format!("{method} {path}"));
            }
        }
        for expected in [
            "post /auth/token",
            "get /auth/me",
            "get /conversations",
            "post /auth/users",
        ] {
            assert!(
                called.iter().any(|c| c == expected),
                "{expected} not in {called:?}"
            );
        }
        // Not served with an HMAC key, so not listed.
        assert!(!paths.contains_key("/auth/.well-known/jwks.json"));
        cli.get("/not-served")
            .send()
            .await
            .assert_status(StatusCode::NOT_FOUND);
    }

    #[test]
    fn bind_comes_from_the_argument_then_the_environment_then_the_default() {
        let args = |a: &[&str]| {
            a.iter()
                .map(|s| (*s).to_owned())
                .collect::<Vec<_>>()
                .into_iter()
        };
        let env = Some("0.0.0.0:8080".to_owned());
        assert_eq!(
            bind_address(args(&["--bind", "127.0.0.1:9"]), env.clone()),
            Ok(Some("127.0.0.1:9".to_owned()))
        );
        assert_eq!(
            bind_address(args(&["--bind=[::1]:9"]), None),
            Ok(Some("[::1]:9".to_owned()))
        );
        assert_eq!(
            bind_address(args(&[]), env),
            Ok(Some("0.0.0.0:8080".to_owned()))
        );
        assert_eq!(
            bind_address(args(&[]), Some(String::new())),
            Ok(Some(DEFAULT_BIND.to_owned()))
        );
        assert_eq!(bind_address(args(&["--help"]), None), Ok(None));
        assert!(bind_address(args(&["--bind"]), None).is_err());
        assert!(bind_address(args(&["--bind="]), None).is_err());
        assert!(bind_address(args(&["--port", "1"]), None).is_err());
    }
}
