//! Signing-key rotation of the token issuer: a new key is published before
//! it signs, an old one stays published until its last token has expired.

use std::sync::Arc;

use auth_core::clock::ManualClock;
use auth_core::jwt::{Algorithm, JwtKey, KeyError, KeySet, TokenIssuer, Validation};
use auth_core::{AuthContext, AuthHandler, AuthMethod, JwtHandler, Principal};

const START: i64 = 1_900_000_000;

fn issuer(clock: &ManualClock) -> TokenIssuer {
    let key = JwtKey::generate(Algorithm::EdDSA)
        .expect("key")
        .with_kid("old");
    TokenIssuer::new(Arc::new(KeySet::single(key)), None)
        .expect("issuer")
        .issuer("me")
        .lifetime_minutes(10)
        .with_clock(Arc::new(clock.clone()))
}

fn new_key(kid: &str) -> JwtKey {
    JwtKey::generate(Algorithm::ES256)
        .expect("key")
        .with_kid(kid)
}

fn kids(issuer: &TokenIssuer) -> Vec<String> {
    let mut kids: Vec<String> = issuer
        .keys()
        .keys()
        .filter_map(|k| k.kid().map(str::to_owned))
        .collect();
    kids.sort();
    kids
}

fn header_kid(token: &str) -> String {
    use base64::Engine as _;
    let header = token.split('.').next().expect("header");
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .expect("b64");
    let v: serde_json::Value = serde_json::from_slice(&json).expect("json");
    v["kid"].as_str().expect("kid").to_owned()
}

#[test]
fn rotated_key_is_published_ahead_then_signs_and_the_old_one_retires_after_its_last_token() {
    let clock = ManualClock::new(START);
    let issuer = issuer(&clock);
    let p = Principal::new("u", AuthMethod::Basic);

    issuer.rotate_to(new_key("new"), 300).expect("rotate");
    assert_eq!(kids(&issuer), ["new", "old"], "published before it signs");
    assert_eq!(header_kid(issuer.issue(&p).expect("t").expose()), "old");

    clock.advance(299);
    assert_eq!(header_kid(issuer.issue(&p).expect("t").expose()), "old");
    let last_old = issuer.issue(&p).expect("t");

    clock.advance(1);
    assert_eq!(header_kid(issuer.issue(&p).expect("t").expose()), "new");
    assert_eq!(kids(&issuer), ["new", "old"]);

    // The old key's last token expires at switch + 600; kept till then (plus leeway).
    clock.set(last_old.expires_at + 1);
    assert_eq!(kids(&issuer), ["new", "old"], "still within the leeway");
    clock.set(START + 300 + 600 + 30);
    assert_eq!(
        kids(&issuer),
        ["new"],
        "retired after its last token expired"
    );
}

#[tokio::test]
async fn a_handler_for_the_issuer_follows_its_rotation() {
    let clock = ManualClock::new(START);
    let issuer = issuer(&clock);
    let handler = JwtHandler::for_issuer(&issuer, Validation::new().issuer("me"));
    let p = Principal::new("u", AuthMethod::Basic);
    let cx = AuthContext::http();

    let old = issuer.issue(&p).expect("t");
    issuer.rotate_to(new_key("new"), 0).expect("rotate");
    let new = issuer.issue(&p).expect("t");
    assert_eq!(header_kid(new.expose()), "new");
    for token in [&old, &new] {
        let principal = handler
            .authorize_jwt(token.expose(), &cx)
            .await
            .expect("valid")
            .expect("mine");
        assert_eq!(principal.id, "u");
    }

    clock.advance(600 + 31);
    let newest = issuer.issue(&p).expect("t");
    assert!(handler.authorize_jwt(newest.expose(), &cx).await.is_ok());
    assert_eq!(
        handler.authorize_jwt(old.expose(), &cx).await,
        Ok(None),
        "the retired key is unknown to the handler"
    );
}

#[test]
fn rotation_refuses_keys_without_kid_duplicates_and_verify_only_keys() {
    let clock = ManualClock::new(START);
    let issuer = issuer(&clock);
    assert!(matches!(
        issuer.rotate_to(JwtKey::generate(Algorithm::EdDSA).expect("key"), 0),
        Err(KeyError::Invalid(_))
    ));
    assert!(matches!(
        issuer.rotate_to(new_key("old"), 0),
        Err(KeyError::Invalid(_))
    ));
    let public = JwtKey::from_jwk(&new_key("pub").public_jwk().expect("jwk")).expect("public");
    assert_eq!(issuer.rotate_to(public, 0), Err(KeyError::VerifyOnly));

    let anonymous = TokenIssuer::new(
        Arc::new(KeySet::single(
            JwtKey::generate(Algorithm::EdDSA).expect("key"),
        )),
        None,
    )
    .expect("issuer");
    assert!(
        anonymous.rotate_to(new_key("next"), 0).is_err(),
        "the current key needs a kid to be told apart"
    );
}

#[test]
fn retire_withdraws_a_key_at_once_but_never_the_signing_one() {
    let clock = ManualClock::new(START);
    let issuer = issuer(&clock);
    issuer.rotate_to(new_key("new"), 0).expect("rotate");
    assert!(issuer.retire("new").is_err(), "the signing key");
    assert_eq!(issuer.retire("old"), Ok(true));
    assert_eq!(kids(&issuer), ["new"]);
    assert_eq!(issuer.retire("old"), Ok(false));
}
