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

#[test]
fn an_expired_token_is_refused_past_the_leeway() {
    let v = hs_validator();
    let at = |exp: i64| {
        sign(
            &hs256(),
            header("HS256"),
            json!({"sub": "a", "iat": NOW - 3600, "exp": exp}),
        )
    };
    assert_eq!(rejection(&v, &at(NOW - 31)), JwtRejection::Expired);
    assert_eq!(rejection(&v, &at(NOW - 30)), JwtRejection::Expired);
    assert!(v.validate(&at(NOW - 29)).is_ok(), "within the 30 s leeway");
    let strict = validator(hs256(), Validation::new().leeway(0));
    assert_eq!(rejection(&strict, &at(NOW)), JwtRejection::Expired);
    assert!(strict.validate(&at(NOW + 1)).is_ok());
}

#[test]
fn expiry_follows_the_injected_clock() {
    let clock = ManualClock::new(NOW);
    let v = JwtValidator::new(KeySet::single(hs256()), Validation::new().leeway(0))
        .with_clock(Arc::new(clock.clone()));
    let token = sign(&hs256(), header("HS256"), claims());
    assert!(v.validate(&token).is_ok());
    clock.advance(600);
    assert_eq!(rejection(&v, &token), JwtRejection::Expired);
}

#[test]
fn a_token_not_yet_valid_is_refused() {
    let v = hs_validator();
    let nbf = |nbf: i64| {
        sign(
            &hs256(),
            header("HS256"),
            json!({"sub": "a", "nbf": nbf, "exp": NOW + 600}),
        )
    };
    assert_eq!(rejection(&v, &nbf(NOW + 31)), JwtRejection::NotYetValid);
    assert!(v.validate(&nbf(NOW + 30)).is_ok());
    let iat = sign(
        &hs256(),
        header("HS256"),
        json!({"sub": "a", "iat": NOW + 120, "exp": NOW + 600}),
    );
    assert_eq!(rejection(&v, &iat), JwtRejection::IssuedInFuture);
}

#[test]
fn a_lifetime_over_the_maximum_is_refused() {
    let v = hs_validator();
    let day = 24 * 3600;
    let long = sign(
        &hs256(),
        header("HS256"),
        json!({"sub": "a", "iat": NOW, "exp": NOW + 30 * day + 1}),
    );
    assert_eq!(rejection(&v, &long), JwtRejection::LifetimeTooLong);
    let max = sign(
        &hs256(),
        header("HS256"),
        json!({"sub": "a", "iat": NOW, "exp": NOW + 30 * day}),
    );
    assert!(v.validate(&max).is_ok());
    // Without iat the remaining lifetime counts.
    let no_iat = sign(
        &hs256(),
        header("HS256"),
        json!({"sub": "a", "exp": NOW + 31 * day}),
    );
    assert_eq!(rejection(&v, &no_iat), JwtRejection::LifetimeTooLong);
    // A backdated iat cannot hide a far exp.
    let backdated = sign(
        &hs256(),
        header("HS256"),
        json!({"sub": "a", "iat": NOW - 400 * day, "exp": NOW + 600}),
    );
    assert_eq!(rejection(&v, &backdated), JwtRejection::LifetimeTooLong);
    let custom = validator(hs256(), Validation::new().max_lifetime(Some(300)));
    assert_eq!(
        rejection(&custom, &sign(&hs256(), header("HS256"), claims())),
        JwtRejection::LifetimeTooLong
    );
}

#[test]
fn a_token_without_exp_is_refused_by_default() {
    let token = sign(&hs256(), header("HS256"), json!({"sub": "a", "iat": NOW}));
    assert_eq!(
        rejection(&hs_validator(), &token),
        JwtRejection::MissingClaim("exp".into())
    );
}

#[test]
fn numeric_dates_of_the_wrong_type_are_refused() {
    for (name, value) in [
        ("exp", json!("9999999999")),
        ("nbf", json!(true)),
        ("iat", json!([NOW])),
    ] {
        let mut c = claims();
        c[name] = value;
        let token = sign(&hs256(), header("HS256"), c);
        assert!(
            matches!(rejection(&hs_validator(), &token), JwtRejection::WrongClaimType(n) if n == name)
        );
    }
}

#[test]
fn missing_or_wrong_typed_aud_and_iss_are_refused() {
    let v = validator(
        hs256(),
        Validation::new()
            .audience("api")
            .issuer("https://issuer.test"),
    );
    let with = |extra: Value| {
        let mut c = claims();
        for (k, val) in extra.as_object().expect("object") {
            c[k] = val.clone();
        }
        sign(&hs256(), header("HS256"), c)
    };
    let ok = with(json!({"aud": "api", "iss": "https://issuer.test"}));
    assert!(v.validate(&ok).is_ok());
    let ok_list = with(json!({"aud": ["other", "api"], "iss": "https://issuer.test"}));
    assert!(v.validate(&ok_list).is_ok());

    let cases = [
        (
            json!({"iss": "https://issuer.test"}),
            JwtRejection::MissingClaim("aud".into()),
        ),
        (
            json!({"aud": "api"}),
            JwtRejection::MissingClaim("iss".into()),
        ),
        (
            json!({"aud": 42, "iss": "https://issuer.test"}),
            JwtRejection::WrongClaimType("aud"),
        ),
        (
            json!({"aud": {"api": true}, "iss": "https://issuer.test"}),
            JwtRejection::WrongClaimType("aud"),
        ),
        (
            json!({"aud": ["api", 5], "iss": "https://issuer.test"}),
            JwtRejection::WrongClaimType("aud"),
        ),
        (
            json!({"aud": "web", "iss": "https://issuer.test"}),
            JwtRejection::BadAudience,
        ),
        (
            json!({"aud": [], "iss": "https://issuer.test"}),
            JwtRejection::BadAudience,
        ),
        (
            json!({"aud": "api", "iss": ["https://issuer.test"]}),
            JwtRejection::WrongClaimType("iss"),
        ),
        (
            json!({"aud": "api", "iss": null}),
            JwtRejection::WrongClaimType("iss"),
        ),
        (
            json!({"aud": "api", "iss": "https://evil.test"}),
            JwtRejection::BadIssuer,
        ),
    ];
    for (extra, want) in cases {
        assert_eq!(rejection(&v, &with(extra.clone())), want, "{extra}");
    }

    // With nothing configured, wrong types are still refused, and a token
    // addressed to some audience is not for us.
    let bare = hs_validator();
    assert_eq!(
        rejection(&bare, &with(json!({"iss": 7}))),
        JwtRejection::WrongClaimType("iss")
    );
    assert_eq!(
        rejection(&bare, &with(json!({"aud": 7}))),
        JwtRejection::WrongClaimType("aud")
    );
    assert_eq!(
        rejection(&bare, &with(json!({"aud": "api"}))),
        JwtRejection::BadAudience
    );
    assert_eq!(
        rejection(&bare, &with(json!({"sub": 7}))),
        JwtRejection::WrongClaimType("sub")
    );
}

#[test]
fn a_tampered_payload_is_refused() {
    let token = sign(&hs256(), header("HS256"), claims());
    let parts: Vec<&str> = token.split('.').collect();
    let mut forged = claims();
    forged["sub"] = "admin".into();
    let tampered = format!("{}.{}.{}", parts[0], enc(&forged), parts[2]);
    assert_eq!(
        rejection(&hs_validator(), &tampered),
        JwtRejection::BadSignature
    );
    // Swapping the header for another that parses to the same fields.
    let same_fields = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"HS256"}"#);
    assert_ne!(same_fields, parts[0]);
    let tampered = format!("{same_fields}.{}.{}", parts[1], parts[2]);
    assert_eq!(
        rejection(&hs_validator(), &tampered),
        JwtRejection::BadSignature
    );
}

#[test]
fn a_tampered_signature_is_refused() {
    for (key, alg) in [(hs256(), "HS256"), (rsa(Algorithm::RS256), "RS256")] {
        let v = JwtValidator::new(KeySet::single(key), Validation::new())
            .with_clock(Arc::new(ManualClock::new(NOW)));
        let token = sign(v.keys().keys().next().expect("key"), header(alg), claims());
        let (signed, sig) = token.rsplit_once('.').expect("three parts");
        let mut bytes = URL_SAFE_NO_PAD.decode(sig).expect("b64");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let flipped = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(rejection(&v, &flipped), JwtRejection::BadSignature);
        let truncated = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(&bytes[..last]));
        assert_eq!(rejection(&v, &truncated), JwtRejection::BadSignature);
        let empty = format!("{signed}.");
        assert_eq!(rejection(&v, &empty), JwtRejection::BadSignature);
    }
}

#[test]
fn every_single_character_change_is_refused() {
    let v = hs_validator();
    let token = sign(&hs256(), header("HS256"), claims());
    let alphabet = ['A', 'f', '0', '-', '_', '.', '=', '+', '/', ' ', 'é'];
    for (i, original) in token.char_indices() {
        for c in alphabet.iter().copied().filter(|c| *c != original) {
            let mut t = String::with_capacity(token.len() + 2);
            t.push_str(&token[..i]);
            t.push(c);
            t.push_str(&token[i + original.len_utf8()..]);
            assert!(
                v.validate(&t).is_err(),
                "accepted a token changed at {i} to {c:?}"
            );
        }
    }
}

#[test]
fn malformed_base64_and_json_are_refused() {
    let v = hs_validator();
    let good = sign(&hs256(), header("HS256"), claims());
    let parts: Vec<&str> = good.split('.').collect();
    let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    let cases = [
        format!("!!!.{}.{}", parts[1], parts[2]),
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}", b64(b"not json"), parts[1], parts[2]),
        format!("{}.{}.{}", b64(b"[\"alg\",\"HS256\"]"), parts[1], parts[2]),
        format!(
            "{}.{}.{}",
            b64(b"{\"alg\":\"HS256\",\"kid\":7}"),
            parts[1],
            parts[2]
        ),
        format!("{}.{}.{}", parts[0], parts[1], "a+b/c=="),
        String::new(),
        "..".into(),
        "eyJ.eyJ.".into(),
    ];
    for token in &cases {
        assert!(
            matches!(rejection(&v, token), JwtRejection::Malformed(_)),
            "{token:?}"
        );
    }
    // A correctly signed payload that is not a JSON object.
    for payload in [&b"[1,2]"[..], b"\"alice\"", b"{\"sub\":", b"\xff\xfe"] {
        let signing_input = format!("{}.{}", parts[0], b64(payload));
        let sig = hs256().sign(signing_input.as_bytes()).expect("sign");
        let token = format!("{signing_input}.{}", b64(&sig));
        assert!(
            matches!(rejection(&v, &token), JwtRejection::Malformed(_)),
            "{payload:?}"
        );
    }
}

#[test]
fn extra_or_missing_segments_are_refused() {
    let v = hs_validator();
    let good = sign(&hs256(), header("HS256"), claims());
    for token in [
        format!("{good}.x"),
        format!("{good}."),
        format!("{good}.a.b"), // JWE compact form has five parts
        good.rsplit_once('.').expect("parts").0.to_owned(),
    ] {
        assert_eq!(
            rejection(&v, &token),
            JwtRejection::Malformed("not three segments"),
            "{token}"
        );
    }
}

#[test]
fn a_token_over_the_length_limit_is_refused() {
    let mut c = claims();
    c["pad"] = "x".repeat(9000).into();
    let token = sign(&hs256(), header("HS256"), c);
    assert_eq!(rejection(&hs_validator(), &token), JwtRejection::TooLong);
    let roomy = validator(hs256(), Validation::new().max_token_len(16 * 1024));
    assert!(roomy.validate(&token).is_ok());
}

#[test]
fn a_short_hmac_key_fails_at_load() {
    for (alg, min) in [
        (Algorithm::HS256, 32),
        (Algorithm::HS384, 48),
        (Algorithm::HS512, 64),
    ] {
        let short = vec![1u8; min - 1];
        assert_eq!(
            JwtKey::hmac(alg, &short).expect_err("too short"),
            KeyError::ShortSecret {
                alg,
                min,
                got: min - 1
            }
        );
        let exactly_min: Vec<u8> = (0u8..).take(min).collect();
        assert!(JwtKey::hmac(alg, &exactly_min).is_ok());
    }
    let jwk = json!({"kty": "oct", "alg": "HS256", "k": URL_SAFE_NO_PAD.encode([1u8; 16])});
    assert!(matches!(
        JwtKey::from_jwk(&jwk),
        Err(KeyError::ShortSecret { .. })
    ));
}

#[test]
fn a_well_known_hmac_secret_fails_at_load_even_repeated_to_length() {
    for secret in [
        "secretsecretsecretsecretsecretse",
        "SECRET-SECRET-SECRET-SECRET-SECRET",
        "your-256-bit-secretyour-256-bit-secret",
        "a-string-secret-at-least-256-bits-long",
        "JWT_SECRET_JWT_SECRET_JWT_SECRET_JWT",
        "supersecret.supersecret.supersecret",
        "changemechangemechangemechangeme",
        "meow_jwtmeow_jwtmeow_jwtmeow_jwt",
        "keyboard cat keyboard cat keyboard cat",
        "404E635266556A586E3272357538782F413F4428472B4B6250645367566B5970",
    ] {
        assert_eq!(
            JwtKey::hmac(Algorithm::HS256, secret.as_bytes()).expect_err(secret),
            KeyError::WeakSecret("a well-known default secret"),
            "{secret}"
        );
    }
    // As a JWK too.
    let jwk =
        json!({"kty": "oct", "alg": "HS256", "k": URL_SAFE_NO_PAD.encode("secret".repeat(6))});
    assert!(matches!(
        JwtKey::from_jwk(&jwk),
        Err(KeyError::WeakSecret(_))
    ));
}

#[test]
fn a_placeholder_hmac_secret_fails_at_load() {
    for secret in [
        "please-change-me-to-a-long-random-string",
        "REPLACE_ME_WITH_THE_SECRET_OF_PRODUCTION",
        "put-your-secret-here-it-must-be-long-enough",
    ] {
        assert_eq!(
            JwtKey::hmac(Algorithm::HS256, secret.as_bytes()).expect_err(secret),
            KeyError::WeakSecret("a placeholder never replaced"),
            "{secret}"
        );
    }
}

#[test]
fn an_hmac_secret_repeating_one_character_or_a_short_pattern_fails_at_load() {
    let random_half: Vec<u8> = (0u8..32).map(|i| i.wrapping_mul(73) ^ 0x5c).collect();
    for (alg, secret) in [
        (Algorithm::HS256, vec![0u8; 32]),
        (Algorithm::HS256, vec![b'x'; 40]),
        (Algorithm::HS512, vec![7u8; 64]),
        (Algorithm::HS256, b"ab".repeat(16)),
        (Algorithm::HS256, b"0123456789abcdef".repeat(2)),
        (Algorithm::HS384, b"Tr0ub4dor&3-".repeat(5)),
        // Random bytes, but only half as many as HS512 needs, twice.
        (Algorithm::HS512, random_half.repeat(2)),
    ] {
        assert_eq!(
            JwtKey::hmac(alg, &secret).expect_err("repeated"),
            KeyError::WeakSecret("a short pattern repeated"),
            "{alg} {secret:?}"
        );
    }
    assert_eq!(
        JwtKey::hmac(Algorithm::HS256, b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab").expect_err("weak"),
        KeyError::WeakSecret("made of too few distinct characters")
    );
}

#[test]
fn a_weak_secret_error_says_how_to_make_one_and_never_shows_it() {
    let secret = "supersecretsupersecretsupersecret";
    let msg = JwtKey::hmac(Algorithm::HS256, secret.as_bytes())
        .expect_err("weak")
        .to_string();
    assert!(msg.contains("openssl rand -base64 48"), "{msg}");
    assert!(!msg.contains("supersecret"), "{msg}");
}

#[test]
fn random_hmac_secrets_load() {
    // What `openssl rand` and a random generator give: raw bytes, base64
    // and hex, at each algorithm's minimum length.
    for _ in 0..2_000 {
        for (alg, len) in [
            (Algorithm::HS256, 32),
            (Algorithm::HS384, 48),
            (Algorithm::HS512, 64),
        ] {
            let mut raw = vec![0u8; len];
            aws_lc_rs::rand::fill(&mut raw).expect("random");
            assert!(JwtKey::hmac(alg, &raw).is_ok(), "{raw:?}");
            let b64 = base64::engine::general_purpose::STANDARD.encode(&raw);
            assert!(JwtKey::hmac(alg, b64.as_bytes()).is_ok(), "{b64}");
            let hex: String = raw[..len / 2].iter().map(|b| format!("{b:02x}")).collect();
            assert!(JwtKey::hmac(alg, hex.as_bytes()).is_ok(), "{hex}");
        }
    }
}

#[test]
fn a_1024_bit_rsa_key_fails_at_load() {
    for alg in [Algorithm::RS256, Algorithm::PS512] {
        assert_eq!(
            JwtKey::from_public_pem(alg, &pem("rsa1024.pub.pem")).expect_err("weak"),
            KeyError::WeakRsa(Some(1024))
        );
        assert_eq!(
            JwtKey::from_private_pem(alg, &pem("rsa1024.pem")).expect_err("weak"),
            KeyError::WeakRsa(None)
        );
    }
    let weak = JwtKey::from_public_pem(Algorithm::RS256, &pem("rsa2048.pub.pem"))
        .expect("key")
        .public_jwk()
        .expect("jwk");
    let mut n = URL_SAFE_NO_PAD
        .decode(weak["n"].as_str().expect("n"))
        .expect("b64");
    n.truncate(128);
    let jwk = json!({"kty": "RSA", "alg": "RS256", "n": URL_SAFE_NO_PAD.encode(&n), "e": "AQAB"});
    assert_eq!(
        JwtKey::from_jwk(&jwk).expect_err("weak"),
        KeyError::WeakRsa(Some(1024))
    );
}

#[test]
fn malformed_asymmetric_keys_fail_at_load_without_panicking() {
    let x = |len: usize| URL_SAFE_NO_PAD.encode(vec![9u8; len]);
    let bad = [
        json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "x": x(31)}),
        json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "x": x(0)}),
        json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "x": x(33)}),
        json!({"kty": "OKP", "crv": "Ed448", "alg": "EdDSA", "x": x(57)}),
        json!({"kty": "EC", "crv": "P-384", "alg": "ES256", "x": x(48), "y": x(48)}),
        json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "x": x(32), "y": x(32)}),
        json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "x": x(31), "y": x(32)}),
        json!({"kty": "RSA", "alg": "RS256", "n": "", "e": "AQAB"}),
        json!({"kty": "RSA", "alg": "RS256", "n": "!!", "e": "AQAB"}),
        json!({"kty": "RSA", "alg": "ES256", "n": x(256), "e": "AQAB"}),
        json!({"kty": "oct", "alg": "RS256", "k": x(64)}),
        json!({"kty": "oct", "alg": "none", "k": x(64)}),
        json!({"kty": "oct", "k": x(64)}),
        json!({"kty": "oct", "alg": "HS256", "k": x(64), "use": "enc"}),
        json!({"kty": "oct", "alg": "HS256", "k": x(64), "key_ops": ["sign"]}),
        json!("not an object"),
    ];
    for jwk in bad {
        assert!(JwtKey::from_jwk(&jwk).is_err(), "{jwk}");
    }
    assert!(JwtKey::from_public_pem(Algorithm::ES256, &pem("p384.pub.pem")).is_err());
    assert!(JwtKey::from_public_pem(Algorithm::EdDSA, &pem("p256.pub.pem")).is_err());
    assert!(JwtKey::from_public_pem(Algorithm::HS256, &pem("rsa2048.pub.pem")).is_err());
    assert!(
        JwtKey::from_public_pem(
            Algorithm::RS256,
            b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
        )
        .is_err()
    );
    assert!(JwtKey::from_private_pem(Algorithm::ES256, &pem("rsa2048.pem")).is_err());
    assert!(JwtKey::from_private_pem(Algorithm::RS256, &pem("rsa2048.pub.pem")).is_err());
}

fn signing_key(alg: Algorithm) -> JwtKey {
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            JwtKey::hmac(alg, SECRET_64).expect("hmac")
        }
        Algorithm::ES256 => JwtKey::from_private_pem(alg, &pem("p256.pem")).expect("p256"),
        Algorithm::ES384 => JwtKey::from_private_pem(alg, &pem("p384.pem")).expect("p384"),
        Algorithm::EdDSA => JwtKey::from_private_pem(alg, &pem("ed25519.pem")).expect("ed25519"),
        _ => rsa(alg),
    }
}

fn verifying_key(alg: Algorithm) -> JwtKey {
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            JwtKey::hmac(alg, SECRET_64).expect("hmac")
        }
        Algorithm::ES256 => JwtKey::from_public_pem(alg, &pem("p256.pub.pem")).expect("p256"),
        Algorithm::ES384 => JwtKey::from_public_pem(alg, &pem("p384.pub.pem")).expect("p384"),
        Algorithm::EdDSA => JwtKey::from_public_pem(alg, &pem("ed25519.pub.pem")).expect("ed25519"),
        _ => rsa_public(alg),
    }
}

#[test]
fn a_valid_token_for_each_algorithm_is_accepted() {
    let principal =
        Principal::new("alice", AuthMethod::Basic).with_permissions(PermissionSet::base());
    for alg in Algorithm::ALL {
        let issuer = TokenIssuer::new(
            Arc::new(KeySet::single(signing_key(alg).with_kid("k"))),
            None,
        )
        .expect("signing key")
        .with_clock(Arc::new(ManualClock::new(NOW)));
        let token = issuer.issue(&principal).expect("issued");
        let v = JwtValidator::new(
            KeySet::single(verifying_key(alg).with_kid("k")),
            Validation::new(),
        )
        .with_clock(Arc::new(ManualClock::new(NOW)));
        let valid = v
            .validate(token.expose())
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(valid.claims["sub"], "alice", "{alg}");
        assert_eq!(valid.kid.as_deref(), Some("k"));
        // And a verification key built from the published JWK works too.
        if let Some(jwk) = signing_key(alg).with_kid("k").public_jwk() {
            let from_jwk = JwtKey::from_jwk(&jwk).unwrap_or_else(|e| panic!("{alg}: {e}"));
            let v = JwtValidator::new(KeySet::single(from_jwk), Validation::new())
                .with_clock(Arc::new(ManualClock::new(NOW)));
            if let Err(e) = v.validate(token.expose()) {
                panic!("{alg} via JWK {jwk}: {e}");
            }
        }
    }
}

#[test]
fn tokens_interoperate_with_jsonwebtoken_both_ways() {
    use jsonwebtoken as jwt;
    let now = jwt::get_current_timestamp() as i64;
    let cases: [(
        Algorithm,
        jwt::Algorithm,
        jwt::EncodingKey,
        jwt::DecodingKey,
    ); 4] = [
        (
            Algorithm::HS256,
            jwt::Algorithm::HS256,
            jwt::EncodingKey::from_secret(SECRET_64),
            jwt::DecodingKey::from_secret(SECRET_64),
        ),
        (
            Algorithm::RS256,
            jwt::Algorithm::RS256,
            jwt::EncodingKey::from_rsa_pem(&pem("rsa2048.pem")).expect("pem"),
            jwt::DecodingKey::from_rsa_pem(&pem("rsa2048.pub.pem")).expect("pem"),
        ),
        (
            Algorithm::ES256,
            jwt::Algorithm::ES256,
            jwt::EncodingKey::from_ec_pem(&pem("p256.pem")).expect("pem"),
            jwt::DecodingKey::from_ec_pem(&pem("p256.pub.pem")).expect("pem"),
        ),
        (
            Algorithm::EdDSA,
            jwt::Algorithm::EdDSA,
            jwt::EncodingKey::from_ed_pem(&pem("ed25519.pem")).expect("pem"),
            jwt::DecodingKey::from_ed_pem(&pem("ed25519.pub.pem")).expect("pem"),
        ),
    ];
    for (ours, theirs, enc_key, dec_key) in cases {
        let c = json!({"sub": "bob", "iat": now, "exp": now + 600});
        let minted_by_them = jwt::encode(&jwt::Header::new(theirs), &c, &enc_key).expect("encode");
        let v = JwtValidator::new(KeySet::single(verifying_key(ours)), Validation::new());
        assert!(
            v.validate(&minted_by_them).is_ok(),
            "{ours}: theirs -> ours"
        );

        let minted_by_us = sign(&signing_key(ours), header(ours.name()), c);
        let mut validation = jwt::Validation::new(theirs);
        validation.validate_aud = false;
        jwt::decode::<Value>(&minted_by_us, &dec_key, &validation)
            .unwrap_or_else(|e| panic!("{ours}: ours -> theirs: {e}"));
    }
}

#[test]
fn other_private_key_formats_load() {
    let pkcs1 =
        JwtKey::from_private_pem(Algorithm::RS256, &pem("rsa2048.pkcs1.pem")).expect("PKCS#1");
    let sec1 = JwtKey::from_private_pem(Algorithm::ES256, &pem("p256.sec1.pem")).expect("SEC1");
    for (key, pubkey, alg) in [
        (pkcs1, rsa_public(Algorithm::RS256), "RS256"),
        (sec1, verifying_key(Algorithm::ES256), "ES256"),
    ] {
        let token = sign(&key, header(alg), claims());
        assert!(
            validator(pubkey, Validation::new())
                .validate(&token)
                .is_ok(),
            "{alg}"
        );
    }
    let verify_only = rsa_public(Algorithm::RS256);
    assert!(!verify_only.can_sign());
    assert_eq!(
        verify_only.sign(b"x").expect_err("cannot sign"),
        KeyError::VerifyOnly
    );
}

#[test]
fn expected_typ_is_enforced_when_configured() {
    let v = validator(hs256(), Validation::new().typ("at+jwt"));
    let with_typ = |typ: Value| sign(&hs256(), json!({"alg": "HS256", "typ": typ}), claims());
    assert!(v.validate(&with_typ("at+jwt".into())).is_ok());
    assert!(v.validate(&with_typ("application/AT+JWT".into())).is_ok());
    assert_eq!(
        rejection(&v, &with_typ("JWT".into())),
        JwtRejection::BadType
    );
    assert_eq!(
        rejection(&v, &sign(&hs256(), json!({"alg": "HS256"}), claims())),
        JwtRejection::BadType
    );
}

#[test]
fn key_rotation_selects_the_key_by_kid() {
    let old = JwtKey::hmac(Algorithm::HS256, b"the-2024-hmac-key-of-the-rotation-test")
        .expect("key")
        .with_kid("2024");
    let new = JwtKey::hmac(Algorithm::HS256, b"the-2025-hmac-key-of-the-rotation-test")
        .expect("key")
        .with_kid("2025");
    let keys = KeySet::new().with(old).with(new);
    let v = JwtValidator::new(keys.clone(), Validation::new())
        .with_clock(Arc::new(ManualClock::new(NOW)));
    for kid in ["2024", "2025"] {
        let signer = keys.select(Some(kid)).expect("key");
        let token = sign(signer, json!({"alg": "HS256", "kid": kid}), claims());
        assert!(v.validate(&token).is_ok(), "{kid}");
        // Signed by one key but naming the other: refused.
        let other = if kid == "2024" { "2025" } else { "2024" };
        let token = sign(signer, json!({"alg": "HS256", "kid": other}), claims());
        assert_eq!(rejection(&v, &token), JwtRejection::BadSignature);
    }
    // Two keys and no kid: no key is guessed.
    let token = sign(
        keys.select(Some("2025")).expect("key"),
        header("HS256"),
        claims(),
    );
    assert_eq!(rejection(&v, &token), JwtRejection::UnknownKey);
}

#[test]
fn every_jwt_failure_gives_the_same_outward_error() {
    let handler = JwtHandler::new(KeySet::single(hs256()), Validation::new().audience("api"))
        .with_clock(Arc::new(ManualClock::new(NOW)));
    let good = |c: Value| sign(&hs256(), header("HS256"), c);
    let tokens = [
        raw(&header("none"), &claims(), ""),
        good(json!({"sub": "a", "aud": "api", "exp": NOW - 100})),
        good(json!({"sub": "a", "aud": "web", "exp": NOW + 100})),
        good(json!({"sub": "a", "exp": NOW + 100})),
        format!(
            "{}x",
            good(json!({"sub": "a", "aud": "api", "exp": NOW + 100}))
        ),
        sign(&hs256(), json!({"alg": "HS256", "crit": ["x"]}), claims()),
        // Valid token, but the claims map to no principal (no sub).
        good(json!({"aud": "api", "exp": NOW + 100})),
        good(json!({"sub": "a", "aud": "api", "exp": NOW + 100, "roles": "admin"})),
    ];
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    for token in tokens {
        let outcome = rt
            .block_on(handler.authorize(&Credential::bearer(token.clone()), &AuthContext::http()));
        assert_eq!(
            outcome.expect_err("refused"),
            AuthError::InvalidCredentials,
            "{token}"
        );
    }
    let ok = good(
        json!({"sub": "a", "aud": "api", "exp": NOW + 100, "scope": "conversation:read openid"}),
    );
    let p = rt
        .block_on(handler.authorize(&Credential::bearer(ok), &AuthContext::http()))
        .expect("ok")
        .expect("principal");
    assert!(p.has_scope("conversation:read") && p.has_scope("openid"));
}

#[test]
fn keys_never_show_secret_material_in_debug() {
    let dbg = format!("{:?} {:?}", hs256(), KeySet::single(rsa(Algorithm::RS256)));
    assert!(!dbg.contains("super-secret"), "{dbg}");
    assert!(!dbg.contains(&URL_SAFE_NO_PAD.encode(SECRET)), "{dbg}");
    let issued = TokenIssuer::new(Arc::new(KeySet::single(hs256())), None)
        .expect("issuer")
        .issue(&Principal::new("a", AuthMethod::Basic))
        .expect("token");
    assert!(!format!("{issued:?}").contains(issued.expose()));
    // HMAC keys are never published.
    assert_eq!(KeySet::single(hs256()).to_jwks(), json!({"keys": []}));
}

#[test]
fn issued_tokens_carry_the_documented_claims() {
    let issuer = TokenIssuer::new(Arc::new(KeySet::single(hs256().with_kid("main"))), None)
        .expect("issuer")
        .issuer("me")
        .audience("api")
        .lifetime_minutes(10)
        .with_clock(Arc::new(ManualClock::new(NOW)));
    let p = Principal::new("42", AuthMethod::Basic)
        .with_name("alice")
        .with_role("editor")
        .with_permissions(PermissionSet::base());
    let token = issuer.issue(&p).expect("token");
    assert_eq!(token.expires_in(), 600);
    let v = validator(
        hs256().with_kid("main"),
        Validation::new().issuer("me").audience("api"),
    );
    let c = v.validate(token.expose()).expect("valid").claims;
    assert_eq!(c["sub"], "42");
    assert_eq!(c["username"], "alice");
    assert_eq!(c["roles"], json!(["editor"]));
    assert_eq!(
        c["permissions"]["CONVERSATION"].as_array().map(Vec::len),
        Some(5)
    );
    assert_eq!(c["iat"], NOW);
    assert_eq!(c["exp"], NOW + 600);
    assert_eq!(c["iss"], "me");
    assert_eq!(c["aud"], "api");
    assert_eq!(c["jti"], token.jti.as_str());
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.expose().split('.').next().expect("header"))
            .expect("b64"),
    )
    .expect("json");
    assert_eq!(header, json!({"alg": "HS256", "typ": "JWT", "kid": "main"}));
    // Default lifetime is 1440 minutes, and each token has its own jti.
    let default = TokenIssuer::new(Arc::new(KeySet::single(hs256())), None).expect("issuer");
    let (a, b) = (default.issue(&p).expect("a"), default.issue(&p).expect("b"));
    assert_eq!(a.expires_in(), 1440 * 60);
    assert_ne!(a.jti, b.jti);
}

#[test]
fn rsa_exponents_below_3_or_even_and_private_jwks_fail_at_load() {
    let public = rsa_public(Algorithm::RS256).public_jwk().expect("jwk");
    assert!(JwtKey::from_jwk(&public).is_ok());
    for e in ["AQ", "Ag", "AAE", "AQAA", ""] {
        let mut jwk = public.clone();
        jwk["e"] = e.into();
        assert!(
            matches!(JwtKey::from_jwk(&jwk), Err(KeyError::Invalid(ref m)) if m.contains("exponent")),
            "e = {e:?}"
        );
    }
    let mut with_private = signing_key(Algorithm::ES256).public_jwk().expect("jwk");
    assert!(JwtKey::from_jwk(&with_private).is_ok());
    with_private["d"] = URL_SAFE_NO_PAD.encode([5u8; 32]).into();
    assert!(
        matches!(JwtKey::from_jwk(&with_private), Err(KeyError::Invalid(ref m)) if m.contains("private"))
    );
}
