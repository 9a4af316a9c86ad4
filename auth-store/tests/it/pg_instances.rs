//! Several instances on one PostgreSQL database: a token revoked through
//! one is refused by the others within a second; and when the database
//! goes away, requests that need it answer 503 and nothing is let through.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::pg::PgCluster;
use auth_core::jwt::{Algorithm, JwtKey, KeySet, TokenIssuer, Validation};
use auth_core::password::PasswordHasher;
use auth_core::store::{NewUser, TokenFilter, TokenRecord, TokenStore, UserAdmin};
use auth_core::throttle::{LoginThrottle, ThrottlePolicy};
use auth_core::tokens::TokenService;
use auth_core::{BasicHandler, JwtHandler, PermissionSet, Pipeline};
use auth_poem::{Authenticated, PoemAuth};
use auth_store::{PgStore, StoreOptions};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use poem::listener::{Acceptor as _, Listener as _, TcpListener};
use poem::{Endpoint, EndpointExt, Route, Server, get, handler};
use serde_json::{Value, json};

#[handler]
fn whoami(user: Authenticated) -> String {
    user.id.clone()
}

fn keys() -> Arc<KeySet> {
    Arc::new(KeySet::single(
        JwtKey::hmac(
            Algorithm::HS256,
            b"an-hmac-secret-for-the-store-instance-tests",
        )
        .expect("key"),
    ))
}

/// One instance: its own pool, token service and pipeline over `store`,
/// signing with the key every instance shares. Bearer tokens and Basic
/// credentials (checked against the store) open `/api/whoami`.
fn app(store: &PgStore) -> impl Endpoint + 'static {
    app_with(store, ThrottlePolicy::default())
}

/// [`app`], its password checks throttled by `policy`, counted in the store.
fn app_with(store: &PgStore, policy: ThrottlePolicy) -> impl Endpoint + 'static {
    let hasher = PasswordHasher::fast_insecure_for_tests();
    let throttle = LoginThrottle::with_store(policy, Arc::new(store.clone()));
    let tokens = Arc::new(
        TokenService::new(
            TokenIssuer::new(keys(), None).expect("issuer"),
            Arc::new(store.clone()),
        )
        .with_refresh_store(Arc::new(store.clone()))
        .with_revocations(store.revocations())
        .with_hasher(hasher.clone())
        .with_throttle(throttle.clone()),
    );
    let pipeline = Pipeline::builder()
        .handler(JwtHandler::new(keys(), Validation::new()).with_revocations(tokens.revocations()))
        .handler(
            BasicHandler::new(Arc::new(store.clone()))
                .with_hasher(hasher)
                .with_throttle(throttle),
        )
        .build()
        .expect("pipeline");
    let auth = PoemAuth::from_pipeline(pipeline)
        .token_service(tokens)
        .build()
        .expect("auth");
    Route::new()
        .nest("/auth", auth.routes())
        .at("/api/whoami", get(whoami).with(auth.layer()))
}

/// Serves `app` on a free loopback port; returns its base URL.
async fn serve(app: impl Endpoint + 'static) -> String {
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .expect("bind");
    let addr = acceptor.local_addr()[0]
        .as_socket_addr()
        .copied()
        .expect("socket address");
    tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
    format!("http://{addr}")
}

async fn add_alice(store: &PgStore) -> String {
    let hash = PasswordHasher::fast_insecure_for_tests()
        .hash_blocking("wonderland")
        .expect("hash");
    store
        .create_user(NewUser {
            username: "alice".into(),
            password_hash: hash,
            roles: BTreeSet::from(["reader".to_owned()]),
            permissions: PermissionSet::base(),
            enabled: true,
            extra: serde_json::Map::new(),
        })
        .await
        .expect("create alice")
        .id
}

async fn login(http: &reqwest::Client, base: &str) -> (reqwest::StatusCode, Value) {
    login_with(http, base, "wonderland").await
}

async fn login_with(
    http: &reqwest::Client,
    base: &str,
    password: &str,
) -> (reqwest::StatusCode, Value) {
    let resp = http
        .post(format!("{base}/auth/token"))
        .json(&json!({"username": "alice", "password": password}))
        .send()
        .await
        .expect("login request");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn whoami_status(http: &reqwest::Client, base: &str, token: &str) -> reqwest::StatusCode {
    http.get(format!("{base}/api/whoami"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .status()
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("JWT payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("claims")
}

/// Polls instance `base` until it refuses `token`; fails if that takes a
/// second or more from `since` (the requirement itself).
async fn refused_within_a_second(http: &reqwest::Client, base: &str, token: &str, since: Instant) {
    loop {
        let status = whoami_status(http, base, token).await;
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return;
        }
        assert_eq!(status, reqwest::StatusCode::OK);
        assert!(
            since.elapsed() < Duration::from_secs(1),
            "instance B still accepts a token revoked through instance A after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_revoked_through_one_instance_is_refused_by_the_other_within_a_second() {
    let Some(cluster) = PgCluster::shared() else {
        return;
    };
    let url = cluster.create_database().await;
    let store_a = PgStore::connect(&url).await.expect("instance A store");
    let store_b = PgStore::connect(&url).await.expect("instance B store");
    let alice = add_alice(&store_a).await;
    let a = serve(app(&store_a)).await;
    let b = serve(app(&store_b)).await;
    let http = reqwest::Client::new();

    // One revoked token.
    let (status, body) = login(&http, &a).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let token = body["access_token"]
        .as_str()
        .expect("access token")
        .to_owned();
    let (other_status, other) = login(&http, &b).await;
    assert_eq!(other_status, reqwest::StatusCode::OK, "{other}");
    let untouched = other["access_token"].as_str().expect("access").to_owned();
    assert_eq!(
        whoami_status(&http, &b, &token).await,
        reqwest::StatusCode::OK
    );
    let c = claims(&token);
    let jti = c["jti"].as_str().expect("jti").to_owned();
    store_a
        .record_token(TokenRecord {
            jti: jti.clone(),
            client_id: alice.clone(),
            roles: BTreeSet::from(["reader".to_owned()]),
            created_at: c["iat"].as_i64().expect("iat"),
            expires_at: c["exp"].as_i64().expect("exp"),
            issued_by: "login".into(),
            revoked: false,
        })
        .await
        .expect("record");
    let revoked_at = Instant::now();
    let one = TokenFilter {
        jti: Some(jti),
        ..TokenFilter::default()
    };
    let now = c["iat"].as_i64().expect("iat");
    assert_eq!(store_a.revoke_tokens(&one, now).await.expect("revoke"), 1);
    assert_eq!(
        whoami_status(&http, &a, &token).await,
        reqwest::StatusCode::UNAUTHORIZED
    );
    refused_within_a_second(&http, &b, &token, revoked_at).await;
    assert_eq!(
        whoami_status(&http, &b, &untouched).await,
        reqwest::StatusCode::OK
    );

    // Every token of a session, by its `sid`.
    let (status, body) = login(&http, &a).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let in_session = body["access_token"].as_str().expect("access").to_owned();
    let sid = claims(&in_session)["sid"].as_str().expect("sid").to_owned();
    assert_eq!(
        whoami_status(&http, &b, &in_session).await,
        reqwest::StatusCode::OK
    );
    let revoked_at = Instant::now();
    store_a
        .revoke_session(&sid, 4_000_000_000)
        .await
        .expect("revoke session");
    refused_within_a_second(&http, &b, &in_session, revoked_at).await;
    assert_eq!(
        whoami_status(&http, &b, &untouched).await,
        reqwest::StatusCode::OK,
        "another session is untouched"
    );

    // Every token of a client, up to a cut-off.
    let cutoff = claims(&untouched)["iat"].as_i64().expect("iat");
    let revoked_at = Instant::now();
    store_a
        .revoke_client_tokens(&alice, cutoff)
        .await
        .expect("revoke client");
    refused_within_a_second(&http, &b, &untouched, revoked_at).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_budget_is_shared_by_every_instance_on_one_database() {
    let Some(cluster) = PgCluster::shared() else {
        return;
    };
    let url = cluster.create_database().await;
    let store_a = PgStore::connect(&url).await.expect("instance A store");
    let store_b = PgStore::connect(&url).await.expect("instance B store");
    add_alice(&store_a).await;
    // Two failures are free; the third holds the (account, address) back
    // for 600 s, wherever it is counted.
    let policy = ThrottlePolicy {
        free_attempts: 2,
        base_delay_secs: 600,
        max_delay_secs: 600,
        ..ThrottlePolicy::default()
    };
    let a = serve(app_with(&store_a, policy)).await;
    let b = serve(app_with(&store_b, policy)).await;
    let http = reqwest::Client::new();
    for (base, spelling) in [(&a, "alice"), (&b, "Alice"), (&a, "alice ")] {
        let resp = http
            .post(format!("{base}/auth/token"))
            .json(&json!({"username": spelling, "password": "not-the-password"}))
            .send()
            .await
            .expect("login request");
        assert_eq!(
            resp.status(),
            reqwest::StatusCode::UNAUTHORIZED,
            "{spelling}"
        );
    }
    // Per instance, B has seen one failure; together, three.
    let (status, body) = login_with(&http, &b, "wonderland").await;
    assert_eq!(status, reqwest::StatusCode::TOO_MANY_REQUESTS, "{body}");
    let basic = http
        .get(format!("{b}/api/whoami"))
        .basic_auth("alice", Some("wonderland"))
        .send()
        .await
        .expect("request");
    assert_eq!(
        basic.status(),
        reqwest::StatusCode::TOO_MANY_REQUESTS,
        "Basic shares the budget"
    );
    assert!(basic.headers().contains_key("retry-after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_instance_loads_the_revocations_of_the_others() {
    let Some(cluster) = PgCluster::shared() else {
        return;
    };
    let url = cluster.create_database().await;
    let store_a = PgStore::connect(&url).await.expect("instance A store");
    let record = TokenRecord {
        jti: "t-1".into(),
        client_id: "alice".into(),
        roles: BTreeSet::new(),
        created_at: 1_700_000_000,
        expires_at: 4_000_000_000,
        issued_by: "login".into(),
        revoked: false,
    };
    store_a.record_token(record).await.expect("record");
    let all = TokenFilter::default();
    assert_eq!(
        store_a
            .revoke_tokens(&all, 1_700_000_000)
            .await
            .expect("revoke"),
        1
    );
    let store_b = PgStore::connect(&url).await.expect("instance B store");
    use auth_core::store::RevocationCheck as _;
    assert!(
        store_b
            .revocations()
            .is_revoked(Some("t-1"), None, "alice", Some(1_700_000_000))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_down_answers_503_and_lets_nothing_through() {
    // A cluster of this test's own, since it is stopped.
    let Some(mut cluster) = PgCluster::start_or_skip() else {
        return;
    };
    let url = cluster.create_database().await;
    let options = StoreOptions {
        acquire_timeout: Duration::from_secs(1),
        max_connections: 4,
    };
    let store = PgStore::connect_with(&url, &options).await.expect("store");
    add_alice(&store).await;
    let base = serve(app(&store)).await;
    let http = reqwest::Client::new();
    let basic = format!("Basic {}", STANDARD.encode("alice:wonderland"));
    let basic_status = |http: reqwest::Client, base: String, basic: String| async move {
        http.get(format!("{base}/api/whoami"))
            .header("authorization", basic)
            .send()
            .await
            .expect("request")
            .status()
    };
    // While the database is up, all of it works.
    let (status, body) = login(&http, &base).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let refresh = body["refresh_token"].as_str().expect("refresh").to_owned();
    assert_eq!(
        basic_status(http.clone(), base.clone(), basic.clone()).await,
        reqwest::StatusCode::OK
    );

    cluster.stop();

    let (status, body) = login(&http, &base).await;
    assert_eq!(status, reqwest::StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.get("access_token").is_none(), "{body}");
    let refreshed = http
        .post(format!("{base}/auth/token"))
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await
        .expect("refresh request");
    assert_eq!(refreshed.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    // A protected request whose credential must be checked in the store.
    assert_eq!(
        basic_status(http.clone(), base.clone(), basic.clone()).await,
        reqwest::StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_listener_connection_reconnects_and_misses_no_revocation() {
    use auth_core::store::RevocationCheck as _;
    use sqlx::Connection as _;
    let Some(cluster) = PgCluster::shared() else {
        return;
    };
    let url = cluster.create_database().await;
    let store_a = PgStore::connect(&url).await.expect("instance A store");
    let store_b = PgStore::connect(&url).await.expect("instance B store");
    // Cut every listening connection of this database; the revocation below
    // may be announced while B is not listening.
    let mut admin = sqlx::PgConnection::connect(&url).await.expect("admin");
    let cut: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .fetch_all(&mut admin)
    .await
    .expect("terminate listeners");
    assert_eq!(cut, [true, true]);
    store_a
        .record_token(TokenRecord {
            jti: "t-gap".into(),
            client_id: "alice".into(),
            roles: BTreeSet::new(),
            created_at: 1_700_000_000,
            expires_at: 4_000_000_000,
            issued_by: "login".into(),
            revoked: false,
        })
        .await
        .expect("record");
    let all = TokenFilter::default();
    assert_eq!(
        store_a
            .revoke_tokens(&all, 1_700_000_000)
            .await
            .expect("revoke"),
        1
    );
    // B reconnects, listens again and reloads; a bound only so that a
    // broken listener fails the test instead of hanging it.
    let give_up = Instant::now() + Duration::from_secs(30);
    while !store_b
        .revocations()
        .is_revoked(Some("t-gap"), None, "alice", Some(1_700_000_000))
    {
        assert!(
            Instant::now() < give_up,
            "instance B never saw the revocation"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
