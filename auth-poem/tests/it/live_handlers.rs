//! Handler settings at run time, end to end: listing with masked secrets,
//! one config, activation on the next request without a restart, invalid
//! values, a handler that fails to build (the previous one stays), a masked
//! secret kept, persistence through the settings store, and every route
//! allowed and denied.

use std::sync::Arc;

use auth_core::handlers::live::{LiveHandlers, SwitchableHandler};
use auth_core::store::{HandlerConfigStore, MemoryHandlerConfigStore};
use auth_core::{
    AuthContext, AuthError, AuthHandler, AuthHandlerConfig, AuthMethod, AuthPermission as P,
    AuthResource as R, AuthResult, FromConfig, HandlerRegistry, PermissionSet, Pipeline, Principal,
    async_trait, auth_handler,
};
use auth_poem::{Authenticated, PoemAuth};
use poem::endpoint::BoxEndpoint;
use poem::http::StatusCode;
use poem::test::TestClient;
use poem::{EndpointExt, Route, get, handler};
use serde_json::{Value, json};

// ---- the configurable handlers ----

/// Accepts one service key.
#[derive(AuthHandlerConfig, serde::Deserialize, schemars::JsonSchema)]
#[auth_config(name = "Service key", handler = ServiceKey)]
struct ServiceKeyConfig {
    /// The key callers present; at least 8 characters.
    api_key: String,
    /// The id of the caller the key opens for.
    caller: String,
}

#[auth_handler(config = ServiceKeyConfig)]
struct ServiceKey {
    key: String,
    caller: String,
}

impl FromConfig<ServiceKeyConfig> for ServiceKey {
    fn from_config(c: ServiceKeyConfig) -> AuthResult<Self> {
        if c.api_key.len() < 8 {
            return Err(AuthError::Misconfigured(
                "api_key must have at least 8 characters".into(),
            ));
        }
        Ok(Self {
            key: c.api_key,
            caller: c.caller,
        })
    }
}

#[async_trait]
impl AuthHandler for ServiceKey {
    fn name(&self) -> &str {
        "service-key"
    }

    async fn authorize_key(&self, key: &str, _: &AuthContext) -> AuthResult<Option<Principal>> {
        Ok((key == self.key).then(|| Principal::new(self.caller.clone(), AuthMethod::Jwt)))
    }
}

/// Accepts one username and password over Basic.
#[derive(AuthHandlerConfig, serde::Deserialize, schemars::JsonSchema)]
#[auth_config(name = "Fixed login", handler = FixedLogin)]
struct FixedLoginConfig {
    /// The login name.
    username: String,
    /// The password.
    #[schemars(extend("writeOnly" = true))]
    pin: String,
}

#[auth_handler(config = FixedLoginConfig)]
struct FixedLogin(String, String);

impl FromConfig<FixedLoginConfig> for FixedLogin {
    fn from_config(c: FixedLoginConfig) -> AuthResult<Self> {
        Ok(Self(c.username, c.pin))
    }
}

#[async_trait]
impl AuthHandler for FixedLogin {
    fn name(&self) -> &str {
        "fixed-login"
    }

    async fn authorize_basic(
        &self,
        username: &str,
        password: &str,
        _: &AuthContext,
    ) -> AuthResult<Option<Principal>> {
        Ok((username == self.0 && password == self.1)
            .then(|| Principal::new(username, AuthMethod::Jwt)))
    }
}

// ---- the administrators ----

/// API keys for callers with AUTH_HANDLER permissions.
struct Admins;

#[async_trait]
impl AuthHandler for Admins {
    fn name(&self) -> &str {
        "admins"
    }

    async fn authorize_key(&self, key: &str, _: &AuthContext) -> AuthResult<Option<Principal>> {
        let with = |id: &str, perms: &[P]| {
            Principal::new(id, AuthMethod::Jwt)
                .with_permissions(perms.iter().map(|p| (R::AuthHandler, *p)).collect())
        };
        Ok(match key {
            "k-admin" => Some(with("admin", &[P::List, P::Read, P::Edit])),
            "k-viewer" => Some(with("viewer", &[P::List, P::Read])),
            "k-nobody" => Some(
                Principal::new("nobody", AuthMethod::Jwt).with_permissions(PermissionSet::base()),
            ),
            _ => None,
        })
    }
}

#[handler]
fn whoami(user: Authenticated) -> String {
    user.id.clone()
}

struct App {
    cli: TestClient<BoxEndpoint<'static, poem::Response>>,
    store: Arc<MemoryHandlerConfigStore>,
    settings: Arc<LiveHandlers>,
}

async fn app_on(store: Arc<MemoryHandlerConfigStore>) -> App {
    let switch = Arc::new(SwitchableHandler::new());
    let pipeline = Pipeline::builder()
        .handler(Admins)
        .handler_arc(switch.clone())
        .build()
        .expect("pipeline");
    let registry = HandlerRegistry::with_registered().expect("registry");
    let settings = Arc::new(LiveHandlers::new(registry, store.clone(), switch));
    settings.start().await.expect("start");
    let auth = PoemAuth::from_pipeline(pipeline)
        .live_handlers(settings.clone())
        .build()
        .expect("auth");
    let app = Route::new()
        .nest("/", auth.live_handlers_routes())
        .nest("/auth", auth.routes())
        .at("/api/whoami", get(whoami))
        .data(auth);
    App {
        cli: TestClient::new(app.map_to_response().boxed()),
        store,
        settings,
    }
}

async fn app() -> App {
    app_on(Arc::new(MemoryHandlerConfigStore::new())).await
}

impl App {
    async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let credential = key.map(|k| ("x-api-key", k.to_owned()));
        auth_test::status_and_json(
            auth_test::request(&self.cli, method, path, credential, body.as_ref()).await,
        )
        .await
    }

    async fn put(&self, id: &str, values: Value) -> (StatusCode, Value) {
        self.call(
            "PUT",
            &format!("/auth_handler/settings/{id}"),
            Some("k-admin"),
            Some(values),
        )
        .await
    }

    /// Who `/api/whoami` says the caller with this API key is (or the status).
    async fn whoami_key(&self, key: &str) -> Result<String, StatusCode> {
        let resp = self
            .cli
            .get("/api/whoami")
            .header("x-api-key", key)
            .send()
            .await;
        match resp.0.status() {
            StatusCode::OK => Ok(resp.0.into_body().into_string().await.expect("text")),
            other => Err(other),
        }
    }
}

const SERVICE: &str = "ServiceKeyConfig";
const LOGIN: &str = "FixedLoginConfig";

#[tokio::test]
async fn activation_takes_effect_on_the_next_request_without_restart() {
    let app = app().await;
    assert_eq!(
        app.whoami_key("svc-key-0001").await,
        Err(StatusCode::UNAUTHORIZED)
    );
    let (status, body) = app
        .put(SERVICE, json!({"api_key": "svc-key-0001", "caller": "svc"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["active"], true);
    assert_eq!(app.whoami_key("svc-key-0001").await, Ok("svc".to_owned()));

    // Switching to another handler retires the first one at once.
    let (status, _) = app
        .put(LOGIN, json!({"username": "ada", "pin": "1234"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.whoami_key("svc-key-0001").await,
        Err(StatusCode::UNAUTHORIZED)
    );
    let resp = app
        .cli
        .get("/api/whoami")
        .header("authorization", "Basic YWRhOjEyMzQ=") // ada:1234
        .send()
        .await;
    resp.assert_status_is_ok();
    resp.assert_text("ada").await;
}

#[tokio::test]
async fn listing_shows_every_config_with_its_schema_masked_values_and_the_active_one() {
    let app = app().await;
    app.put(SERVICE, json!({"api_key": "svc-key-0001", "caller": "svc"}))
        .await;
    app.put(LOGIN, json!({"username": "ada", "pin": "1234"}))
        .await;

    let (status, body) = app
        .call("GET", "/auth_handler/settings", Some("k-viewer"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["active"], LOGIN);
    let handlers = body["handlers"].as_array().expect("handlers");
    assert_eq!(handlers.len(), 2);
    let login = &handlers[0];
    assert_eq!(login["id"], LOGIN);
    assert_eq!(login["name"], "Fixed login");
    assert_eq!(
        login["description"],
        "Accepts one username and password over Basic."
    );
    assert_eq!(login["active"], true);
    assert_eq!(login["schema"]["properties"]["pin"]["writeOnly"], true);
    // `pin` is secret by its schema, `api_key` by its name.
    assert_eq!(login["values"], json!({"username": "ada", "pin": "*****"}));
    let service = &handlers[1];
    assert_eq!(service["active"], false);
    assert_eq!(
        service["values"],
        json!({"api_key": "*****", "caller": "svc"})
    );
    assert!(!body.to_string().contains("svc-key-0001"));
    assert!(!body.to_string().contains("1234"));

    // The same routes under auth.routes().
    let (status, nested) = app
        .call("GET", "/auth/auth_handler/settings", Some("k-viewer"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(nested, body);

    let (status, _) = app.call("GET", "/auth_handler/settings", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .call("GET", "/auth_handler/settings", Some("k-nobody"), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn one_config_is_read_by_id_and_an_unknown_id_is_404() {
    let app = app().await;
    let (status, body) = app
        .call(
            "GET",
            &format!("/auth_handler/settings/{SERVICE}"),
            Some("k-viewer"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["id"], SERVICE);
    assert_eq!(body["active"], false);
    assert!(
        body.get("values").is_none_or(Value::is_null),
        "never saved: {body}"
    );

    let (status, body) = app
        .call(
            "GET",
            "/auth_handler/settings/NoSuchConfig",
            Some("k-viewer"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("NoSuchConfig")
    );
    let (status, _) = app.put("NoSuchConfig", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let path = format!("/auth_handler/settings/{SERVICE}");
    assert_eq!(
        app.call("GET", &path, None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.call("GET", &path, Some("k-nobody"), None).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn invalid_values_are_400_with_field_errors_and_change_nothing() {
    let app = app().await;
    app.put(SERVICE, json!({"api_key": "svc-key-0001", "caller": "svc"}))
        .await;
    let (status, body) = app.put(LOGIN, json!({"username": 5, "pin": "1"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid");
    assert_eq!(body["fields"][0]["path"], "/username");
    let (status, body) = app.put(LOGIN, json!({"username": "ada"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["fields"][0]["path"], "/pin");
    assert_eq!(app.whoami_key("svc-key-0001").await, Ok("svc".to_owned()));
    let stored = app.store.handler_configs().await.expect("stored");
    assert_eq!(stored.len(), 1, "nothing saved for the invalid config");
}

#[tokio::test]
async fn a_handler_that_fails_to_build_leaves_the_previous_one_active_and_unsaved() {
    let app = app().await;
    app.put(SERVICE, json!({"api_key": "svc-key-0001", "caller": "svc"}))
        .await;
    let (status, body) = app
        .put(SERVICE, json!({"api_key": "short", "caller": "svc"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "build_failed");
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("at least 8 characters")
    );
    assert_eq!(app.whoami_key("svc-key-0001").await, Ok("svc".to_owned()));
    assert_eq!(app.whoami_key("short").await, Err(StatusCode::UNAUTHORIZED));
    let stored = app.store.handler_configs().await.expect("stored");
    assert_eq!(stored[0].config["api_key"], "svc-key-0001");
    assert!(stored[0].active);
}

#[tokio::test]
async fn a_masked_secret_sent_back_keeps_the_stored_value() {
    let app = app().await;
    app.put(SERVICE, json!({"api_key": "svc-key-0001", "caller": "svc"}))
        .await;
    let (status, body) = app
        .put(SERVICE, json!({"api_key": "*****", "caller": "robot"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["values"],
        json!({"api_key": "*****", "caller": "robot"})
    );
    assert_eq!(app.whoami_key("svc-key-0001").await, Ok("robot".to_owned()));
    assert_eq!(app.whoami_key("*****").await, Err(StatusCode::UNAUTHORIZED));
}

#[tokio::test]
async fn the_active_handler_persists_through_the_settings_store_across_a_restart() {
    let store = Arc::new(MemoryHandlerConfigStore::new());
    let first = app_on(store.clone()).await;
    first
        .put(SERVICE, json!({"api_key": "svc-key-0001", "caller": "svc"}))
        .await;
    drop(first);

    let second = app_on(store).await;
    assert_eq!(
        second.settings.switch().active_id().as_deref(),
        Some(SERVICE)
    );
    assert_eq!(
        second.whoami_key("svc-key-0001").await,
        Ok("svc".to_owned())
    );
}

#[tokio::test]
async fn putting_values_needs_auth_handler_edit() {
    let app = app().await;
    let path = format!("/auth_handler/settings/{SERVICE}");
    let values = json!({"api_key": "svc-key-0001", "caller": "svc"});
    let (status, _) = app.call("PUT", &path, None, Some(values.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.call("PUT", &path, Some("k-viewer"), Some(values)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.whoami_key("svc-key-0001").await,
        Err(StatusCode::UNAUTHORIZED)
    );
    assert!(
        app.store
            .handler_configs()
            .await
            .expect("stored")
            .is_empty()
    );
}
