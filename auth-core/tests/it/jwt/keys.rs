//! Keys: the floors checked at load, every algorithm, other formats, rotation by `kid`, and what `Debug` shows.

use super::*;

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
