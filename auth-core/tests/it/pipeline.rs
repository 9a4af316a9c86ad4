//! The pipeline: order, first answer wins, hooks, and failing closed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use auth_core::jwt::{Algorithm, JwtKey, KeySet, TokenIssuer, Validation};
use auth_core::{
    AfterAuth, ApiKeyHandler, AuthContext, AuthError, AuthHandler, AuthMethod, AuthPermission as P,
    AuthResource as R, AuthResult, BeforeAuth, Credential, JwtHandler, PermissionSet, Pipeline,
    Principal, Requirement, RoleMap, async_trait,
};

use secrecy::ExposeSecret as _;

/// A handler's fixed answer.
type Answer = fn() -> AuthResult<Option<Principal>>;

/// A handler with a fixed answer that counts its calls.
struct Fixed {
    name: &'static str,
    answer: Answer,
    calls: Arc<AtomicUsize>,
}

impl Fixed {
    fn new(
        name: &'static str,
        answer: fn() -> AuthResult<Option<Principal>>,
    ) -> (Self, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        (
            Self {
                name,
                answer,
                calls: calls.clone(),
            },
            calls,
        )
    }
}

#[async_trait]
impl AuthHandler for Fixed {
    fn name(&self) -> &str {
        self.name
    }

    async fn authorize_key(&self, _key: &str, _cx: &AuthContext) -> AuthResult<Option<Principal>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        (self.answer)()
    }
}

fn named(id: &str) -> AuthResult<Option<Principal>> {
    Ok(Some(Principal::new(
        id,
        AuthMethod::Custom { handler: id.into() },
    )))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

fn key() -> Option<Credential> {
    Some(Credential::api_key("k"))
}

#[test]
fn handlers_run_in_order_and_the_first_answer_wins() {
    let (none, none_calls) = Fixed::new("none", || Ok(None));
    let (first, _) = Fixed::new("first", || named("first"));
    let (second, second_calls) = Fixed::new("second", || named("second"));
    let p = Pipeline::builder()
        .handler(none)
        .handler(first)
        .handler(second)
        .build()
        .expect("pipeline");
    let principal = rt()
        .block_on(p.authenticate(key(), AuthContext::http()))
        .expect("authenticated");
    assert_eq!(principal.id, "first");
    assert_eq!(none_calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        second_calls.load(Ordering::SeqCst),
        0,
        "handlers after the winner are not asked"
    );
    assert_eq!(
        p.handler_names().collect::<Vec<_>>(),
        ["none", "first", "second"]
    );
}

#[test]
fn a_handler_error_denies_even_when_a_later_handler_would_accept() {
    let cases: [(Answer, AuthError); 3] = [
        (
            || Err(AuthError::InvalidCredentials),
            AuthError::InvalidCredentials,
        ),
        (
            || Err(AuthError::Unavailable("idp down".into())),
            AuthError::Unavailable("idp down".into()),
        ),
        (
            || Err(AuthError::Misconfigured("x".into())),
            AuthError::Misconfigured("x".into()),
        ),
    ];
    for (answer, err) in cases {
        let (failing, _) = Fixed::new("failing", answer);
        let (accepting, accepting_calls) = Fixed::new("accepting", || named("mallory"));
        let p = Pipeline::builder()
            .handler(failing)
            .handler(accepting)
            .build()
            .expect("pipeline");
        let outcome = rt().block_on(p.authenticate(key(), AuthContext::http()));
        assert_eq!(outcome.expect_err("denied"), err);
        assert_eq!(accepting_calls.load(Ordering::SeqCst), 0);
    }
}

#[test]
fn no_credential_and_unrecognized_credential_are_both_denied() {
    let (none, _) = Fixed::new("none", || Ok(None));
    let p = Pipeline::builder().handler(none).build().expect("pipeline");
    let rt = rt();
    assert_eq!(
        rt.block_on(p.authenticate(None, AuthContext::http()))
            .expect_err("denied"),
        AuthError::MissingCredentials
    );
    assert_eq!(
        rt.block_on(p.authenticate(key(), AuthContext::http()))
            .expect_err("denied"),
        AuthError::InvalidCredentials
    );
}

#[test]
fn an_open_channel_admits_only_requests_without_a_credential() {
    let (none, _) = Fixed::new("none", || Ok(None));
    let p = Pipeline::builder()
        .handler(none)
        .roles(RoleMap::new().role("guest", PermissionSet::base()))
        .anonymous(|cx: &AuthContext| {
            (cx.channel == auth_core::Channel::Http)
                .then(|| Principal::new("visitor", AuthMethod::Anonymous).with_role("guest"))
        })
        .build()
        .expect("pipeline");
    let rt = rt();
    let visitor = rt
        .block_on(p.authenticate(None, AuthContext::http()))
        .expect("the open channel admits a request without a credential");
    assert_eq!(visitor.method, AuthMethod::Anonymous);
    assert!(
        visitor.has(R::Conversation, P::Write),
        "its roles are expanded"
    );
    assert_eq!(
        rt.block_on(p.authenticate(None, AuthContext::websocket()))
            .expect_err("closed channel"),
        AuthError::MissingCredentials
    );
    assert_eq!(
        rt.block_on(p.authenticate(key(), AuthContext::http()))
            .expect_err("a presented credential is still checked"),
        AuthError::InvalidCredentials
    );
}

#[test]
fn a_pipeline_without_handlers_is_a_configuration_error() {
    assert!(matches!(
        Pipeline::builder().build(),
        Err(AuthError::Misconfigured(_))
    ));
}

#[test]
fn a_before_hook_error_denies_before_any_handler_runs() {
    let (accepting, calls) = Fixed::new("accepting", || named("alice"));
    let p = Pipeline::builder()
        .handler(accepting)
        .before_authentication(|_cx: BeforeAuth| async {
            Err::<BeforeAuth, _>(AuthError::Unavailable("rate limiter".into()))
        })
        .build()
        .expect("pipeline");
    let outcome = rt().block_on(p.authenticate(key(), AuthContext::http()));
    assert_eq!(
        outcome.expect_err("denied"),
        AuthError::Unavailable("rate limiter".into())
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

async fn require_verified_email(cx: AfterAuth) -> AuthResult<AfterAuth> {
    match cx.principal.extra.get("email_verified") {
        Some(serde_json::Value::Bool(true)) => Ok(cx),
        _ => Err(AuthError::InvalidCredentials),
    }
}

#[test]
fn an_after_hook_can_reject_on_custom_claims() {
    let issuer = TokenIssuer::new(Arc::new(KeySet::single(hs(1))), None).expect("issuer");
    let p = Pipeline::builder()
        .handler(JwtHandler::new(KeySet::single(hs(1)), Validation::new()))
        .after_authentication(require_verified_email)
        .build()
        .expect("pipeline");
    let token = |verified: bool| {
        let mut claims = serde_json::Map::new();
        claims.insert("sub".into(), "alice".into());
        claims.insert("email_verified".into(), verified.into());
        Some(Credential::bearer(
            issuer.issue_claims(claims).expect("token").expose(),
        ))
    };
    let rt = rt();
    assert!(
        rt.block_on(p.authenticate(token(true), AuthContext::http()))
            .is_ok()
    );
    assert_eq!(
        rt.block_on(p.authenticate(token(false), AuthContext::http()))
            .expect_err("rejected"),
        AuthError::InvalidCredentials
    );
}

#[test]
fn an_after_hook_can_enrich_the_principal() {
    let (accepting, _) = Fixed::new("accepting", || named("alice"));
    let p = Pipeline::builder()
        .handler(accepting)
        .after_authentication(|mut cx: AfterAuth| async move {
            cx.principal.roles.insert("auditor".into());
            Ok(cx)
        })
        .build()
        .expect("pipeline");
    let principal = rt()
        .block_on(p.authenticate(key(), AuthContext::http()))
        .expect("ok");
    assert!(principal.has_role("auditor"));
}

fn hs(seed: u8) -> JwtKey {
    JwtKey::hmac(
        Algorithm::HS256,
        format!("a-test-hmac-secret-seeded-with-{seed:03}!").as_bytes(),
    )
    .expect("key")
}

#[test]
fn a_before_hook_can_swap_the_key_used_for_a_credential() {
    // The handler knows key 1; a token signed with key 2 (a rotated or
    // per-tenant key) passes only when the hook hands key 2 over.
    let rotated = Arc::new(KeySet::single(hs(2)));
    let token = TokenIssuer::new(rotated.clone(), None)
        .expect("issuer")
        .issue(&Principal::new("alice", AuthMethod::Jwt))
        .expect("token");
    let cred = || Some(Credential::bearer(token.expose()));
    let plain = Pipeline::builder()
        .handler(JwtHandler::new(KeySet::single(hs(1)), Validation::new()))
        .build()
        .expect("pipeline");
    let rt = rt();
    assert_eq!(
        rt.block_on(plain.authenticate(cred(), AuthContext::http()))
            .expect_err("denied"),
        AuthError::InvalidCredentials
    );

    let swapping = Pipeline::builder()
        .handler(JwtHandler::new(KeySet::single(hs(1)), Validation::new()))
        .before_authentication(move |mut cx: BeforeAuth| {
            let rotated = rotated.clone();
            async move {
                if cx.context.user_id_hint() == Some("tenant-2") {
                    cx.use_keys(rotated);
                }
                Ok(cx)
            }
        })
        .build()
        .expect("pipeline");
    let p = rt
        .block_on(swapping.authenticate(cred(), AuthContext::http().with_user_id_hint("tenant-2")))
        .expect("accepted with the swapped key");
    assert_eq!(p.id, "alice");
    assert!(
        rt.block_on(swapping.authenticate(cred(), AuthContext::http()))
            .is_err()
    );
}

#[test]
fn a_before_hook_can_replace_the_handlers_for_a_credential() {
    let (default, default_calls) = Fixed::new("default", || named("default"));
    let p = Pipeline::builder()
        .handler(default)
        .before_authentication(|mut cx: BeforeAuth| async move {
            let (special, _) = Fixed::new("special", || named("special"));
            cx.use_handlers(vec![Arc::new(special)]);
            Ok(cx)
        })
        .build()
        .expect("pipeline");
    assert_eq!(
        rt().block_on(p.authenticate(key(), AuthContext::http()))
            .expect("ok")
            .id,
        "special"
    );
    assert_eq!(default_calls.load(Ordering::SeqCst), 0);
}

#[test]
fn roles_expand_and_requirements_give_forbidden() {
    let roles = RoleMap::new()
        .role("moderator", [(R::Users, P::List)].into_iter().collect())
        .superuser("admin");
    let p = Pipeline::builder()
        .handler(JwtHandler::new(KeySet::single(hs(1)), Validation::new()))
        .roles(roles)
        .build()
        .expect("pipeline");
    let issuer = TokenIssuer::new(Arc::new(KeySet::single(hs(1))), None).expect("issuer");
    let token = |role: &str| {
        let who = Principal::new("u", AuthMethod::Jwt)
            .with_role(role)
            .with_permissions(PermissionSet::base());
        Some(Credential::bearer(
            issuer.issue(&who).expect("token").expose(),
        ))
    };
    let list_users = Requirement::permission(R::Users, P::List);
    let delete_users = Requirement::permission(R::Users, P::Delete);
    let rt = rt();
    assert!(
        rt.block_on(p.authorize(token("moderator"), AuthContext::http(), &list_users))
            .is_ok()
    );
    assert_eq!(
        rt.block_on(p.authorize(token("moderator"), AuthContext::http(), &delete_users))
            .expect_err("forbidden"),
        AuthError::Forbidden
    );
    assert!(
        rt.block_on(p.authorize(token("admin"), AuthContext::http(), &delete_users))
            .is_ok()
    );
    assert_eq!(
        rt.block_on(p.authorize(token("reader"), AuthContext::http(), &list_users))
            .expect_err("forbidden"),
        AuthError::Forbidden
    );
}

#[test]
fn api_key_and_jwt_handlers_share_a_pipeline() {
    let keys = ApiKeyHandler::builder()
        .http_key("http-key")
        .ws_key("ws-key")
        .build();
    let p = Pipeline::builder()
        .handler(keys)
        .handler(JwtHandler::new(KeySet::single(hs(1)), Validation::new()))
        .build()
        .expect("pipeline");
    let jwt = TokenIssuer::new(Arc::new(KeySet::single(hs(1))), None)
        .expect("issuer")
        .issue(&Principal::new("bob", AuthMethod::Jwt))
        .expect("token");
    let rt = rt();
    let via_key = rt
        .block_on(p.authenticate(Some(Credential::bearer("http-key")), AuthContext::http()))
        .expect("key");
    assert!(matches!(via_key.method, AuthMethod::ApiKey { .. }));
    let via_jwt = rt
        .block_on(p.authenticate(
            Some(Credential::bearer(jwt.expose())),
            AuthContext::websocket(),
        ))
        .expect("jwt");
    assert_eq!(
        (via_jwt.id.as_str(), via_jwt.method),
        ("bob", AuthMethod::Jwt)
    );
    assert!(
        rt.block_on(p.authenticate(Some(Credential::bearer("ws-key")), AuthContext::http()))
            .is_err()
    );
    assert!(
        rt.block_on(p.authenticate(
            Some(Credential::bearer("http-key")),
            AuthContext::websocket()
        ))
        .is_err()
    );
}

/// A handler that answers at once for keys starting with `now-` and leaves
/// the rest to `authorize`, counting each path.
struct Quick {
    now: Arc<AtomicUsize>,
    later: Arc<AtomicUsize>,
}

#[async_trait]
impl AuthHandler for Quick {
    fn name(&self) -> &str {
        "quick"
    }

    async fn authorize_key(&self, key: &str, _cx: &AuthContext) -> AuthResult<Option<Principal>> {
        self.later.fetch_add(1, Ordering::SeqCst);
        named(&format!("later:{key}"))
    }

    fn authorize_now(
        &self,
        credential: &Credential,
        _cx: &AuthContext,
    ) -> Option<AuthResult<Option<Principal>>> {
        match credential {
            Credential::ApiKey(key) if key.expose_secret().starts_with("now-") => {
                self.now.fetch_add(1, Ordering::SeqCst);
                Some(Err(AuthError::InvalidCredentials))
            }
            _ => None,
        }
    }
}

#[test]
fn an_answer_given_at_once_is_the_answer_and_none_falls_back_to_authorize() {
    let (now, later) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (next, next_calls) = Fixed::new("next", || named("next"));
    let p = Pipeline::builder()
        .handler(Quick {
            now: now.clone(),
            later: later.clone(),
        })
        .handler(next)
        .build()
        .expect("pipeline");
    let rt = rt();
    // Refused at once: neither `authorize` nor the next handler is asked.
    let refused =
        rt.block_on(p.authenticate(Some(Credential::api_key("now-1")), AuthContext::http()));
    assert_eq!(refused.expect_err("refused"), AuthError::InvalidCredentials);
    assert_eq!(
        (now.load(Ordering::SeqCst), later.load(Ordering::SeqCst)),
        (1, 0)
    );
    assert_eq!(next_calls.load(Ordering::SeqCst), 0);
    // No answer at once: `authorize` answers.
    let principal = rt
        .block_on(p.authenticate(Some(Credential::api_key("k-2")), AuthContext::http()))
        .expect("accepted");
    assert_eq!(principal.id, "later:k-2");
    assert_eq!(
        (now.load(Ordering::SeqCst), later.load(Ordering::SeqCst)),
        (1, 1)
    );
    assert_eq!(next_calls.load(Ordering::SeqCst), 0);
}
