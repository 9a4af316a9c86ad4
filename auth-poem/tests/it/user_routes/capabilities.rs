//! Self-registration, what a provider lacks, and the routes in the OpenAPI document.

use super::*;

#[tokio::test]
async fn self_registration_is_501_by_default_and_works_when_enabled() {
    let built = build_with(|p| p).await;
    let cli = client(&built.auth);
    let body = json!({"username": "eve", "password": "eve-password"});
    let resp = call(&cli, "POST", "/auth/register", Some(&body), None).await;
    resp.assert_status(StatusCode::NOT_IMPLEMENTED);
    let answer = json_of(resp).await;
    assert_eq!(answer["error"], "not_implemented");
    assert!(
        answer["detail"]
            .as_str()
            .is_some_and(|d| d.contains("disabled")),
        "{answer}"
    );

    let built = build_with(|p| p.with_self_registration(true, ["member"])).await;
    let cli = client(&built.auth);
    let resp = call(&cli, "POST", "/auth/register", Some(&body), None).await;
    resp.assert_status(StatusCode::CREATED);
    assert_eq!(json_of(resp).await["roles"], json!(["member"]));
    call(&cli, "POST", "/auth/register", Some(&body), None)
        .await
        .assert_status(StatusCode::CONFLICT);
    login(&cli, "eve", "eve-password").await;
    assert_eq!(AuthProvider::initialized(&*built.provider).await, Ok(true));
}

/// A provider that only logs people in.
struct LoginOnly;

#[async_trait]
impl AuthProvider for LoginOnly {
    type AuthPackage = auth_core::provider::store::LoginPackage;
    type CreatePackage = NoPackage;
    type RegisterPackage = NoPackage;
    type UpdatePackage = NoPackage;
    type SelfUpdatePackage = NoPackage;

    fn name(&self) -> &str {
        "login-only"
    }

    async fn authenticate(
        &self,
        package: auth_core::provider::store::LoginPackage,
    ) -> ManageResult<ClientData> {
        if package.username == "root" && package.password == "root-password" {
            Ok(ClientData {
                client_id: "root".into(),
                roles: ["admin".to_owned()].into(),
                ..ClientData::default()
            })
        } else {
            Err(ManageError::Unauthenticated)
        }
    }
}

#[tokio::test]
async fn a_capability_the_provider_lacks_is_501_and_so_is_having_no_provider() {
    let roles = RoleMap::new().superuser("admin");
    let (keys, tokens) = auth_test::token_service(8, roles.clone());
    let pipeline = || {
        Pipeline::builder()
            .roles(roles.clone())
            .handler(
                JwtHandler::new(keys.clone(), Validation::new())
                    .with_revocations(tokens.revocations()),
            )
            .build()
            .expect("pipeline")
    };
    let provider: Arc<dyn DynProvider> = Arc::new(LoginOnly);
    let auth = PoemAuth::from_pipeline(pipeline())
        .token_service(tokens.clone())
        .provider(provider)
        .build()
        .expect("auth");
    let cli = client(&auth);
    let root = login(&cli, "root", "root-password").await;
    let body = json!({"username": "x", "password": "x-password"});
    let roles_body = json!(["r"]);
    for (method, path, body) in [
        ("POST", "/auth/users", Some(&body)),
        ("GET", "/auth/users", None),
        ("GET", "/auth/users/root", None),
        ("PUT", "/auth/users/root", Some(&body)),
        ("DELETE", "/auth/users/root", None),
        ("POST", "/auth/users/root/enable", None),
        ("POST", "/auth/users/root/disable", None),
        ("POST", "/auth/users/root/roles", Some(&roles_body)),
        ("DELETE", "/auth/users/root/roles", Some(&roles_body)),
        ("PATCH", "/auth/users/me", Some(&body)),
        ("POST", "/auth/register", Some(&body)),
    ] {
        let resp = call(&cli, method, path, body, Some(&root)).await;
        assert_eq!(
            resp.0.status(),
            StatusCode::NOT_IMPLEMENTED,
            "{method} {path}"
        );
        assert_eq!(json_of(resp).await["error"], "not_implemented");
    }

    let bare = PoemAuth::from_pipeline(pipeline())
        .token_service(tokens)
        .build()
        .expect("auth");
    let cli = client(&bare);
    let token = auth_core::TokenIssuer::new(keys, None)
        .expect("issuer")
        .issue(&auth_core::Principal::new("root", auth_core::AuthMethod::Jwt).with_role("admin"))
        .expect("token");
    let resp = call(&cli, "GET", "/auth/users", None, Some(token.expose())).await;
    resp.assert_status(StatusCode::NOT_IMPLEMENTED);
    assert!(
        json_of(resp).await["detail"]
            .as_str()
            .is_some_and(|d| d.contains("PoemAuthBuilder::provider"))
    );
}

struct Api;

#[OpenApi]
impl Api {
    /// Health.
    #[oai(path = "/health", method = "get")]
    async fn health(&self) -> PlainText<&'static str> {
        PlainText("ok")
    }
}

#[tokio::test]
async fn the_openapi_document_shows_the_routes_their_permissions_and_package_schemas() {
    let built = build_with(|p| p).await;
    let spec: Value =
        serde_json::from_str(&built.auth.openapi_spec(&OpenApiService::new(Api, "t", "1")))
            .expect("json");
    let create = &spec["paths"]["/auth/users"]["post"];
    assert_eq!(
        create["x-required-permissions"],
        json!({"permission": "users:write"})
    );
    let schema = body_schema(create);
    assert!(schema["properties"]["username"].is_object(), "{schema}");
    assert_eq!(schema["properties"]["password"]["writeOnly"], true);
    assert!(create["responses"]["409"].is_object());
    assert!(create["responses"]["401"].is_object());
    assert_eq!(
        spec["paths"]["/auth/users/{id}"]["delete"]["x-required-permissions"],
        json!({"permission": "users:delete"})
    );
    assert_eq!(
        spec["paths"]["/auth/users"]["get"]["x-required-permissions"],
        json!({"permission": "users:list"})
    );
    let login = body_schema(&spec["paths"]["/auth/login"]["post"]);
    assert_eq!(login["required"], json!(["username", "password"]));
    assert!(
        body_schema(&spec["paths"]["/auth/users/me"]["patch"])["properties"]["current_password"]
            .is_object()
    );
    // At the full served path, and open to anyone.
    let register = &spec["paths"]["/auth/register"];
    assert!(register.get("servers").is_none(), "{register}");
    assert_eq!(register["post"]["security"], json!([]));
    assert!(spec["paths"].get("/register").is_none());
}

/// The JSON schema of an operation's request body, whatever its media type's parameters.
fn body_schema(operation: &Value) -> &Value {
    operation["requestBody"]["content"]
        .as_object()
        .and_then(|content| {
            content
                .iter()
                .find(|(media, _)| media.starts_with("application/json"))
        })
        .map_or(&Value::Null, |(_, media)| &media["schema"])
}
