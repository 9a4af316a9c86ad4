//! The JWT engine against the attacks and mistakes it must refuse, and the
//! algorithms it must accept.

use std::sync::Arc;

use auth_core::clock::ManualClock;
use auth_core::jwt::{
    Algorithm, JwtHandler, JwtKey, JwtRejection, JwtValidator, KeyError, KeySet, TokenIssuer,
    Validation, sign_compact,
};
use auth_core::{
    AuthContext, AuthError, AuthHandler, AuthMethod, Credential, PermissionSet, Principal,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

mod claims;
mod keys;

const NOW: i64 = 1_750_000_000;
const SECRET: &[u8] = b"super-secret-hmac-key-material-0123456789";
/// A 64-byte secret, long enough for every HMAC algorithm.
const SECRET_64: &[u8] = b"hmac-key-material-long-enough-for-HS512-as-well:7f3a9c0e5b1d2468";

fn pem(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn hs256() -> JwtKey {
    JwtKey::hmac(Algorithm::HS256, SECRET).expect("valid HMAC key")
}

fn rsa(alg: Algorithm) -> JwtKey {
    JwtKey::from_private_pem(alg, &pem("rsa2048.pem")).expect("valid RSA key")
}

fn rsa_public(alg: Algorithm) -> JwtKey {
    JwtKey::from_public_pem(alg, &pem("rsa2048.pub.pem")).expect("valid RSA public key")
}

fn validator(key: JwtKey, validation: Validation) -> JwtValidator {
    JwtValidator::new(KeySet::single(key), validation).with_clock(Arc::new(ManualClock::new(NOW)))
}

fn claims() -> Value {
    json!({"sub": "alice", "iat": NOW, "exp": NOW + 600})
}

fn header(alg: &str) -> Value {
    json!({"alg": alg, "typ": "JWT"})
}

fn sign(key: &JwtKey, header: Value, claims: Value) -> String {
    sign_compact(key, &header, &claims).expect("signs")
}

fn enc(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).expect("json"))
}

/// A token assembled by hand, with any signature text.
fn raw(header: &Value, claims: &Value, sig: &str) -> String {
    format!("{}.{}.{sig}", enc(header), enc(claims))
}

/// A token signed with HMAC-SHA256 under `secret`, which no `JwtKey` need
/// accept.
fn forge_hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", enc(header), enc(claims));
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// A token whose header and claims are these very JSON texts, signed by `key`.
fn sign_text(key: &JwtKey, header: &str, claims: &str) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let sig = key.sign(input.as_bytes()).expect("signs");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn hs_validator() -> JwtValidator {
    validator(hs256(), Validation::new())
}

fn rejection(v: &JwtValidator, token: &str) -> JwtRejection {
    v.validate(token).expect_err("token must be refused")
}

#[test]
fn a_well_formed_token_is_accepted() {
    let token = sign(&hs256(), header("HS256"), claims());
    let valid = hs_validator().validate(&token).expect("accepted");
    assert_eq!(valid.claims["sub"], "alice");
}

#[test]
fn alg_none_in_every_spelling_is_refused() {
    let v = hs_validator();
    let real = sign(&hs256(), header("HS256"), claims());
    let real_sig = real.rsplit('.').next().expect("signature");
    for alg in ["none", "None", "NONE", "nOnE"] {
        for sig in ["", real_sig] {
            let token = raw(&header(alg), &claims(), sig);
            assert_eq!(
                rejection(&v, &token),
                JwtRejection::AlgNone,
                "{alg} with {sig:?}"
            );
        }
    }
    // Not a string, or absent: refused as malformed, not treated as none.
    for h in [
        json!({"alg": null}),
        json!({"alg": 0}),
        json!({"typ": "JWT"}),
    ] {
        assert!(matches!(
            rejection(&v, &raw(&h, &claims(), "")),
            JwtRejection::Malformed(_)
        ));
    }
}

#[test]
fn a_token_whose_header_repeats_a_member_is_refused() {
    // Signed and otherwise valid: a reader keeping the first `alg` sees an
    // unsigned token, one keeping the last an HS256 one.
    let v = hs_validator();
    let claims = r#"{"sub":"alice","iat":1750000000,"exp":1750000600}"#;
    assert!(
        v.validate(&sign_text(&hs256(), r#"{"alg":"HS256"}"#, claims))
            .is_ok()
    );
    for header in [
        r#"{"alg":"none","alg":"HS256"}"#,
        r#"{"alg":"HS256","alg":"HS256"}"#,
        r#"{"alg":"HS256","\u0061lg":"HS256"}"#,
        r#"{"alg":"HS256","typ":"JWT","typ":"JWT"}"#,
        r#"{"alg":"HS256","kid":null,"kid":null}"#,
        r#"{"alg":"HS256","x5t":"a","x5t":"b"}"#,
    ] {
        let token = sign_text(&hs256(), header, claims);
        assert_eq!(
            rejection(&v, &token),
            JwtRejection::RepeatedName,
            "{header}"
        );
    }
}

#[test]
fn a_token_whose_claims_repeat_a_key_is_refused() {
    let v = validator(hs256(), Validation::new().audience("api"));
    let header = r#"{"alg":"HS256","typ":"JWT"}"#;
    let ok = r#"{"sub":"alice","aud":"api","iat":1750000000,"exp":1750000600}"#;
    assert!(v.validate(&sign_text(&hs256(), header, ok)).is_ok());
    for claims in [
        r#"{"sub":"alice","sub":"admin","aud":"api","iat":1750000000,"exp":1750000600}"#,
        r#"{"sub":"alice","aud":"api","iat":1750000000,"exp":1750000600,"exp":1750000600}"#,
        r#"{"sub":"alice","aud":"other","aud":"api","iat":1750000000,"exp":1750000600}"#,
        r#"{"sub":"alice","aud":"api","iat":1750000000,"exp":1750000600,
            "permissions":{"CONVERSATION":["READ"],"CONVERSATION":["ADMIN"]}}"#,
    ] {
        let token = sign_text(&hs256(), header, claims);
        assert_eq!(
            rejection(&v, &token),
            JwtRejection::RepeatedName,
            "{claims}"
        );
    }
}

#[test]
fn a_repeated_name_is_the_same_401_as_any_invalid_token_and_never_cached() {
    let handler = JwtHandler::new(KeySet::single(hs256()), Validation::new())
        .with_clock(Arc::new(ManualClock::new(NOW)));
    let header = r#"{"alg":"HS256"}"#;
    let repeated = sign_text(
        &hs256(),
        header,
        r#"{"sub":"alice","sub":"admin","iat":1750000000,"exp":1750000600}"#,
    );
    let mut bad_signature = sign_text(
        &hs256(),
        header,
        r#"{"sub":"alice","iat":1750000000,"exp":1750000600}"#,
    );
    bad_signature.push('A');
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    for token in [&repeated, &repeated, &bad_signature] {
        let outcome = rt
            .block_on(handler.authorize(&Credential::bearer(token.clone()), &AuthContext::http()));
        assert_eq!(
            outcome.expect_err("refused"),
            AuthError::InvalidCredentials,
            "{token}"
        );
    }
    let cache = handler.validator().verified_cache().expect("on by default");
    assert!(cache.is_empty());
}

#[test]
fn hs256_token_signed_with_the_rsa_public_key_as_hmac_secret_is_refused() {
    // The classic algorithm confusion: the attacker knows the public key and
    // uses its bytes as an HMAC secret.
    let public_pem = pem("rsa2048.pub.pem");
    let forger =
        JwtKey::hmac(Algorithm::HS256, &public_pem).expect("long enough to be an HMAC key");
    let token = sign(&forger, header("HS256"), claims());
    let v = validator(rsa_public(Algorithm::RS256), Validation::new());
    assert_eq!(rejection(&v, &token), JwtRejection::AlgorithmMismatch);
    // The same with the DER bytes and with a kid naming the RSA key.
    let v = JwtValidator::new(
        KeySet::single(rsa_public(Algorithm::RS256).with_kid("rsa")),
        Validation::new(),
    )
    .with_clock(Arc::new(ManualClock::new(NOW)));
    let der = pem::parse(&public_pem).expect("pem").into_contents();
    let forger = JwtKey::hmac(Algorithm::HS256, &der).expect("long enough");
    let token = sign(&forger, json!({"alg": "HS256", "kid": "rsa"}), claims());
    assert_eq!(rejection(&v, &token), JwtRejection::AlgorithmMismatch);
}

#[test]
fn a_header_naming_another_algorithm_of_the_key_family_is_refused() {
    // One RSA key, pinned to RS256: a PS256 signature by the same private key
    // is refused, though the key material would verify it.
    let v = validator(rsa_public(Algorithm::RS256), Validation::new());
    let token = sign(&rsa(Algorithm::PS256), header("PS256"), claims());
    assert_eq!(rejection(&v, &token), JwtRejection::AlgorithmMismatch);
    let token = sign(&rsa(Algorithm::RS512), header("RS512"), claims());
    assert_eq!(rejection(&v, &token), JwtRejection::AlgorithmMismatch);
    // HMAC: an HS512 token for an HS256 key.
    let hs512 = JwtKey::hmac(Algorithm::HS512, SECRET_64).expect("key");
    let token = sign(&hs512, header("HS512"), claims());
    assert_eq!(
        rejection(&hs_validator(), &token),
        JwtRejection::AlgorithmMismatch
    );
    // A token whose header lies about the algorithm it was signed with.
    let token = sign(&hs256(), header("HS384"), claims());
    assert_eq!(
        rejection(&hs_validator(), &token),
        JwtRejection::AlgorithmMismatch
    );
}

#[test]
fn an_unknown_kid_is_refused() {
    let v = JwtValidator::new(KeySet::single(hs256().with_kid("k1")), Validation::new())
        .with_clock(Arc::new(ManualClock::new(NOW)));
    let token = sign(&hs256(), json!({"alg": "HS256", "kid": "k2"}), claims());
    assert_eq!(rejection(&v, &token), JwtRejection::UnknownKey);
    let token = sign(&hs256(), json!({"alg": "HS256", "kid": "k1"}), claims());
    assert!(v.validate(&token).is_ok());
}

#[test]
fn kid_with_path_or_sql_content_is_only_a_lookup_key() {
    let v = JwtValidator::new(KeySet::single(hs256().with_kid("k1")), Validation::new())
        .with_clock(Arc::new(ManualClock::new(NOW)));
    // The attacks that work where kid reaches a file path or a query: an
    // empty secret (/dev/null) or one the attacker chose. No key of ours
    // holds such a secret, so the forger signs with HMAC directly.
    for kid in [
        "../../../../dev/null",
        "/dev/null",
        "' OR '1'='1",
        "k1' --",
        "k1\0",
        "k1/../k1",
        "K1",
    ] {
        let token = forge_hs256(&[0u8; 32], &json!({"alg": "HS256", "kid": kid}), &claims());
        assert_eq!(rejection(&v, &token), JwtRejection::UnknownKey, "{kid:?}");
    }
}

#[test]
fn a_10kb_kid_is_refused_before_decoding() {
    let kid = "k".repeat(10 * 1024);
    let token = sign(&hs256(), json!({"alg": "HS256", "kid": kid}), claims());
    assert_eq!(rejection(&hs_validator(), &token), JwtRejection::TooLong);
    // With the token cap raised, the header cap still stops it.
    let v = validator(hs256(), Validation::new().max_token_len(64 * 1024));
    assert_eq!(rejection(&v, &token), JwtRejection::HeaderTooLong);
}

#[test]
fn jku_x5u_and_embedded_jwk_headers_are_never_fetched_or_trusted() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let url = format!("http://{}/jwks.json", listener.local_addr().expect("addr"));

    let attacker =
        JwtKey::from_private_pem(Algorithm::RS256, &pem("rsa2048-other.pem")).expect("key");
    let attacker_jwk = attacker.public_jwk().expect("public jwk");
    let v = validator(rsa_public(Algorithm::RS256), Validation::new());
    let headers = [
        json!({"alg": "RS256", "jku": url}),
        json!({"alg": "RS256", "x5u": url}),
        json!({"alg": "RS256", "jwk": attacker_jwk}),
        json!({"alg": "RS256", "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]}),
    ];
    for h in headers {
        let token = sign(&attacker, h.clone(), claims());
        assert_eq!(rejection(&v, &token), JwtRejection::BadSignature, "{h}");
    }
    // Our own key still verifies a token carrying such headers: they are
    // ignored, not acted upon.
    let ours = sign(
        &rsa(Algorithm::RS256),
        json!({"alg": "RS256", "jku": url}),
        claims(),
    );
    assert!(v.validate(&ours).is_ok());
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the validator connected to the jku/x5u URL: {other:?}"),
    }
}

#[test]
fn a_crit_header_is_refused() {
    for crit in [json!(["exp"]), json!(["b64"]), json!([]), json!("x")] {
        let token = sign(
            &hs256(),
            json!({"alg": "HS256", "crit": crit, "b64": false}),
            claims(),
        );
        assert_eq!(
            rejection(&hs_validator(), &token),
            JwtRejection::CriticalHeader,
            "{crit}"
        );
    }
}
