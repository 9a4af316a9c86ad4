use auth_core::ApiKeyHandler;
use poem::http::{StatusCode, header::AUTHORIZATION};

use super::*;

fn pipeline() -> Pipeline {
    Pipeline::builder()
        .handler(ApiKeyHandler::builder().http_key("k-1").build())
        .build()
        .expect("pipeline")
}

#[test]
fn builder_refuses_bad_header_names_and_non_4xx_statuses() {
    for bad in [
        PoemAuth::from_pipeline(pipeline()).api_key_header("x api key"),
        PoemAuth::from_pipeline(pipeline()).api_key_header(""),
        PoemAuth::from_pipeline(pipeline()).api_key_header("Authorization"),
        PoemAuth::from_pipeline(pipeline()).user_id_header("user:id"),
        PoemAuth::from_pipeline(pipeline()).unauthorized_status(StatusCode::OK),
        PoemAuth::from_pipeline(pipeline()).forbidden_status(StatusCode::INTERNAL_SERVER_ERROR),
        PoemAuth::from_pipeline(pipeline()).ws_refused_status(StatusCode::SWITCHING_PROTOCOLS),
        PoemAuth::from_pipeline(pipeline()).api_key_cookie(""),
        PoemAuth::from_pipeline(pipeline()).api_key_cookie("api key"),
        PoemAuth::from_pipeline(pipeline()).api_key_cookie("a=b"),
        PoemAuth::from_pipeline(pipeline()).api_key_query(" "),
        PoemAuth::from_pipeline(pipeline()).ws_token_query(""),
        PoemAuth::from_pipeline(pipeline()).basic_realm(""),
        PoemAuth::from_pipeline(pipeline()).basic_realm("say \"hi\""),
        PoemAuth::from_pipeline(pipeline()).basic_realm("back\\slash"),
        PoemAuth::from_pipeline(pipeline()).basic_realm("caf\u{e9}"),
    ] {
        assert!(matches!(bad.build(), Err(AuthError::Misconfigured(_))));
    }
}

#[test]
fn header_names_are_normalized_to_lower_case() {
    let auth = PoemAuth::from_pipeline(pipeline())
        .api_key_header("X-Service-Key")
        .build()
        .expect("valid");
    assert_eq!(auth.api_key_header(), "x-service-key");
    assert_eq!(auth.user_id_header(), DEFAULT_USER_ID_HEADER);
}

#[tokio::test]
async fn malformed_credential_is_refused_as_presented() {
    let auth = PoemAuth::new(pipeline());
    let req = Request::builder()
        .header(AUTHORIZATION, "Basic %%%")
        .finish();
    let refusal = auth.authenticate(&req).await.expect_err("refused");
    assert_eq!(refusal.error(), &AuthError::InvalidCredentials);
    assert!(refusal.credential_presented());
}

#[tokio::test]
async fn blank_credential_is_missing_not_presented() {
    let auth = PoemAuth::new(pipeline());
    for authorization in [" ", "Bearer ", "Basic"] {
        let req = Request::builder()
            .header(AUTHORIZATION, authorization)
            .header(DEFAULT_API_KEY_HEADER, "")
            .finish();
        let refusal = auth.authenticate(&req).await.expect_err("refused");
        assert_eq!(refusal.error(), &AuthError::MissingCredentials);
        assert!(!refusal.credential_presented(), "{authorization:?}");
    }
}

#[tokio::test]
async fn configured_key_header_opens_and_default_one_is_ignored() {
    let auth = PoemAuth::from_pipeline(pipeline())
        .api_key_header("x-service-key")
        .build()
        .expect("valid");
    let req = Request::builder().header("x-service-key", "k-1").finish();
    assert_eq!(auth.authenticate(&req).await.expect("accepted").id, "user");
    let req = Request::builder()
        .header(DEFAULT_API_KEY_HEADER, "k-1")
        .finish();
    assert_eq!(
        auth.authenticate(&req).await.expect_err("refused").error(),
        &AuthError::MissingCredentials
    );
}

#[test]
fn debug_shows_no_body_or_secret() {
    let dbg = format!("{:?}", PoemAuth::new(pipeline()));
    assert!(dbg.contains("x-api-key"), "{dbg}");
    assert!(!dbg.contains("k-1"), "{dbg}");
}
