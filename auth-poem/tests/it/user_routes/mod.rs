//! The user-management routes end to end, on the built-in store provider:
//! every route allowed and denied, 409, 404, 400, 501, provider logins and
//! refresh, sessions ended by disabling, and the OpenAPI document.

use std::net::IpAddr;
use std::sync::Arc;

use auth_core::jwt::{Algorithm, JwtKey, KeySet, TokenIssuer, Validation};
use auth_core::password::PasswordHasher;
use auth_core::provider::dynamic::DynProvider;
use auth_core::provider::store::StoreProvider;
use auth_core::provider::{AuthProvider, ClientData, NoPackage};
use auth_core::store::{ManageError, ManageResult};
use auth_core::throttle::{LoginThrottle, ThrottlePolicy};
use auth_core::tokens::TokenService;
use auth_core::{
    AuthPermission as P, AuthResource as R, JwtHandler, MemoryUserStore, PermissionSet, Pipeline,
    RoleMap, async_trait,
};
use auth_poem::PoemAuth;
use auth_test::{bearer, json_of, login, post_json_from, request};
use poem::http::StatusCode;
use poem::test::{TestClient, TestResponse};
use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::{OpenApi, OpenApiService, payload::PlainText};
use serde_json::{Value, json};

mod access;
mod capabilities;
mod escalation;
mod lifecycle;

const ADMIN_PASSWORD: &str = "admin-password-for-tests";

struct Built {
    auth: PoemAuth,
    provider: Arc<StoreProvider>,
}

async fn build_with(provider: impl FnOnce(StoreProvider) -> StoreProvider) -> Built {
    build_with_roles(RoleMap::new().superuser("admin"), &[], provider).await
}

/// [`build_with`], believing `X-Forwarded-For` from `trusted_proxies`.
async fn build_behind(
    trusted_proxies: &[IpAddr],
    provider: impl FnOnce(StoreProvider) -> StoreProvider,
) -> Built {
    build_with_roles(RoleMap::new().superuser("admin"), trusted_proxies, provider).await
}

async fn build_with_roles(
    roles: RoleMap,
    trusted_proxies: &[IpAddr],
    provider: impl FnOnce(StoreProvider) -> StoreProvider,
) -> Built {
    let keys = Arc::new(KeySet::single(
        JwtKey::hmac(
            Algorithm::HS256,
            b"an-hmac-secret-for-the-user-routes-tests",
        )
        .expect("key"),
    ));
    let hasher = PasswordHasher::fast_insecure_for_tests();
    let store = Arc::new(MemoryUserStore::new(hasher.clone()));
    let tokens = Arc::new(
        TokenService::new(
            TokenIssuer::new(keys.clone(), None).expect("issuer"),
            store.clone(),
        )
        .with_hasher(hasher.clone())
        .with_roles(roles.clone())
        // Long waits, so no test sees one run out while it runs.
        .with_throttle(LoginThrottle::new(ThrottlePolicy {
            base_delay_secs: 600,
            max_delay_secs: 600,
            ..ThrottlePolicy::default()
        })),
    );
    let provider = Arc::new(provider(
        StoreProvider::new(store, hasher).with_sessions(tokens.clone()),
    ));
    provider
        .seed_admin_with("AUTH_ADMIN_PASSWORD", Some(ADMIN_PASSWORD.into()))
        .await
        .expect("seeded");
    let pipeline = Pipeline::builder()
        .roles(roles)
        .handler(JwtHandler::new(keys, Validation::new()).with_revocations(tokens.revocations()))
        .build()
        .expect("pipeline");
    let auth = PoemAuth::from_pipeline(pipeline)
        .token_service(tokens)
        .provider(provider.clone())
        .trusted_proxies(trusted_proxies.iter().copied())
        .build()
        .expect("auth");
    Built { auth, provider }
}

fn client(auth: &PoemAuth) -> TestClient<impl Endpoint> {
    TestClient::new(Route::new().nest("/auth", auth.routes()))
}

/// Creates `name` (base permissions, role `reader`) as the admin; its id.
async fn create<E: Endpoint>(cli: &TestClient<E>, admin: &str, name: &str) -> String {
    let resp = cli
        .post("/auth/users")
        .header("authorization", bearer(admin))
        .body_json(
            &json!({"username": name, "password": format!("{name}-password"), "roles": ["reader"]}),
        )
        .send()
        .await;
    resp.assert_status(StatusCode::CREATED);
    json_of(resp).await["client_id"]
        .as_str()
        .expect("id")
        .to_owned()
}

async fn call<E: Endpoint>(
    cli: &TestClient<E>,
    method: &str,
    path: &str,
    body: Option<&Value>,
    token: Option<&str>,
) -> TestResponse {
    let credential = token.map(|t| ("authorization", bearer(t)));
    request(cli, method, path, credential, body).await
}
