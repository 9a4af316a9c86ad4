//! `#[requires]` end to end, on plain poem handlers and on a poem-openapi
//! API (`#[auth_poem::api]`): each form of requirement allows and refuses
//! over HTTP (401 without credential, 403 with a caller who lacks it, 200
//! otherwise), the body never runs for a refused request, and the served
//! spec shows what each operation requires.
//!
//! The callers come from a test handler that maps API keys to principals
//! and counts how often the pipeline runs. Each route has its own body
//! counter and is exercised by one test only, so tests can run in parallel.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use auth_core::{
    AuthContext, AuthHandler, AuthMethod, AuthPermission as P, AuthResource as R, AuthResult,
    PermissionSet, Pipeline, Principal, Resource, async_trait,
};
use auth_poem::{ApiAuth, Authenticated, OptionalApiAuth, PoemAuth, requires};
use poem::http::StatusCode;
use poem::test::{TestClient, TestResponse};
use poem::web::Path;
use poem::{Endpoint, EndpointExt, Route, get, handler};
use poem_openapi::payload::PlainText;
use poem_openapi::{ApiResponse, OpenApi, OpenApiService, param};
use serde_json::{Value, json};

mod handlers;
mod operations;

// ---- the callers ----

/// An application resource of its own: `#[requires]` takes any `Resource`.
#[derive(Debug, Clone, Copy)]
enum Billing {
    Invoice,
}

impl Resource for Billing {
    fn name(&self) -> &'static str {
        "INVOICE"
    }

    fn all() -> &'static [Self] {
        &[Billing::Invoice]
    }
}

/// API keys for callers with known roles and permissions; counts its runs.
struct Callers {
    runs: Arc<AtomicUsize>,
}

#[async_trait]
impl AuthHandler for Callers {
    fn name(&self) -> &str {
        "callers"
    }

    async fn authorize_key(&self, key: &str, _cx: &AuthContext) -> AuthResult<Option<Principal>> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        let caller = |id: &str| Principal::new(id, AuthMethod::Jwt);
        Ok(match key {
            "k-admin" => Some(caller("root").with_role("admin")),
            "k-reader" => Some(caller("reader").with_permissions(PermissionSet::base())),
            "k-editor" => Some(
                caller("editor")
                    .with_permissions(PermissionSet::base())
                    .with_role("editor"),
            ),
            "k-u7" => {
                Some(caller("u7").with_permissions([(R::Users, P::Read)].into_iter().collect()))
            }
            "k-openid" => {
                let mut p = caller("o");
                p.scopes.insert("openid".into());
                Some(p)
            }
            "k-billing" => Some(
                caller("accountant")
                    .with_permissions([(Billing::Invoice, P::Read)].into_iter().collect()),
            ),
            "k-nobody" => Some(caller("nobody")),
            _ => None,
        })
    }
}

fn forbidden_body() -> Value {
    json!({"error": "not for you"})
}

fn auth_with_runs() -> (PoemAuth, Arc<AtomicUsize>) {
    let runs = Arc::new(AtomicUsize::new(0));
    let pipeline = Pipeline::builder()
        .handler(Callers { runs: runs.clone() })
        .build()
        .expect("pipeline");
    let auth = PoemAuth::from_pipeline(pipeline)
        .forbidden_body(forbidden_body())
        .build()
        .expect("auth");
    (auth, runs)
}

fn auth() -> PoemAuth {
    auth_with_runs().0
}

async fn call(cli: &TestClient<impl Endpoint>, path: &str, key: Option<&str>) -> TestResponse {
    let mut req = cli.get(path);
    if let Some(key) = key {
        req = req.header("x-api-key", key);
    }
    req.send().await
}

/// Asks `path` without credential (401), as each of `refused` (403 with
/// the configured body) and as each of `allowed` (200), and checks the
/// body ran exactly once per allowed caller.
async fn check_route(
    cli: &TestClient<impl Endpoint>,
    path: &str,
    runs: &AtomicUsize,
    refused: &[&str],
    allowed: &[&str],
) {
    let before = runs.load(Ordering::SeqCst);
    let resp = call(cli, path, None).await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
    resp.assert_header("www-authenticate", "Bearer");
    for key in refused {
        let resp = call(cli, path, Some(key)).await;
        assert_eq!(resp.0.status(), StatusCode::FORBIDDEN, "{path} as {key}");
        resp.assert_json(forbidden_body()).await;
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        before,
        "{path}: body ran for a refused request"
    );
    for key in allowed {
        let resp = call(cli, path, Some(key)).await;
        assert_eq!(resp.0.status(), StatusCode::OK, "{path} as {key}");
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        before + allowed.len(),
        "{path}: body runs"
    );
}
