//! Resource-server mode against our own services on loopback ports: one
//! service issues tokens with EdDSA/ES256 keys and publishes its JWKS and
//! discovery document; another validates through them. Also the refresh
//! engine under a flood of unknown `kid`s, with the provider down, and its
//! honouring of `Cache-Control`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use auth_core::clock::{Clock, ManualClock};
use auth_core::jwt::{Algorithm, JwtKey, KeySet, TokenIssuer, Validation, sign_compact};
use auth_core::oidc::{IssuerConfig, OidcHandler};
use auth_core::tokens::TokenService;
use auth_core::{
    AuthContext, AuthError, AuthHandler, AuthMethod, AuthPermission as P, AuthResource as R,
    JwtHandler, MemoryUserStore, PermissionSet, Pipeline, Principal,
};
use auth_poem::{Authenticated, PoemAuth};
use auth_test::{bind_loopback, serve_on};
use poem::http::StatusCode;

use poem::web::Data;
use poem::{EndpointExt, IntoResponse, Response, Route, get, handler};
use serde_json::{Value, json};

mod jwks;

const START: i64 = 1_900_000_000;
const AUDIENCE: &str = "chat-api";

#[handler]
fn conversations(user: Authenticated) -> Response {
    if user.has(R::Conversation, P::Read) {
        user.id.clone().into_response()
    } else {
        StatusCode::FORBIDDEN.into_response()
    }
}

fn reader(id: &str) -> Principal {
    let mut permissions = PermissionSet::new();
    permissions.insert(R::Conversation, P::Read);
    Principal::new(id, AuthMethod::Basic).with_permissions(permissions)
}

async fn get_with(client: &reqwest::Client, url: &str, token: &str) -> (StatusCode, String) {
    let resp = client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let status = StatusCode::from_u16(resp.status().as_u16()).expect("status");
    (status, resp.text().await.expect("body"))
}

async fn kids(client: &reqwest::Client, jwks_url: &str) -> Vec<String> {
    let doc: Value = client
        .get(jwks_url)
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let mut kids: Vec<String> = doc["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect();
    kids.sort();
    kids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validator_follows_the_issuers_discovery_document_across_a_key_rotation() {
    let clock = ManualClock::new(START);
    let clock_arc: Arc<dyn Clock> = Arc::new(clock.clone());

    // Service A: issues with an Ed25519 key, publishes JWKS and discovery.
    let (a_base, a_acceptor) = bind_loopback().await;
    let iss = format!("{a_base}/auth");
    let issuer = TokenIssuer::new(
        Arc::new(KeySet::single(
            JwtKey::generate(Algorithm::EdDSA)
                .expect("key")
                .with_kid("ed-1"),
        )),
        None,
    )
    .expect("issuer")
    .issuer(iss.clone())
    .audience(AUDIENCE)
    .lifetime_minutes(10)
    .with_clock(clock_arc.clone());
    let users = Arc::new(MemoryUserStore::new(
        auth_core::password::PasswordHasher::fast_insecure_for_tests(),
    ));
    let service = Arc::new(TokenService::new(issuer.clone(), users).with_clock(clock_arc.clone()));
    let a_pipeline = Pipeline::builder()
        .handler(
            JwtHandler::for_issuer(
                &issuer,
                Validation::new().issuer(iss.clone()).audience(AUDIENCE),
            )
            .with_revocations(service.revocations()),
        )
        .build()
        .expect("pipeline");
    let a_auth = PoemAuth::from_pipeline(a_pipeline)
        .token_service(service)
        .build()
        .expect("auth");
    serve_on(
        a_acceptor,
        Route::new().nest("/auth", a_auth.routes()).at(
            "/api/conversations",
            get(conversations).with(a_auth.layer()),
        ),
    );

    // Service B: validates A's tokens through A's discovery document.
    let oidc = OidcHandler::builder()
        .clock(clock_arc.clone())
        .issuer(IssuerConfig::discover(iss.clone(), AUDIENCE).refresh(3600, 30))
        .build()
        .expect("oidc handler");
    let b_auth = PoemAuth::new(Pipeline::builder().handler(oidc).build().expect("pipeline"));
    let (b_base, b_acceptor) = bind_loopback().await;
    serve_on(
        b_acceptor,
        Route::new().at(
            "/api/conversations",
            get(conversations).with(b_auth.layer()),
        ),
    );
    let b_url = format!("{b_base}/api/conversations");
    let http = reqwest::Client::new();

    let discovery: Value = http
        .get(format!("{iss}/.well-known/openid-configuration"))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("json");
    assert_eq!(discovery["issuer"], iss.as_str());
    assert_eq!(
        discovery["jwks_uri"],
        format!("{iss}/.well-known/jwks.json")
    );
    assert_eq!(discovery["token_endpoint"], format!("{iss}/token"));
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        json!(["EdDSA"])
    );
    let jwks_url = format!("{iss}/.well-known/jwks.json");

    let old = issuer.issue(&reader("alice")).expect("token");
    assert_eq!(
        get_with(&http, &b_url, old.expose()).await,
        (StatusCode::OK, "alice".to_owned())
    );

    // Rotate to ES256: published at once, signing 300 s later.
    issuer
        .rotate_to(
            JwtKey::generate(Algorithm::ES256)
                .expect("key")
                .with_kid("es-2"),
            300,
        )
        .expect("rotate");
    assert_eq!(kids(&http, &jwks_url).await, ["ed-1", "es-2"]);
    let still_old = issuer.issue(&reader("bob")).expect("token");
    assert_eq!(
        get_with(&http, &b_url, still_old.expose()).await,
        (StatusCode::OK, "bob".to_owned())
    );

    clock.advance(300);
    let new = issuer.issue(&reader("carol")).expect("token");
    assert_eq!(issuer.signing_kid().as_deref(), Some("es-2"));
    assert_eq!(
        get_with(&http, &b_url, new.expose()).await,
        (StatusCode::OK, "carol".to_owned()),
        "the validator fetches the rotated-in key"
    );
    assert_eq!(
        get_with(&http, &b_url, old.expose()).await,
        (StatusCode::OK, "alice".to_owned()),
        "tokens of the old key stay valid until they expire"
    );
    // The issuer's own service accepts both as well.
    assert_eq!(
        get_with(&http, &format!("{a_base}/api/conversations"), new.expose())
            .await
            .0,
        StatusCode::OK
    );

    // Past the old key's last token: it leaves the published set.
    clock.advance(600 + 31);
    assert_eq!(kids(&http, &jwks_url).await, ["es-2"]);
    assert_eq!(
        get_with(&http, &b_url, old.expose()).await.0,
        StatusCode::UNAUTHORIZED
    );
    let newest = issuer.issue(&reader("dave")).expect("token");
    assert_eq!(
        get_with(&http, &b_url, newest.expose()).await,
        (StatusCode::OK, "dave".to_owned())
    );
}
