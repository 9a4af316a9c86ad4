//! The verified-token cache: a token seen before skips the signature check,
//! yet a hit never outlives `exp`, never comes before `nbf`, never skips
//! revocation, never survives a change of key, and the cache stays bounded.

use std::sync::Arc;

use auth_core::clock::ManualClock;
use auth_core::jwt::{
    Algorithm, ClaimsMapper, JwtHandler, JwtKey, JwtRejection, JwtValidator, KeySet, TokenIssuer,
    Validation,
};
use auth_core::store::MemoryRevocations;
use auth_core::{AuthContext, AuthError, AuthHandler, AuthMethod, Principal};
use serde_json::{Map, json};

const NOW: i64 = 1_700_000_000;

fn pem(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).expect("key file")
}

fn es256(kid: &str) -> JwtKey {
    JwtKey::from_private_pem(Algorithm::ES256, &pem("p256.pem"))
        .expect("p256")
        .with_kid(kid)
}

fn other_es256(kid: &str) -> JwtKey {
    // A freshly generated P-256 key: same algorithm and kid, other material.
    let doc = aws_lc_rs::signature::EcdsaKeyPair::generate(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    )
    .expect("generate")
    .to_pkcs8v1()
    .expect("pkcs8");
    JwtKey::from_pkcs8_der(Algorithm::ES256, doc.as_ref())
        .expect("p256")
        .with_kid(kid)
}

fn issuer(keys: &Arc<KeySet>, clock: &ManualClock) -> TokenIssuer {
    TokenIssuer::new(keys.clone(), None)
        .expect("issuer")
        .with_clock(Arc::new(clock.clone()))
        .lifetime_minutes(10)
}

fn token(keys: &Arc<KeySet>, clock: &ManualClock) -> String {
    issuer(keys, clock)
        .issue(&Principal::new("alice", AuthMethod::Jwt))
        .expect("token")
        .expose()
        .to_owned()
}

fn cached(keys: &Arc<KeySet>, clock: &ManualClock, capacity: usize) -> JwtValidator {
    JwtValidator::new(keys.clone(), Validation::new())
        .with_clock(Arc::new(clock.clone()))
        .with_verified_cache(capacity)
}

fn setup() -> (Arc<KeySet>, ManualClock) {
    (Arc::new(KeySet::single(es256("k1"))), ManualClock::new(NOW))
}

fn len(v: &JwtValidator) -> usize {
    v.verified_cache().expect("cache on").len()
}

#[test]
fn a_repeated_token_is_served_from_one_entry_with_the_same_claims() {
    let (keys, clock) = setup();
    let v = cached(&keys, &clock, 16);
    let t = token(&keys, &clock);
    let first = v.validate(&t).expect("valid");
    assert_eq!(len(&v), 1);
    let second = v.validate(&t).expect("still valid");
    assert_eq!(len(&v), 1, "the second validation adds no entry");
    assert_eq!(first.claims, second.claims);
    assert_eq!(second.kid.as_deref(), Some("k1"));
}

#[test]
fn a_cached_token_is_refused_once_it_expires() {
    let (keys, clock) = setup();
    let v = cached(&keys, &clock, 16);
    let t = token(&keys, &clock);
    v.validate(&t).expect("valid");
    clock.advance(10 * 60 + auth_core::jwt::DEFAULT_LEEWAY + 1);
    assert_eq!(v.validate(&t).unwrap_err(), JwtRejection::Expired);
    assert_eq!(v.validate(&t).unwrap_err(), JwtRejection::Expired);
}

#[test]
fn a_cached_token_is_refused_before_its_nbf_when_the_clock_goes_back() {
    let (keys, clock) = setup();
    let v = cached(&keys, &clock, 16);
    let mut claims = Map::new();
    claims.insert("sub".into(), json!("alice"));
    claims.insert("nbf".into(), json!(NOW));
    let t = issuer(&keys, &clock)
        .issue_claims(claims)
        .expect("token")
        .expose()
        .to_owned();
    v.validate(&t).expect("valid at nbf");
    assert_eq!(len(&v), 1);
    clock.set(NOW - 3600);
    assert_eq!(v.validate(&t).unwrap_err(), JwtRejection::NotYetValid);
}

#[test]
fn the_cache_never_holds_more_than_its_capacity() {
    let (keys, clock) = setup();
    let v = cached(&keys, &clock, 8);
    let tokens: Vec<String> = (0..50).map(|_| token(&keys, &clock)).collect();
    for t in &tokens {
        v.validate(t).expect("valid");
        assert!(len(&v) <= 8, "{} entries", len(&v));
    }
    for t in &tokens {
        v.validate(t).expect("an evicted token is verified again");
    }
}

#[test]
fn expired_entries_make_room_before_live_ones() {
    let (keys, clock) = setup();
    let v = cached(&keys, &clock, 4);
    let old: Vec<String> = (0..3).map(|_| token(&keys, &clock)).collect();
    for t in &old {
        v.validate(t).expect("valid");
    }
    clock.advance(5 * 60);
    let live = token(&keys, &clock);
    v.validate(&live).expect("valid");
    clock.advance(6 * 60); // the old ones are past exp, `live` is not
    let newer = token(&keys, &clock);
    v.validate(&newer).expect("valid");
    assert_eq!(len(&v), 2, "only the expired entries were dropped");
}

#[test]
fn a_refused_token_is_never_cached() {
    let (keys, clock) = setup();
    let v = cached(&keys, &clock, 16);
    let t = token(&keys, &clock);
    let (head, sig) = t.rsplit_once('.').expect("three segments");
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    let forged = format!("{head}.{flipped}{}", &sig[1..]);
    assert_eq!(v.validate(&forged).unwrap_err(), JwtRejection::BadSignature);
    assert_eq!(len(&v), 0);
}

#[test]
fn a_token_differing_in_one_byte_from_a_cached_one_is_verified_on_its_own() {
    let (keys, clock) = setup();
    let v = cached(&keys, &clock, 16);
    let t = token(&keys, &clock);
    v.validate(&t).expect("valid");
    let mut bytes = t.clone().into_bytes();
    let mid = t.find('.').expect("dot") + 5;
    bytes[mid] = if bytes[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).expect("ascii");
    assert!(v.validate(&tampered).is_err());
}

#[test]
fn a_changed_key_set_is_never_served_from_the_cache() {
    let (keys, clock) = setup();
    let v = cached(&keys, &clock, 16);
    let t = token(&keys, &clock);
    v.validate(&t).expect("valid");

    let replaced = KeySet::single(other_es256("k1"));
    assert_eq!(
        v.validate_with(&t, &replaced).unwrap_err(),
        JwtRejection::BadSignature
    );
    assert_eq!(
        v.validate_with(&t, &KeySet::single(es256("k2")))
            .unwrap_err(),
        JwtRejection::UnknownKey
    );
    // The same key material loaded anew verifies again, then is cached.
    v.validate_with(&t, &KeySet::single(es256("k1")))
        .expect("same key material");
    v.validate(&t).expect("the original set still opens it");
}

#[test]
fn the_cache_shows_no_token_in_debug() {
    let (keys, clock) = setup();
    let v = cached(&keys, &clock, 16);
    let t = token(&keys, &clock);
    v.validate(&t).expect("valid");
    let shown = format!("{v:?}");
    for part in t.split('.') {
        assert!(!shown.contains(part), "{shown}");
    }
    assert!(shown.contains("len: 1"), "{shown}");
}

fn handler(
    keys: &Arc<KeySet>,
    clock: &ManualClock,
    revocations: Arc<MemoryRevocations>,
) -> JwtHandler {
    JwtHandler::new(keys.clone(), Validation::new())
        .with_clock(Arc::new(clock.clone()))
        .with_verified_cache(16)
        .with_revocations(revocations)
}

#[tokio::test]
async fn a_cached_token_is_refused_once_its_jti_is_revoked() {
    let (keys, clock) = setup();
    let revocations = Arc::new(MemoryRevocations::default());
    let h = handler(&keys, &clock, revocations.clone());
    let issued = issuer(&keys, &clock)
        .issue(&Principal::new("alice", AuthMethod::Jwt))
        .expect("token");
    let cx = AuthContext::http();
    let p = h.authorize_jwt(issued.expose(), &cx).await.expect("ok");
    assert_eq!(p.expect("mine").id, "alice");
    h.authorize_jwt(issued.expose(), &cx)
        .await
        .expect("cached, still ok");
    assert_eq!(h.validator().verified_cache().expect("on").len(), 1);

    revocations.revoke_jti(&issued.jti, issued.expires_at);
    assert!(matches!(
        h.authorize_jwt(issued.expose(), &cx).await,
        Err(AuthError::InvalidCredentials)
    ));
}

#[tokio::test]
async fn a_cached_token_is_refused_once_its_user_is_cut_off() {
    let (keys, clock) = setup();
    let revocations = Arc::new(MemoryRevocations::default());
    let h = handler(&keys, &clock, revocations.clone());
    let t = token(&keys, &clock);
    let cx = AuthContext::http();
    h.authorize_jwt(&t, &cx).await.expect("ok");
    revocations.revoke_user_tokens("alice", NOW);
    assert!(matches!(
        h.authorize_jwt(&t, &cx).await,
        Err(AuthError::InvalidCredentials)
    ));
}

#[tokio::test]
async fn the_handler_maps_a_cached_token_like_a_fresh_one() {
    let (keys, clock) = setup();
    let cached = handler(&keys, &clock, Arc::new(MemoryRevocations::default()));
    let plain =
        JwtHandler::new(keys.clone(), Validation::new()).with_clock(Arc::new(clock.clone()));
    let t = token(&keys, &clock);
    let cx = AuthContext::http();
    let want = plain
        .authorize_jwt(&t, &cx)
        .await
        .expect("ok")
        .expect("mine");
    for _ in 0..2 {
        let got = cached
            .authorize_jwt(&t, &cx)
            .await
            .expect("ok")
            .expect("mine");
        assert_eq!(got.id, want.id);
        assert_eq!(got.token_id, want.token_id);
        assert_eq!(got.expires_at, want.expires_at);
        assert_eq!(got.extra, want.extra);
    }
}

#[tokio::test]
async fn a_custom_claims_mapper_runs_for_every_cached_request() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (keys, clock) = setup();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let h = JwtHandler::new(keys.clone(), Validation::new())
        .with_clock(Arc::new(clock.clone()))
        .with_verified_cache(16)
        .with_mapper(move |claims: &Map<String, serde_json::Value>| {
            counted.fetch_add(1, Ordering::SeqCst);
            auth_core::jwt::DefaultClaimsMapper.map(claims)
        });
    let t = token(&keys, &clock);
    for _ in 0..3 {
        h.authorize_jwt(&t, &AuthContext::http()).await.expect("ok");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(h.validator().verified_cache().expect("on").len(), 1);
}

#[tokio::test]
async fn a_handler_remembers_verified_tokens_by_default_and_can_forget_none() {
    let (keys, clock) = setup();
    let t = token(&keys, &clock);
    let cx = AuthContext::http();

    let on = JwtHandler::new(keys.clone(), Validation::new()).with_clock(Arc::new(clock.clone()));
    let cache = on.validator().verified_cache().expect("on by default");
    assert_eq!(cache.capacity(), auth_core::jwt::DEFAULT_VERIFIED_CACHE);
    for _ in 0..3 {
        let p = on.authorize_jwt(&t, &cx).await.expect("ok").expect("mine");
        assert_eq!(p.id, "alice");
    }
    assert_eq!(cache.len(), 1);
    // Expiry still applies to the remembered token.
    clock.advance(12 * 60);
    assert!(matches!(
        on.authorize_jwt(&t, &cx).await,
        Err(AuthError::InvalidCredentials)
    ));

    let off = JwtHandler::new(keys, Validation::new())
        .with_clock(Arc::new(ManualClock::new(NOW)))
        .without_verified_cache();
    assert!(off.validator().verified_cache().is_none());
    assert!(off.authorize_jwt(&t, &cx).await.expect("ok").is_some());
}
