//! A JWKS served on loopback: floods of unknown `kid`s, a provider that is down, cache lifetimes, unusable entries, other issuers.

use super::*;

/// A JWKS endpoint that counts its fetches and can be made to hang.
#[derive(Clone, Default)]
struct JwksServer {
    doc: Arc<std::sync::Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
    hang: Arc<AtomicBool>,
    cache_control: Arc<std::sync::Mutex<Option<String>>>,
}

#[handler]
async fn jwks_endpoint(server: Data<&JwksServer>) -> Response {
    server.fetches.fetch_add(1, Ordering::SeqCst);
    if server.hang.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    let doc = server.doc.lock().expect("lock").clone();
    let mut resp = poem::web::Json(doc).into_response();
    if let Some(cc) = server.cache_control.lock().expect("lock").clone() {
        resp.headers_mut()
            .insert("cache-control", cc.parse().expect("header"));
    }
    resp
}

async fn start_jwks(keys: &KeySet) -> (String, JwksServer) {
    let server = JwksServer::default();
    *server.doc.lock().expect("lock") = keys.to_jwks();
    let (base, acceptor) = bind_loopback().await;
    serve_on(
        acceptor,
        Route::new()
            .at("/jwks", get(jwks_endpoint))
            .data(server.clone()),
    );
    (format!("{base}/jwks"), server)
}

fn token(key: &JwtKey, kid: &str, sub: &str) -> String {
    sign_compact(
        key,
        &json!({"alg": key.algorithm().name(), "kid": kid}),
        &json!({"sub": sub, "aud": AUDIENCE, "iat": START, "exp": START + 3600, "scope": "conversation:read"}),
    )
    .expect("signed")
}

fn random_kid(i: usize) -> String {
    format!("{}-{i}", auth_core::random::random_id().expect("random"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_of_unknown_kids_fetches_at_most_once_per_interval_and_known_keys_keep_working() {
    let key = JwtKey::generate(Algorithm::ES256)
        .expect("key")
        .with_kid("k1");
    let (url, server) = start_jwks(
        &KeySet::new().with(JwtKey::from_jwk(&key.public_jwk().expect("jwk")).expect("public")),
    )
    .await;
    let clock = ManualClock::new(START);
    let handler = Arc::new(
        OidcHandler::builder()
            .clock(Arc::new(clock.clone()))
            .issuer(IssuerConfig::jwks(url, AUDIENCE).refresh(3600, 60))
            .build()
            .expect("handler"),
    );
    let cx = AuthContext::http();
    let valid = token(&key, "k1", "alice");
    let p = handler
        .authorize_jwt(&valid, &cx)
        .await
        .expect("accepted")
        .expect("mine");
    assert!(p.has(R::Conversation, P::Read));
    assert_eq!(
        server.fetches.load(Ordering::SeqCst),
        1,
        "the first use fetches"
    );

    for round in 0..2 {
        let before = server.fetches.load(Ordering::SeqCst);
        let forged: Vec<String> = (0..10_000)
            .map(|i| token(&key, &random_kid(i), "mallory"))
            .collect();
        let mut tasks = Vec::new();
        for chunk in forged.chunks(500) {
            let chunk = chunk.to_vec();
            let handler = handler.clone();
            let valid = valid.clone();
            tasks.push(tokio::spawn(async move {
                let cx = AuthContext::http();
                let mut refused = 0;
                let mut accepted = 0;
                for t in &chunk {
                    if handler.authorize_jwt(t, &cx).await == Err(AuthError::InvalidCredentials) {
                        refused += 1;
                    }
                    if let Ok(Some(p)) = handler.authorize_jwt(&valid, &cx).await
                        && p.id == "alice"
                    {
                        accepted += 1;
                    }
                }
                (refused, accepted, chunk.len())
            }));
        }
        for task in tasks {
            let (refused, accepted, len) = task.await.expect("task");
            assert_eq!(refused, len, "every unknown kid is refused");
            assert_eq!(
                accepted, len,
                "every known-key request is accepted meanwhile"
            );
        }
        let fetched = server.fetches.load(Ordering::SeqCst) - before;
        assert!(
            fetched <= 1,
            "round {round}: {fetched} fetches in one refresh interval"
        );
        if round == 0 {
            assert_eq!(
                fetched, 0,
                "the first use already spent this interval's fetch"
            );
        }
        clock.advance(61);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_down_keeps_known_keys_refuses_unknown_ones_and_ends_after_max_stale() {
    let key = JwtKey::generate(Algorithm::EdDSA)
        .expect("key")
        .with_kid("k1");
    let (url, server) = start_jwks(
        &KeySet::new().with(JwtKey::from_jwk(&key.public_jwk().expect("jwk")).expect("public")),
    )
    .await;
    let clock = ManualClock::new(START);
    let handler = OidcHandler::builder()
        .clock(Arc::new(clock.clone()))
        .issuer(
            IssuerConfig::jwks(url, AUDIENCE)
                .refresh(600, 10)
                .max_stale(7200)
                .fetch_timeout(Duration::from_millis(300)),
        )
        .build()
        .expect("handler");
    handler.prefetch().await.expect("prefetch");
    let cx = AuthContext::http();
    let valid = token(&key, "k1", "alice");

    // The provider stops answering (connections hang) and the set is due.
    server.hang.store(true, Ordering::SeqCst);
    clock.advance(601);
    let jwks = handler.keys_of(None).expect("tenant");
    assert!(matches!(
        handler.authorize_jwt(&valid, &cx).await,
        Ok(Some(_))
    ));
    jwks.idle().await; // the background refresh timed out
    assert_eq!(server.fetches.load(Ordering::SeqCst), 2);
    assert!(
        matches!(handler.authorize_jwt(&valid, &cx).await, Ok(Some(_))),
        "the last good key set is kept"
    );

    // An unknown kid: one fetch, cut by the configured timeout, then refused.
    clock.advance(11);
    let unknown = token(&key, "k2", "mallory");
    let answer = tokio::time::timeout(
        Duration::from_secs(60),
        handler.authorize_jwt(&unknown, &cx),
    )
    .await
    .expect("the fetch timeout bounds the refusal");
    assert_eq!(answer, Err(AuthError::InvalidCredentials));
    assert_eq!(server.fetches.load(Ordering::SeqCst), 3);
    // Within the same interval: refused without any fetch.
    assert_eq!(
        handler.authorize_jwt(&unknown, &cx).await,
        Err(AuthError::InvalidCredentials)
    );
    assert_eq!(server.fetches.load(Ordering::SeqCst), 3);

    // Past max_stale the old set is no longer trusted: fail closed.
    clock.advance(7200);
    server.hang.store(false, Ordering::SeqCst);
    *server.doc.lock().expect("lock") = json!({"keys": []});
    assert!(matches!(
        handler.authorize_jwt(&valid, &cx).await,
        Err(AuthError::Unavailable(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_control_max_age_schedules_the_next_refresh() {
    let key = JwtKey::generate(Algorithm::ES256)
        .expect("key")
        .with_kid("k1");
    let (url, server) = start_jwks(
        &KeySet::new().with(JwtKey::from_jwk(&key.public_jwk().expect("jwk")).expect("public")),
    )
    .await;
    *server.cache_control.lock().expect("lock") = Some("public, max-age=120".into());
    let clock = ManualClock::new(START);
    let handler = OidcHandler::builder()
        .clock(Arc::new(clock.clone()))
        .issuer(IssuerConfig::jwks(url, AUDIENCE).refresh(3600, 10))
        .build()
        .expect("handler");
    let cx = AuthContext::http();
    let valid = token(&key, "k1", "alice");
    let jwks = handler.keys_of(None).expect("tenant").clone();

    assert!(matches!(
        handler.authorize_jwt(&valid, &cx).await,
        Ok(Some(_))
    ));
    clock.advance(100);
    assert!(matches!(
        handler.authorize_jwt(&valid, &cx).await,
        Ok(Some(_))
    ));
    jwks.idle().await;
    assert_eq!(
        server.fetches.load(Ordering::SeqCst),
        1,
        "still fresh at 100 s"
    );

    clock.advance(21);
    assert!(matches!(
        handler.authorize_jwt(&valid, &cx).await,
        Ok(Some(_))
    ));
    jwks.idle().await;
    assert_eq!(
        server.fetches.load(Ordering::SeqCst),
        2,
        "max-age=120 expired: refreshed in the background"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_jwks_entries_are_skipped_without_failing_the_set() {
    let good = JwtKey::generate(Algorithm::EdDSA)
        .expect("key")
        .with_kid("good");
    let mut enc = good.public_jwk().expect("jwk");
    enc["kid"] = "enc".into();
    enc["use"] = "enc".into();
    let mut wrap = good.public_jwk().expect("jwk");
    wrap["kid"] = "wrap".into();
    wrap["key_ops"] = json!(["wrapKey"]);
    wrap.as_object_mut().expect("object").remove("use");
    let doc = json!({"keys": [
        {"kty": "oct", "kid": "secret", "alg": "HS256", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"},
        {"kty": "RSA", "kid": "small", "alg": "RS256", "e": "AQAB",
         "n": "rQQnS7H-HnKKmKUzvJ45R-1AhN2vumUCLN6RZ7Ox5cn6Ddygs5Z8qpsKCsZC_s5AhwaUPcizS_JZOh1XSJZw350Ypgi7vQwznMfZgh012ssMtW03ojzQqSz_-wtzzKgiPGvgU1CpKf1arH3N3F8AEIg9yTxWprYuOTKL8uNMkss"},
        {"kty": "EC", "kid": "p521", "crv": "P-521", "x": "AA", "y": "AA"},
        enc, wrap, good.public_jwk().expect("jwk"),
    ]});
    let (url, server) = start_jwks(&KeySet::new()).await;
    *server.doc.lock().expect("lock") = doc;
    let handler = OidcHandler::builder()
        .clock(Arc::new(ManualClock::new(START)))
        .issuer(IssuerConfig::jwks(url, AUDIENCE))
        .build()
        .expect("handler");
    handler.prefetch().await.expect("the usable key loads");
    let keys = handler
        .keys_of(None)
        .expect("tenant")
        .current()
        .expect("set");
    let kids: Vec<_> = keys.keys().filter_map(|k| k.kid()).collect();
    assert_eq!(kids, ["good"]);
    let cx = AuthContext::http();
    assert!(matches!(
        handler
            .authorize_jwt(&token(&good, "good", "alice"), &cx)
            .await,
        Ok(Some(_))
    ));
    assert_eq!(
        handler
            .authorize_jwt(&token(&good, "enc", "alice"), &cx)
            .await,
        Err(AuthError::InvalidCredentials)
    );
}

#[tokio::test]
async fn tokens_of_unconfigured_issuers_are_passed_on_and_audience_is_required() {
    let handler = OidcHandler::builder()
        .clock(Arc::new(ManualClock::new(START)))
        .issuer(IssuerConfig::discover("http://127.0.0.1:9/a", AUDIENCE))
        .issuer(IssuerConfig::discover("http://127.0.0.1:9/b", "other"))
        .build()
        .expect("handler");
    let key = JwtKey::generate(Algorithm::EdDSA).expect("key");
    let foreign = sign_compact(
        &key,
        &json!({"alg": "EdDSA", "kid": "x"}),
        &json!({"sub": "a", "iss": "https://elsewhere.example", "aud": AUDIENCE, "exp": START + 60}),
    )
    .expect("signed");
    assert_eq!(
        handler.authorize_jwt(&foreign, &AuthContext::http()).await,
        Ok(None)
    );
    let no_audience = OidcHandler::builder()
        .issuer(IssuerConfig {
            issuer: Some("https://idp.example".into()),
            ..IssuerConfig::default()
        })
        .build();
    assert!(no_audience.is_err());
    let plain_http = OidcHandler::builder()
        .issuer(IssuerConfig::discover("http://idp.example", AUDIENCE))
        .build();
    assert!(plain_http.is_err(), "plain http is refused off loopback");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outside_admin_role_is_no_local_role_unless_mapped() {
    let key = JwtKey::generate(Algorithm::EdDSA)
        .expect("key")
        .with_kid("k1");
    let (jwks_url, _server) = start_jwks(
        &KeySet::new().with(JwtKey::from_jwk(&key.public_jwk().expect("jwk")).expect("public")),
    )
    .await;
    let token = sign_compact(
        &key,
        &json!({"alg": "EdDSA", "kid": "k1"}),
        &json!({"sub": "outsider", "aud": AUDIENCE, "iat": START, "exp": START + 3600,
                "roles": ["admin"], "realm_access": {"roles": ["admin", "chat-admin"]}}),
    )
    .expect("signed");
    let roles = auth_core::RoleMap::new()
        .superuser("admin")
        .role("lister", [(R::Users, P::List)].into_iter().collect());
    let pipeline = |claims: auth_core::jwt::ClaimMapping| {
        Pipeline::builder()
            .roles(roles.clone())
            .handler(
                OidcHandler::builder()
                    .clock(Arc::new(ManualClock::new(START)))
                    .issuer(IssuerConfig::jwks(jwks_url.clone(), AUDIENCE).claims(claims))
                    .build()
                    .expect("handler"),
            )
            .build()
            .expect("pipeline")
    };
    let p = pipeline(auth_core::jwt::ClaimMapping::default())
        .authenticate(
            Some(auth_core::Credential::bearer(&token)),
            AuthContext::http(),
        )
        .await
        .expect("authenticated");
    assert!(!p.superuser, "an outside admin is no superuser here");
    assert!(p.roles.is_empty(), "{:?}", p.roles);
    assert!(!p.has(R::Users, P::Delete));
    let p = pipeline(auth_core::jwt::ClaimMapping::default().role_as("chat-admin", "lister"))
        .authenticate(
            Some(auth_core::Credential::bearer(&token)),
            AuthContext::http(),
        )
        .await
        .expect("authenticated");
    assert!(!p.superuser);
    assert!(
        p.has(R::Users, P::List),
        "a mapped role brings its local permissions"
    );
    assert_eq!(p.roles.iter().collect::<Vec<_>>(), ["lister"]);
}

#[handler]
fn lying_discovery(server: Data<&JwksServer>) -> poem::web::Json<Value> {
    server.fetches.fetch_add(1, Ordering::SeqCst);
    poem::web::Json(server.doc.lock().expect("lock").clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discovery_document_naming_another_issuer_is_refused() {
    let (base, acceptor) = bind_loopback().await;
    let server = JwksServer::default();
    *server.doc.lock().expect("lock") = json!({
        "issuer": "https://impostor.example",
        "jwks_uri": format!("{base}/jwks"),
    });
    serve_on(
        acceptor,
        Route::new()
            .at("/.well-known/openid-configuration", get(lying_discovery))
            .at("/jwks", get(jwks_endpoint))
            .data(server.clone()),
    );
    let handler = OidcHandler::builder()
        .clock(Arc::new(ManualClock::new(START)))
        .issuer(IssuerConfig::discover(base.clone(), AUDIENCE))
        .build()
        .expect("handler");
    assert!(handler.prefetch().await.is_err());
    let key = JwtKey::generate(Algorithm::EdDSA).expect("key");
    let token = sign_compact(
        &key,
        &json!({"alg": "EdDSA", "kid": "k1"}),
        &json!({"sub": "a", "iss": base, "aud": AUDIENCE, "exp": START + 60}),
    )
    .expect("signed");
    assert!(matches!(
        handler.authorize_jwt(&token, &AuthContext::http()).await,
        Err(AuthError::Unavailable(_))
    ));
    assert_eq!(
        server.fetches.load(Ordering::SeqCst),
        1,
        "only the discovery document was fetched, never its jwks_uri"
    );
}
