//! `#[before_authentication]` and `#[after_authentication]` hooks registered
//! with the pipeline: they run, see what they should, and can deny.

use std::sync::{Arc, OnceLock};

use auth_core::jwt::{Algorithm, JwtKey, KeySet, TokenIssuer, Validation};
use auth_core::{
    AfterAuth, AfterHook, ApiKeyHandler, AuthContext, AuthError, AuthMethod, AuthResult,
    BeforeAuth, BeforeHook, Credential, JwtHandler, Pipeline, Principal, after_authentication,
    before_authentication,
};

fn hs(seed: u8, kid: Option<&str>) -> JwtKey {
    let key = JwtKey::hmac(
        Algorithm::HS256,
        format!("a-test-hmac-secret-seeded-with-{seed:03}!").as_bytes(),
    )
    .expect("hmac key");
    match kid {
        Some(kid) => key.with_kid(kid),
        None => key,
    }
}

/// Tenant 2's keys, which the JWT handler itself does not know.
fn tenant_keys() -> Arc<KeySet> {
    static KEYS: OnceLock<Arc<KeySet>> = OnceLock::new();
    KEYS.get_or_init(|| Arc::new(KeySet::single(hs(2, Some("tenant-2")))))
        .clone()
}

/// Picks tenant 2's keys for tokens whose (unverified) header names them.
#[before_authentication]
async fn pick_tenant_key(cx: &mut BeforeAuth) -> AuthResult<()> {
    let header = cx.unverified_header().unwrap_or_default();
    if header.get("kid").and_then(|k| k.as_str()) == Some("tenant-2") {
        cx.use_keys(tenant_keys());
    }
    Ok(())
}

/// Refuses tokens whose (unverified) claims say they come from a retired issuer,
/// before any handler spends time on them.
#[before_authentication]
async fn refuse_retired_issuer(cx: &BeforeAuth) -> AuthResult<()> {
    match cx.unverified_claims() {
        Some(claims) if claims.get("iss").and_then(|i| i.as_str()) == Some("old-idp") => {
            Err(AuthError::InvalidCredentials)
        }
        _ => Ok(()),
    }
}

/// Service accounts may only use API keys.
#[after_authentication]
async fn service_accounts_use_keys(cx: &AfterAuth) -> AuthResult<()> {
    if cx.principal.id.starts_with("svc-") && !matches!(cx.credential, Credential::ApiKey(_)) {
        return Err(AuthError::Forbidden);
    }
    Ok(())
}

/// Tags every principal that got through.
#[after_authentication]
async fn tag_checked(cx: &mut AfterAuth) -> AuthResult<()> {
    cx.principal.roles.insert("checked".into());
    Ok(())
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

fn token_from(keys: Arc<KeySet>, kid: Option<&str>, sub: &str, iss: &str) -> Credential {
    let mut claims = serde_json::Map::new();
    claims.insert("sub".into(), sub.into());
    claims.insert("iss".into(), iss.into());
    let token = TokenIssuer::new(keys, kid)
        .expect("issuer")
        .issue_claims(claims)
        .expect("token");
    Credential::bearer(token.expose())
}

fn jwt_pipeline() -> auth_core::PipelineBuilder {
    Pipeline::builder().handler(JwtHandler::new(
        KeySet::single(hs(1, None)),
        Validation::new(),
    ))
}

#[test]
fn a_before_hook_picks_the_key_named_by_the_unverified_header() {
    let tenant_token = || token_from(tenant_keys(), Some("tenant-2"), "alice", "idp");
    let rt = rt();

    let without = jwt_pipeline().build().expect("pipeline");
    assert_eq!(
        rt.block_on(without.authenticate(Some(tenant_token()), AuthContext::http())),
        Err(AuthError::InvalidCredentials),
        "the handler's own key does not verify tenant 2's token"
    );

    let with = jwt_pipeline()
        .before_authentication(pick_tenant_key)
        .build()
        .expect("pipeline");
    let principal = rt
        .block_on(with.authenticate(Some(tenant_token()), AuthContext::http()))
        .expect("verified with the picked key");
    assert_eq!(principal.id, "alice");

    let own = token_from(Arc::new(KeySet::single(hs(1, None))), None, "bob", "idp");
    assert_eq!(
        rt.block_on(with.authenticate(Some(own), AuthContext::http()))
            .expect("own key still works")
            .id,
        "bob"
    );
}

#[test]
fn a_before_hook_that_only_reads_can_deny_before_the_handlers() {
    let pipeline = jwt_pipeline()
        .before_authentication(refuse_retired_issuer)
        .build()
        .expect("pipeline");
    let keys = Arc::new(KeySet::single(hs(1, None)));
    let rt = rt();
    assert!(
        rt.block_on(pipeline.authenticate(
            Some(token_from(keys.clone(), None, "alice", "idp")),
            AuthContext::http()
        ))
        .is_ok()
    );
    assert_eq!(
        rt.block_on(pipeline.authenticate(
            Some(token_from(keys, None, "alice", "old-idp")),
            AuthContext::http()
        )),
        Err(AuthError::InvalidCredentials)
    );
}

#[test]
fn an_after_hook_sees_the_credential_and_can_reject() {
    let keys = Arc::new(KeySet::single(hs(1, None)));
    let pipeline = Pipeline::builder()
        .handler(ApiKeyHandler::builder().http_key("k-123456").build())
        .handler(JwtHandler::new(keys.clone(), Validation::new()))
        .after_authentication(service_accounts_use_keys)
        .after_authentication(tag_checked)
        .build()
        .expect("pipeline");
    let rt = rt();

    let by_key = rt
        .block_on(pipeline.authenticate(
            Some(Credential::api_key("k-123456")),
            AuthContext::http().with_user_id_hint("svc-backup"),
        ))
        .expect("service account with its key");
    assert_eq!(by_key.id, "svc-backup");
    assert!(by_key.has_role("checked"), "the second after-hook ran");

    assert_eq!(
        rt.block_on(pipeline.authenticate(
            Some(token_from(keys.clone(), None, "svc-backup", "idp")),
            AuthContext::http()
        )),
        Err(AuthError::Forbidden),
        "a service account with a token is rejected by the after-hook"
    );
    let user = rt
        .block_on(pipeline.authenticate(
            Some(token_from(keys, None, "alice", "idp")),
            AuthContext::http(),
        ))
        .expect("a user with a token");
    assert!(user.has_role("checked"));
}

#[test]
fn a_generated_hook_can_be_called_on_its_own() {
    let rt = rt();
    let token = token_from(tenant_keys(), Some("tenant-2"), "alice", "idp");
    let out = rt
        .block_on(pick_tenant_key.call(BeforeAuth::new(token, AuthContext::http())))
        .expect("hook ran");
    assert!(out.context.key_override().is_some());

    let rejected = rt.block_on(service_accounts_use_keys.call(AfterAuth::new(
        Principal::new("svc-x", AuthMethod::Jwt),
        Credential::bearer("a.b.c"),
        AuthContext::http(),
    )));
    assert!(matches!(rejected, Err(AuthError::Forbidden)));
}
