//! Lifetimes, claims of the wrong type, and tampered, malformed or oversized tokens.

use super::*;

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
