//! The token registry end to end: every access token minted is recorded,
//! callers list and revoke their own tokens, administrators list, revoke,
//! clean up and issue tokens for clients, revocations are refused at once,
//! and a registry that fails refuses the login (503).

use std::sync::Arc;

use auth_core::async_trait;
use auth_core::clock::ManualClock;
use auth_core::jwt::{Algorithm, JwtKey, KeySet, TokenIssuer, Validation};
use auth_core::password::PasswordHasher;
use auth_core::store::{
    ManageError, ManageResult, MemoryTokenStore, Page, TokenFilter, TokenRecord, TokenStore,
};
use auth_core::tokens::{TokenPolicy, TokenService};
use auth_core::{
    AuthPermission as P, AuthResource as R, JwtHandler, MemoryUserStore, PermissionSet, Pipeline,
    RoleMap,
};
use auth_poem::PoemAuth;
use auth_test::{bearer, json_of, request, status_and_json};
use poem::endpoint::BoxEndpoint;
use poem::http::StatusCode;
use poem::test::TestClient;
use poem::{EndpointExt, Route};
use serde_json::{Value, json};

mod admin;

const START: i64 = 1_800_000_000;

struct App {
    cli: TestClient<BoxEndpoint<'static, poem::Response>>,
    clock: ManualClock,
    store: Arc<MemoryTokenStore>,
}

fn app_with(store: Option<Arc<dyn TokenStore>>, memory: Arc<MemoryTokenStore>) -> App {
    let clock = ManualClock::new(START);
    let keys = Arc::new(KeySet::single(
        JwtKey::hmac(
            Algorithm::HS256,
            b"an-hmac-secret-for-the-token-registry-tests",
        )
        .expect("key"),
    ));
    let hasher = PasswordHasher::fast_insecure_for_tests();
    let users = Arc::new(MemoryUserStore::new(hasher.clone()));
    users
        .add_user("alice", "alice-pw", PermissionSet::base(), ["reader"])
        .expect("alice");
    users
        .add_user("bob", "bob-pw", PermissionSet::base(), ["reader", "writer"])
        .expect("bob");
    let mut admin = PermissionSet::base();
    for p in [P::List, P::Delete, P::Write] {
        admin.insert(R::Users, p);
    }
    users
        .add_user("admin", "admin-pw", admin, ["ops"])
        .expect("admin");
    users
        .add_user("root", "root-pw", PermissionSet::new(), ["root"])
        .expect("root");
    users
        .add_user(
            "dave",
            "dave-pw",
            [(R::Users, P::List)].into_iter().collect(),
            ["ops"],
        )
        .expect("dave");
    users
        .add_user(
            "carol",
            "carol-pw",
            [(R::Settings, P::Edit)].into_iter().collect(),
            Vec::<String>::new(),
        )
        .expect("carol");
    // `reader` and `writer` bring no permissions: anyone may grant them.
    let roles = RoleMap::new()
        .superuser("root")
        .role("reader", PermissionSet::new())
        .role("writer", PermissionSet::new());
    let issuer = TokenIssuer::new(keys.clone(), None)
        .expect("issuer")
        .with_clock(Arc::new(clock.clone()));
    let mut tokens = TokenService::new(issuer, users)
        .with_hasher(hasher)
        .with_clock(Arc::new(clock.clone()))
        .with_revocations(memory.revocations())
        .with_roles(roles.clone())
        .with_token_policy(TokenPolicy {
            min_secs: 60,
            max_secs: 7 * 24 * 3600,
        });
    if let Some(store) = store {
        tokens = tokens.with_token_store(store);
    }
    let tokens = Arc::new(tokens);
    let pipeline = Pipeline::builder()
        .roles(roles)
        .handler(
            JwtHandler::new(keys, Validation::new())
                .with_revocations(tokens.revocations())
                .with_clock(Arc::new(clock.clone())),
        )
        .build()
        .expect("pipeline");
    let auth = PoemAuth::from_pipeline(pipeline)
        .token_service(tokens)
        .build()
        .expect("auth");
    let app = Route::new().nest("/auth", auth.routes());
    App {
        cli: TestClient::new(app.map_to_response().boxed()),
        clock,
        store: memory,
    }
}

fn app() -> App {
    let store = Arc::new(MemoryTokenStore::new());
    app_with(Some(store.clone()), store)
}

impl App {
    async fn login_pair(&self, user: &str) -> (String, String) {
        let resp = self
            .cli
            .post("/auth/token")
            .body_json(&json!({"username": user, "password": format!("{user}-pw")}))
            .send()
            .await;
        resp.assert_status_is_ok();
        let body = json_of(resp).await;
        (
            body["access_token"].as_str().expect("access").to_owned(),
            body["refresh_token"].as_str().expect("refresh").to_owned(),
        )
    }

    async fn login(&self, user: &str) -> String {
        self.login_pair(user).await.0
    }

    /// `GET /auth/me` status with this token.
    async fn me(&self, token: &str) -> StatusCode {
        self.cli
            .get("/auth/me")
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .0
            .status()
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let credential = token.map(|t| ("authorization", bearer(t)));
        status_and_json(request(&self.cli, method, path, credential, body.as_ref()).await).await
    }

    /// 401 without a credential, 403 for alice (no USERS permission).
    async fn assert_admin_only(&self, method: &str, path: &str, body: Option<Value>) {
        let (status, _) = self.call(method, path, None, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} anonymous"
        );
        let alice = self.login("alice").await;
        let (status, _) = self.call(method, path, Some(&alice), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path} as alice");
    }
}

fn jtis(page: &Value) -> Vec<String> {
    page["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .map(|t| t["jti"].as_str().expect("jti").to_owned())
        .collect()
}

#[tokio::test]
async fn every_login_and_refresh_is_recorded_and_listed_as_mine_only() {
    let app = app();
    let (_, refresh) = app.login_pair("alice").await;
    app.clock.advance(5);
    let resp = app
        .cli
        .post("/auth/token")
        .body_json(&json!({"refresh_token": refresh}))
        .send()
        .await;
    resp.assert_status_is_ok();
    let refreshed = json_of(resp).await["access_token"]
        .as_str()
        .expect("access")
        .to_owned();
    app.login("bob").await;

    let (status, page) = app
        .call("GET", "/auth/tokens/mine", Some(&refreshed), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let tokens = page["tokens"].as_array().expect("tokens");
    assert_eq!(tokens.len(), 2, "{page}");
    assert!(tokens.iter().all(|t| t["client_id"] == "alice"));
    assert_eq!(tokens[0]["issued_by"], "refresh");
    assert_eq!(tokens[1]["issued_by"], "login");
    assert_eq!(tokens[0]["roles"], json!(["reader"]));
    assert_eq!(tokens[0]["revoked"], false);

    let (status, _) = app.call("GET", "/auth/tokens/mine", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn revoking_one_of_my_tokens_refuses_it_at_once_and_only_it() {
    let app = app();
    let first = app.login("alice").await;
    app.clock.advance(1);
    let second = app.login("alice").await;
    let bob = app.login("bob").await;
    let (_, page) = app
        .call("GET", "/auth/tokens/mine", Some(&first), None)
        .await;
    let mine = jtis(&page);
    let (_, page) = app.call("GET", "/auth/tokens/mine", Some(&bob), None).await;
    let bobs = jtis(&page);
    let first_jti = mine.last().expect("first token").clone();

    let path = format!("/auth/tokens/mine/{first_jti}");
    let (status, body) = app.call("DELETE", &path, Some(&second), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"revoked": 1}));
    assert_eq!(app.me(&first).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.me(&second).await, StatusCode::OK);

    // Someone else's token is not mine: 404, and it stays valid.
    let path = format!("/auth/tokens/mine/{}", bobs[0]);
    let (status, body) = app.call("DELETE", &path, Some(&second), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
    assert_eq!(app.me(&bob).await, StatusCode::OK);

    let (status, _) = app.call("DELETE", &path, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn revoking_all_my_tokens_ends_my_access_and_refresh_tokens() {
    let app = app();
    let (first, refresh) = app.login_pair("alice").await;
    let second = app.login("alice").await;
    let bob = app.login("bob").await;

    let (status, body) = app
        .call("DELETE", "/auth/tokens/mine", Some(&second), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"revoked": 2}));
    assert_eq!(app.me(&first).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.me(&second).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.me(&bob).await, StatusCode::OK);
    let resp = app
        .cli
        .post("/auth/token")
        .body_json(&json!({"refresh_token": refresh}))
        .send()
        .await;
    resp.assert_status(StatusCode::UNAUTHORIZED);

    let (status, _) = app.call("DELETE", "/auth/tokens/mine", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
