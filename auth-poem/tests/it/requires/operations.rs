//! `#[requires]` on poem-openapi operations, and the spec that shows what each requires.

use super::*;

static API_PAIR: AtomicUsize = AtomicUsize::new(0);
static API_ROLE: AtomicUsize = AtomicUsize::new(0);
static API_SCOPE: AtomicUsize = AtomicUsize::new(0);
static API_ANY: AtomicUsize = AtomicUsize::new(0);
static API_ALL: AtomicUsize = AtomicUsize::new(0);
static API_OWNER: AtomicUsize = AtomicUsize::new(0);
static API_OWNER_PATTERN: AtomicUsize = AtomicUsize::new(0);
static API_SEVERAL: AtomicUsize = AtomicUsize::new(0);
static API_CUSTOM: AtomicUsize = AtomicUsize::new(0);

/// An error response of the API's own.
#[derive(ApiResponse)]
enum Lookup {
    /// No such invoice.
    #[oai(status = 404)]
    NotFound,
}

struct Api;

#[auth_poem::api]
#[OpenApi]
impl Api {
    /// A pair; returns a bare response.
    #[requires(R::Conversation, P::Write)]
    #[oai(path = "/pair", method = "get")]
    async fn pair(&self) -> PlainText<&'static str> {
        API_PAIR.fetch_add(1, Ordering::SeqCst);
        PlainText("written")
    }

    /// A role; takes the caller and returns a `Result`.
    #[requires(role("admin"))]
    #[oai(path = "/role", method = "get")]
    async fn role(&self, user: ApiAuth) -> poem::Result<PlainText<String>> {
        API_ROLE.fetch_add(1, Ordering::SeqCst);
        Ok(PlainText(user.id.clone()))
    }

    /// A scope; takes the optional caller.
    #[requires(scope("openid"))]
    #[oai(path = "/scope", method = "get")]
    async fn scope(&self, user: OptionalApiAuth) -> PlainText<String> {
        API_SCOPE.fetch_add(1, Ordering::SeqCst);
        PlainText(user.principal().map_or_else(String::new, |p| p.id.clone()))
    }

    /// Either.
    #[requires(any(role("admin"), (R::Users, P::Read)))]
    #[oai(path = "/any", method = "get")]
    async fn any(&self) -> PlainText<&'static str> {
        API_ANY.fetch_add(1, Ordering::SeqCst);
        PlainText("any")
    }

    /// Both.
    #[requires(all((R::Conversation, P::Read), (R::Memory, P::List)))]
    #[oai(path = "/all", method = "get")]
    async fn all(&self) -> PlainText<&'static str> {
        API_ALL.fetch_add(1, Ordering::SeqCst);
        PlainText("all")
    }

    /// One user: admins, or the user itself.
    #[requires(any(role("admin"), expr = "user.id == id.0"))]
    #[oai(path = "/users/:id", method = "get")]
    async fn user(&self, id: param::Path<String>) -> PlainText<String> {
        API_OWNER.fetch_add(1, Ordering::SeqCst);
        PlainText(id.0)
    }

    /// The same rule on a destructured parameter.
    #[requires(expr = "user.id == owner")]
    #[oai(path = "/owned/:owner", method = "get")]
    async fn owned(&self, param::Path(owner): param::Path<String>) -> PlainText<String> {
        API_OWNER_PATTERN.fetch_add(1, Ordering::SeqCst);
        PlainText(owner)
    }

    /// Several attributes.
    #[requires(R::Conversation, P::Read)]
    #[requires(role("editor"))]
    #[oai(path = "/several", method = "get")]
    async fn several(&self) -> PlainText<&'static str> {
        API_SEVERAL.fetch_add(1, Ordering::SeqCst);
        PlainText("several")
    }

    /// An application resource, and an error response of the API's own.
    #[requires(Billing::Invoice, P::Read)]
    #[oai(path = "/invoices/:number", method = "get")]
    async fn invoice(&self, number: param::Path<u32>) -> Result<PlainText<String>, Lookup> {
        API_CUSTOM.fetch_add(1, Ordering::SeqCst);
        match number.0 {
            404 => Err(Lookup::NotFound),
            n => Ok(PlainText(format!("invoice {n}"))),
        }
    }

    /// Not protected.
    #[public]
    #[oai(path = "/health", method = "get")]
    async fn health(&self) -> PlainText<&'static str> {
        PlainText("ok")
    }
}

fn service() -> OpenApiService<Api, ()> {
    OpenApiService::new(Api, "requires e2e", "1.0").server("/api")
}

fn api(auth: PoemAuth) -> TestClient<impl Endpoint> {
    let service = service();
    TestClient::new(
        Route::new()
            .nest("/", auth.openapi_endpoints(&service))
            .nest("/api", service)
            .data(auth),
    )
}

#[tokio::test]
async fn operation_pair_allows_holders_of_the_permission() {
    check_route(
        &api(auth()),
        "/api/pair",
        &API_PAIR,
        &["k-nobody", "k-u7"],
        &["k-reader"],
    )
    .await;
}

#[tokio::test]
async fn operation_role_allows_the_role_and_authenticates_once() {
    let (auth, pipeline_runs) = auth_with_runs();
    let cli = api(auth);
    check_route(&cli, "/api/role", &API_ROLE, &["k-reader"], &["k-admin"]).await;
    let before = pipeline_runs.load(Ordering::SeqCst);
    call(&cli, "/api/role", Some("k-admin"))
        .await
        .assert_text("root")
        .await;
    assert_eq!(pipeline_runs.load(Ordering::SeqCst), before + 1);
}

#[tokio::test]
async fn operation_scope_refuses_the_anonymous_caller_an_optional_argument_lets_in() {
    let cli = api(auth());
    check_route(&cli, "/api/scope", &API_SCOPE, &["k-reader"], &["k-openid"]).await;
    call(&cli, "/api/scope", Some("k-openid"))
        .await
        .assert_text("o")
        .await;
}

#[tokio::test]
async fn operation_any_allows_either() {
    check_route(
        &api(auth()),
        "/api/any",
        &API_ANY,
        &["k-reader"],
        &["k-admin", "k-u7"],
    )
    .await;
}

#[tokio::test]
async fn operation_all_needs_both() {
    check_route(
        &api(auth()),
        "/api/all",
        &API_ALL,
        &["k-u7", "k-admin"],
        &["k-reader"],
    )
    .await;
}

#[tokio::test]
async fn operation_expr_compares_the_caller_with_a_path_parameter() {
    let cli = api(auth());
    check_route(
        &cli,
        "/api/users/u7",
        &API_OWNER,
        &["k-reader"],
        &["k-u7", "k-admin"],
    )
    .await;
    call(&cli, "/api/users/u7", Some("k-u7"))
        .await
        .assert_text("u7")
        .await;
    check_route(
        &cli,
        "/api/owned/u7",
        &API_OWNER_PATTERN,
        &["k-reader", "k-admin"],
        &["k-u7"],
    )
    .await;
}

#[tokio::test]
async fn operation_with_several_attributes_needs_all_of_them() {
    check_route(
        &api(auth()),
        "/api/several",
        &API_SEVERAL,
        &["k-reader", "k-admin"],
        &["k-editor"],
    )
    .await;
}

#[tokio::test]
async fn operation_keeps_its_own_error_responses() {
    let cli = api(auth());
    check_route(
        &cli,
        "/api/invoices/7",
        &API_CUSTOM,
        &["k-reader"],
        &["k-billing"],
    )
    .await;
    call(&cli, "/api/invoices/404", Some("k-billing"))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    call(&cli, "/api/invoices/7", Some("k-billing"))
        .await
        .assert_text("invoice 7")
        .await;
}

// ---- the spec ----

fn served_spec() -> Value {
    serde_json::from_str(&auth().openapi_spec(&service())).expect("spec is JSON")
}

/// Description line, OAuth2 scopes and `x-required-permissions` of each
/// protected operation.
#[test]
fn served_spec_shows_what_each_operation_requires() {
    let spec = served_spec();
    let cases = [
        (
            "/pair",
            "Requires: `conversation:write`.",
            json!([["conversation:write"]]),
            json!({"permission": "conversation:write"}),
        ),
        (
            "/role",
            "Requires: role `admin`.",
            json!([[]]),
            json!({"role": "admin"}),
        ),
        (
            "/scope",
            "Requires: `openid`.",
            json!([["openid"]]),
            json!({"scope": "openid"}),
        ),
        (
            "/any",
            "Requires: role `admin` or `users:read`.",
            json!([[], ["users:read"]]),
            json!({"any": [{"role": "admin"}, {"permission": "users:read"}]}),
        ),
        (
            "/all",
            "Requires: `conversation:read` and `memory:list`.",
            json!([["conversation:read", "memory:list"]]),
            json!({"all": [{"permission": "conversation:read"}, {"permission": "memory:list"}]}),
        ),
        (
            "/users/{id}",
            "Requires: role `admin` or condition `user.id == id.0`.",
            json!([[]]),
            json!({"any": [{"role": "admin"}, {"expr": "user.id == id.0"}]}),
        ),
        (
            "/owned/{owner}",
            "Requires: condition `user.id == owner`.",
            json!([[]]),
            json!({"expr": "user.id == owner"}),
        ),
        (
            "/several",
            "Requires: `conversation:read` and role `editor`.",
            json!([["conversation:read"]]),
            json!({"all": [{"permission": "conversation:read"}, {"role": "editor"}]}),
        ),
        (
            "/invoices/{number}",
            "Requires: `invoice:read`.",
            json!([["invoice:read"]]),
            json!({"permission": "invoice:read"}),
        ),
    ];
    for (path, line, ways, required) in cases {
        let operation = &spec["paths"][format!("/api{path}")]["get"];
        let description = operation["description"].as_str().expect(path);
        assert_eq!(description, line, "{path}");
        // One OAuth2 alternative per way of meeting the requirement.
        let mut security = vec![json!({"bearer": []}), json!({"api_key": []})];
        security.extend(
            ways.as_array()
                .expect("ways")
                .iter()
                .map(|way| json!({"oauth2": way})),
        );
        assert_eq!(operation["security"], Value::Array(security), "{path}");
        assert_eq!(operation["x-required-permissions"], required, "{path}");
        assert!(operation["responses"]["403"].is_object(), "{path}");
    }
    let health = &spec["paths"]["/api/health"]["get"];
    assert_eq!(
        health["security"],
        json!([]),
        "#[public]: anyone may call it"
    );
    assert!(health.get("x-required-permissions").is_none());
    assert!(health["responses"].get("401").is_none());
    assert!(spec["paths"]["/api/invoices/{number}"]["get"]["responses"]["404"].is_object());
}

#[test]
fn oauth2_flow_declares_every_scope_an_operation_lists() {
    let spec = served_spec();
    let scopes = &spec["components"]["securitySchemes"]["oauth2"]["flows"]["password"]["scopes"];
    for scope in [
        "conversation:write",
        "conversation:read",
        "memory:list",
        "invoice:read",
        "openid",
    ] {
        assert!(scopes[scope].is_string(), "{scope}: {scopes}");
    }
    assert_eq!(scopes["conversation:write"], "WRITE on CONVERSATION");
}

#[test]
fn bare_spec_has_the_scopes_and_the_compile_time_line() {
    let _auth = auth();
    let raw: Value = serde_json::from_str(&service().spec()).expect("spec is JSON");
    let pair = &raw["paths"]["/pair"]["get"];
    assert_eq!(
        pair["description"],
        "Requires: `(R::Conversation, P::Write)`."
    );
    assert!(
        pair["security"]
            .as_array()
            .expect("security")
            .contains(&json!({"oauth2": ["conversation:write"]}))
    );
    assert!(pair.get("x-required-permissions").is_none());
}

#[tokio::test]
async fn openapi_json_route_serves_the_same_spec() {
    let resp = api(auth()).get("/openapi.json").send().await;
    resp.assert_status_is_ok();
    let text = resp.0.into_body().into_string().await.expect("body");
    let served: Value = serde_json::from_str(&text).expect("spec is JSON");
    assert_eq!(served, served_spec());
}
