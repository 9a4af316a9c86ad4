//! `PoemAuth::builder()`, the hub: one call wires the token service, its
//! revocation check, the users and the pipeline, and the half-wired service
//! the old hand wiring allowed (a JWT handler that ignores revocations
//! beside token routes) is refused when it is built.

use std::sync::Arc;

use auth_core::jwt::{Algorithm, JwtKey, KeySet, Validation};
use auth_core::password::PasswordHasher;
use auth_core::{AuthError, JwtHandler, MemoryUserStore, Pipeline, RoleMap};
use auth_poem::{Authenticated, PoemAuth};
use auth_test::{bearer, json_of, login, token_service};
use poem::http::StatusCode;
use poem::test::TestClient;
use poem::{EndpointExt, Route, get, handler};
use serde_json::json;

#[handler]
fn whoami(user: Authenticated) -> String {
    user.id.clone()
}

/// The message of a build that must be refused.
fn refusal(built: Result<PoemAuth, AuthError>) -> String {
    match built {
        Err(AuthError::Misconfigured(message)) => message,
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("the half-wired service was built"),
    }
}

#[test]
fn a_jwt_handler_without_the_token_services_revocations_is_refused_at_build() {
    let (keys, tokens) = token_service(1, RoleMap::new());
    let pipeline = Pipeline::builder()
        .handler(JwtHandler::new(keys, Validation::new()))
        .build()
        .expect("pipeline");
    let message = refusal(
        PoemAuth::from_pipeline(pipeline)
            .token_service(tokens)
            .build(),
    );
    assert!(message.contains("with_revocations"), "{message}");
    assert!(message.contains("revoked"), "{message}");
}

#[test]
fn the_same_secret_loaded_twice_is_still_recognised_as_the_token_services_key() {
    let (_, tokens) = token_service(2, RoleMap::new());
    // The same secret as `token_service(2, ..)`, read again into a key set of
    // its own: a different Arc, the same tokens accepted.
    let again = Arc::new(KeySet::single(
        JwtKey::hmac(
            Algorithm::HS256,
            b"a-test-hmac-secret-seeded-with-002!".as_slice(),
        )
        .expect("key"),
    ));
    let pipeline = Pipeline::builder()
        .handler(JwtHandler::new(again, Validation::new()))
        .build()
        .expect("pipeline");
    let message = refusal(
        PoemAuth::from_pipeline(pipeline)
            .token_service(tokens)
            .build(),
    );
    assert!(message.contains("with_revocations"), "{message}");
}

#[test]
fn a_jwt_handler_wired_to_the_revocations_or_for_outside_keys_is_accepted() {
    let (keys, tokens) = token_service(3, RoleMap::new());
    let wired = Pipeline::builder()
        .handler(JwtHandler::new(keys, Validation::new()).with_revocations(tokens.revocations()))
        .build()
        .expect("pipeline");
    PoemAuth::from_pipeline(wired)
        .token_service(tokens.clone())
        .build()
        .expect("a wired handler is accepted");

    // Keys the token service does not sign with: its tokens never pass
    // this handler, so it needs no revocation check of the service's.
    let (outside, _) = token_service(4, RoleMap::new());
    let pipeline = Pipeline::builder()
        .handler(JwtHandler::new(outside, Validation::new()))
        .build()
        .expect("pipeline");
    PoemAuth::from_pipeline(pipeline)
        .token_service(tokens)
        .build()
        .expect("a handler for outside keys is accepted");
}

#[test]
fn hub_options_on_a_builder_around_a_whole_pipeline_are_refused() {
    let (keys, _) = token_service(5, RoleMap::new());
    let pipeline = || {
        Pipeline::builder()
            .handler(JwtHandler::new(keys.clone(), Validation::new()))
            .build()
            .expect("pipeline")
    };
    let message = refusal(
        PoemAuth::from_pipeline(pipeline())
            .users(MemoryUserStore::default())
            .build(),
    );
    assert!(
        message.contains("users") && message.contains("PoemAuth::builder()"),
        "{message}"
    );
    let message = refusal(
        PoemAuth::from_pipeline(pipeline())
            .roles(RoleMap::new().superuser("admin"))
            .build(),
    );
    assert!(message.contains("roles"), "{message}");
}

#[test]
fn a_user_store_without_signing_keys_is_refused() {
    let message = refusal(
        PoemAuth::builder()
            .users(MemoryUserStore::default())
            .build(),
    );
    assert!(message.contains("signing keys"), "{message}");
}

#[tokio::test]
async fn the_hub_logs_in_refreshes_and_logout_ends_every_access_token_of_the_session() {
    let keys = Arc::new(KeySet::single(
        JwtKey::hmac(Algorithm::HS256, b"a-hub-test-secret-long-enough-for-hs256").expect("key"),
    ));
    let hasher = PasswordHasher::fast_insecure_for_tests();
    let users = MemoryUserStore::new(hasher.clone());
    users
        .add_user(
            "alice",
            "wonderland",
            auth_core::PermissionSet::base(),
            ["reader"],
        )
        .expect("user");
    let auth = PoemAuth::builder()
        .jwt_keys(keys)
        .users(users)
        .hasher(hasher)
        .build()
        .expect("hub");
    // No outer `.data(auth)`: the routes and the layer carry it.
    let app = Route::new()
        .nest("/auth", auth.routes())
        .at("/whoami", get(whoami).with(auth.layer()));
    let cli = TestClient::new(app);

    let resp = cli
        .post("/auth/token")
        .body_json(&json!({"username": "alice", "password": "wonderland"}))
        .send()
        .await;
    resp.assert_status_is_ok();
    let body = json_of(resp).await;
    let access = body["access_token"].as_str().expect("access").to_owned();
    let refresh = body["refresh_token"].as_str().expect("refresh").to_owned();
    cli.get("/whoami")
        .header("authorization", bearer(&access))
        .send()
        .await
        .assert_text("alice")
        .await;

    let resp = cli
        .post("/auth/token")
        .body_json(&json!({"grant_type": "refresh_token", "refresh_token": refresh}))
        .send()
        .await;
    resp.assert_status_is_ok();
    let refreshed = json_of(resp).await["access_token"]
        .as_str()
        .expect("access")
        .to_owned();

    // Another session of the same user, which the logout leaves alone.
    let other = login(&cli, "alice", "wonderland").await;
    cli.post("/auth/logout")
        .header("authorization", bearer(&refreshed))
        .send()
        .await
        .assert_status_is_ok();
    for token in [&refreshed, &access] {
        cli.get("/whoami")
            .header("authorization", bearer(token))
            .send()
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
    }
    cli.get("/whoami")
        .header("authorization", bearer(&other))
        .send()
        .await
        .assert_text("alice")
        .await;
}
