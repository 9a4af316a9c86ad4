use super::*;

#[test]
fn oidc_variables_name_an_outside_issuer_with_the_audience() {
    let s = Settings::from_vars(
        "CCAT_",
        [
            ("CCAT_OIDC_ISSUER", "https://idp.example/realms/chat"),
            ("CCAT_JWT_AUDIENCE", "chat-api"),
        ],
    )
    .expect("settings");
    let config = s.oidc_issuer_config().expect("valid").expect("configured");
    assert_eq!(
        config.issuer.as_deref(),
        Some("https://idp.example/realms/chat")
    );
    assert_eq!(config.jwks_url, None);
    assert_eq!(config.audience, ["chat-api"]);

    let s = Settings::from_vars(
        "CCAT_",
        [
            ("CCAT_JWKS_URL", "https://idp.example/jwks"),
            ("CCAT_JWT_AUDIENCE", "chat-api"),
        ],
    )
    .expect("settings");
    let config = s.oidc_issuer_config().expect("valid").expect("configured");
    assert_eq!(config.jwks_url.as_deref(), Some("https://idp.example/jwks"));
    assert_eq!(config.issuer, None);
}

#[test]
fn an_outside_issuer_without_an_audience_is_a_settings_error_naming_the_variable() {
    let s = Settings::from_vars("CCAT_", [("CCAT_JWKS_URL", "https://idp.example/jwks")])
        .expect("settings");
    let err = s.oidc_issuer_config().expect_err("no audience");
    assert!(err.to_string().contains("CCAT_JWT_AUDIENCE"), "{err}");
}

const SECRET: &str = "0123456789abcdef0123456789abcdef-long-enough";

#[test]
fn reads_prefixed_variables_and_ignores_others() {
    let s = Settings::from_vars(
        "CCAT_",
        [
            ("CCAT_API_KEY", "http"),
            ("CCAT_API_KEY_WS", "ws"),
            ("CCAT_JWT_SECRET", SECRET),
            ("CCAT_JWT_ALGORITHM", "HS512"),
            ("CCAT_JWT_EXPIRE_MINUTES", "15"),
            ("AUTH_API_KEY", "other-prefix"),
        ],
    )
    .expect("valid");
    assert_eq!(
        s.api_key
            .as_ref()
            .map(|k| k.expose_secret().to_owned())
            .as_deref(),
        Some("http")
    );
    assert_eq!(
        s.api_key_ws
            .as_ref()
            .map(|k| k.expose_secret().to_owned())
            .as_deref(),
        Some("ws")
    );
    assert_eq!(s.jwt_algorithm, Algorithm::HS512);
    assert_eq!(s.jwt_expire_minutes, 15);
}

#[test]
fn bad_values_name_the_variable() {
    let e =
        Settings::from_vars("AUTH_", [("AUTH_JWT_EXPIRE_MINUTES", "soon")]).expect_err("invalid");
    assert!(e.to_string().contains("AUTH_JWT_EXPIRE_MINUTES"), "{e}");
    let e = Settings::from_vars("AUTH_", [("AUTH_JWT_ALGORITHM", "none")]).expect_err("invalid");
    assert!(e.to_string().contains("AUTH_JWT_ALGORITHM"), "{e}");
    let e = Settings::from_vars("AUTH_", [("AUTH_DEV_MODE", "maybe")]).expect_err("invalid");
    assert!(e.to_string().contains("AUTH_DEV_MODE"), "{e}");
}

#[test]
fn missing_jwt_secret_refuses_to_start_with_a_clear_message() {
    let s = Settings::from_vars("AUTH_", [("AUTH_API_KEY", "k")]).expect("valid");
    let e = s.jwt_keys().expect_err("refused");
    let msg = e.to_string();
    assert!(
        msg.contains("AUTH_JWT_SECRET") && msg.contains("AUTH_DEV_MODE"),
        "{msg}"
    );
}

#[test]
fn short_jwt_secret_refuses_to_start() {
    let s = Settings::from_vars("AUTH_", [("AUTH_JWT_SECRET", "too-short")]).expect("valid");
    assert!(matches!(
        s.jwt_keys(),
        Err(SettingsError::ShortJwtSecret { len: 9, .. })
    ));
}

#[test]
fn a_well_known_or_patterned_jwt_secret_refuses_to_start_naming_the_variable() {
    let one_character = "x".repeat(48);
    for weak in [
        "secretsecretsecretsecretsecretse",
        "your-256-bit-secret-your-256-bit-secret",
        "CHANGE_ME_TO_A_LONG_RANDOM_SECRET_VALUE",
        "meow_jwt_meow_jwt_meow_jwt_meow_jwt",
        one_character.as_str(),
    ] {
        let s = Settings::from_vars("CCAT_", [("CCAT_JWT_SECRET", weak)]).expect("valid");
        let e = s.jwt_keys().expect_err(weak);
        assert!(
            matches!(e, SettingsError::WeakJwtSecret { ref var, .. } if var == "CCAT_JWT_SECRET"),
            "{weak}: {e:?}"
        );
        let msg = e.to_string();
        assert!(msg.contains("openssl rand"), "{msg}");
        assert!(!msg.contains(weak), "the message shows the secret: {msg}");
    }
}

#[test]
fn development_mode_makes_a_random_secret_each_time() {
    let s = Settings::from_vars("AUTH_", [("AUTH_DEV_MODE", "true")]).expect("valid");
    let a = s
        .token_issuer(s.jwt_keys().expect("dev key"))
        .expect("issuer");
    let b_keys = s.jwt_keys().expect("dev key");
    let token = a
        .issue(&crate::Principal::new("u", crate::AuthMethod::Basic))
        .expect("token");
    let other = crate::jwt::JwtValidator::new(b_keys, Validation::new());
    assert_eq!(
        other
            .validate(token.expose())
            .expect_err("different secret"),
        crate::jwt::JwtRejection::BadSignature
    );
}

#[test]
fn asymmetric_algorithm_needs_a_private_key_file() {
    let s = Settings::from_vars("AUTH_", [("AUTH_JWT_ALGORITHM", "ES256")]).expect("valid");
    let e = s.jwt_keys().expect_err("refused");
    assert!(e.to_string().contains("AUTH_JWT_PRIVATE_KEY_FILE"), "{e}");
}

#[test]
fn toml_file_is_read_and_environment_overrides_it() {
    let text =
        format!("api_key = \"from-file\"\njwt_secret = \"{SECRET}\"\njwt_expire_minutes = 30\n");
    let s = Settings::from_toml_str(&text)
        .expect("valid")
        .with_prefix("AUTH_")
        .merge_vars([("AUTH_API_KEY", "from-env")])
        .expect("valid");
    assert_eq!(
        s.api_key
            .as_ref()
            .map(|k| k.expose_secret().to_owned())
            .as_deref(),
        Some("from-env")
    );
    assert_eq!(s.jwt_expire_minutes, 30);
    assert!(s.jwt_keys().is_ok());
}

#[test]
fn toml_typos_are_errors() {
    let e = Settings::from_toml_str("api_kee = \"x\"").expect_err("unknown key");
    assert!(e.to_string().contains("api_kee"), "{e}");
}

#[test]
fn debug_never_shows_secrets() {
    let s = Settings::from_vars(
        "AUTH_",
        [
            ("AUTH_API_KEY", "HTTPSECRET"),
            ("AUTH_API_KEY_WS", "WSSECRET"),
            ("AUTH_JWT_SECRET", SECRET),
        ],
    )
    .expect("valid");
    let dbg = format!("{s:?}");
    for secret in ["HTTPSECRET", "WSSECRET", SECRET] {
        assert!(!dbg.contains(secret), "{dbg}");
    }
    assert!(!format!("{:?}", s.jwt_keys().expect("key")).contains(SECRET));
    assert!(!format!("{:?}", s.api_key_handler()).contains("HTTPSECRET"));
}
