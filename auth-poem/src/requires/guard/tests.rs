use auth_core::{AuthMethod, AuthPermission as P, AuthResource as R, PermissionSet};
use poem_openapi::OAuthScopes;

use super::*;

#[test]
fn probes_answer_by_type() {
    #[allow(unused_imports)]
    use super::Fallback as _;
    let auth_args = [
        <Probe<Authenticated>>::IS_AUTH_ARG,
        <Probe<OptionalAuthenticated>>::IS_AUTH_ARG,
        <Probe<ApiAuth>>::IS_AUTH_ARG,
        <Probe<OptionalApiAuth>>::IS_AUTH_ARG,
        <Probe<WsAuthenticated>>::IS_AUTH_ARG,
        <Probe<Option<WsAuthenticated>>>::IS_AUTH_ARG,
        <Probe<poem::Result<Authenticated>>>::IS_AUTH_ARG,
        <Probe<String>>::IS_AUTH_ARG,
        <Probe<Option<String>>>::IS_AUTH_ARG,
    ];
    assert_eq!(
        auth_args,
        [true, true, true, true, true, true, true, false, false]
    );
    let documented = [
        <Probe<ApiAuth>>::DOCUMENTS_AUTH,
        <Probe<OptionalApiAuth>>::DOCUMENTS_AUTH,
        <Probe<Authenticated>>::DOCUMENTS_AUTH,
    ];
    assert_eq!(documented, [true, true, false]);
    let results = [
        <Probe<poem::Result<String>>>::IS_RESULT,
        <Probe<Result<String, std::fmt::Error>>>::IS_RESULT,
        <Probe<String>>::IS_RESULT,
    ];
    assert_eq!(results, [true, true, false]);
    assert!(<Probe<String>>::caller(&String::new()).is_none());
}

#[test]
fn probes_tell_websocket_routes_by_type_through_every_wrapper() {
    #[allow(unused_imports)]
    use super::Fallback as _;
    let websocket = [
        <Probe<WsAuthenticated>>::IS_WEBSOCKET,
        <Probe<Option<WsAuthenticated>>>::IS_WEBSOCKET,
        <Probe<poem::Result<WsAuthenticated>>>::IS_WEBSOCKET,
        <Probe<Option<poem::Result<WsAuthenticated>>>>::IS_WEBSOCKET,
        <Probe<WebSocket>>::IS_WEBSOCKET,
        <Probe<Authenticated>>::IS_WEBSOCKET,
        <Probe<Option<Authenticated>>>::IS_WEBSOCKET,
        <Probe<OptionalAuthenticated>>::IS_WEBSOCKET,
        <Probe<ApiAuth>>::IS_WEBSOCKET,
        <Probe<String>>::IS_WEBSOCKET,
    ];
    assert_eq!(
        websocket,
        [
            true, true, true, true, true, false, false, false, false, false
        ]
    );
    let caller = Authenticated::new(
        Principal::new("u", AuthMethod::Jwt),
        std::sync::Arc::default(),
    );
    let carried = <Probe<Option<Authenticated>>>::caller(&Some(caller));
    assert_eq!(carried.map(|(channel, _)| channel), Some(Channel::Http));
}

#[tokio::test]
async fn a_websocket_route_never_takes_an_http_caller_nor_authenticates_over_http() {
    use auth_core::{ApiKeyHandler, Pipeline};

    let auth = crate::PoemAuth::new(
        Pipeline::builder()
            .handler(
                ApiKeyHandler::builder()
                    .http_key("h-1")
                    .ws_key("w-1")
                    .build(),
            )
            .build()
            .expect("pipeline"),
    );
    let http_caller = Authenticated::new(
        Principal::new("http", AuthMethod::Jwt),
        std::sync::Arc::default(),
    );
    let mut req = Request::builder().header("x-api-key", "h-1").finish();
    req.set_data(auth.clone());
    let refusal = resolve(
        &req,
        Channel::WebSocket,
        None,
        [Some((Channel::Http, http_caller.clone()))],
    )
    .await
    .expect_err("an HTTP key and an HTTP caller do not open a WebSocket route");
    assert_eq!(refusal.channel(), Channel::WebSocket);
    let caller = resolve(
        &req,
        Channel::Http,
        None,
        [Some((Channel::Http, http_caller))],
    )
    .await
    .expect("the HTTP caller on an HTTP route");
    assert_eq!(caller.id, "http");

    let mut req = Request::builder().uri_str("/ws?token=w-1").finish();
    req.set_data(auth);
    let caller = resolve(&req, Channel::WebSocket, None, [None])
        .await
        .expect("the WebSocket key on a WebSocket route");
    assert_eq!(caller.id, auth_core::DEFAULT_USER_ID);
}

#[test]
fn scope_names_come_from_the_rule() {
    fn rule() -> &'static Rule {
        static RULE: std::sync::LazyLock<Rule> = std::sync::LazyLock::new(|| {
            Rule::all(vec![
                Rule::permission(R::Conversation, P::Write),
                Rule::scope("openid"),
            ])
        });
        &RULE
    }
    assert_eq!(OAuthScope::new(rule, 0).name(), "conversation:write");
    assert_eq!(OAuthScope::new(rule, 1).name(), "openid");
}

#[test]
fn check_refuses_with_403_and_evaluates_conditions() {
    let caller = Authenticated::new(
        Principal::new("u", AuthMethod::Jwt).with_permissions(PermissionSet::base()),
        std::sync::Arc::default(),
    );
    let rule = Rule::all(vec![
        Rule::permission(R::Conversation, P::Read),
        Rule::expr(0, "x"),
    ]);
    assert!(check(&caller, &rule, &mut |_| true).is_ok());
    let refusal = check(&caller, &rule, &mut |_| false).expect_err("refused");
    assert_eq!(refusal.error(), &auth_core::AuthError::Forbidden);
    let rule = Rule::role("admin");
    assert!(check(&caller, &rule, &mut no_condition).is_err());
}
