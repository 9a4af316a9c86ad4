use serde_json::json;

use super::token::{TokenSending, lookup};
use super::*;

#[test]
fn token_lookup_takes_a_key_or_a_dotted_path() {
    let j = json!({"a.b": "flat", "data": {"token": "nested"}, "access_token": "t"});
    assert_eq!(lookup(&j, "access_token"), Some(&json!("t")));
    assert_eq!(lookup(&j, "data.token"), Some(&json!("nested")));
    assert_eq!(lookup(&j, "a.b"), Some(&json!("flat")));
    assert_eq!(lookup(&j, "data"), Some(&json!({"token": "nested"})));
    assert_eq!(lookup(&j, "missing.path"), None);
}

#[test]
fn basic_header_value_is_rfc7617() {
    assert_eq!(
        basic_value("Aladdin", "open sesame"),
        "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    );
}

#[test]
fn token_format_without_a_placeholder_is_refused() {
    let mut config = CredentialConfig::new("token");
    config.token_format = Some("Bearer".into());
    assert!(matches!(
        TokenSending::from_config(&config),
        Err(ClientError::Config(_))
    ));
}

#[test]
fn builtins_refuse_unknown_settings() {
    let config: CredentialConfig = serde_json::from_value(json!({
        "authenticator": "basic", "username": "u", "password": "p", "pasword": "typo",
    }))
    .expect("record");
    let err = BasicAuthenticator::from_config(&config).expect_err("typo");
    assert!(err.to_string().contains("`pasword`"), "{err}");
}
