//! In-process costs: from a request carrying a credential to a principal
//! checked against a permission, next to the crypto floor; the permission
//! check and the revocation check at scale.
//!
//! Benchmark ids (the report reads them from `target/criterion`):
//! `path/<method>`, `cached/<alg>`, `floor/jsonwebtoken/<alg>`,
//! `floor/hmac/HS256`, `floor/api_key`, `permission/check`,
//! `scale/permission_100x10`, `scale/revocation_1M_miss`,
//! `scale/revocation_1M_hit`.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use auth_core::jwt::{Algorithm, Validation};
use auth_core::revocation::{MemoryRevocations, RevocationCheck};
use auth_core::{
    ApiKeyHandler, AuthMethod, JwtHandler, PermissionSet, Pipeline, Principal, Requirement,
};
use auth_poem::PoemAuth;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use poem::Request;
use poem_auth_bench::{
    ALGORITHMS, API_KEY, SECRET, handwritten_check, jsonwebtoken_verifier, required, token,
    verifying_keys,
};

/// Runs a future that never waits (every step here is synchronous work
/// behind an `async fn`), without a runtime's overhead in the figure.
fn now<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the measured path waited on something"),
    }
}

fn jwt_auth(alg: Algorithm, cache: Option<usize>) -> PoemAuth {
    let mut handler = JwtHandler::new(verifying_keys(alg), Validation::new());
    if let Some(capacity) = cache {
        handler = handler.with_verified_cache(capacity);
    }
    PoemAuth::new(
        Pipeline::builder()
            .handler(handler)
            .build()
            .expect("pipeline"),
    )
}

fn bearer(token: &str) -> Request {
    Request::builder()
        .header("authorization", format!("Bearer {token}"))
        .finish()
}

fn check(auth: &PoemAuth, req: &Request, required: &Requirement) -> bool {
    let principal = now(auth.authenticate(req)).expect("authenticated");
    principal.satisfies(required)
}

fn paths(c: &mut Criterion) {
    let required = required();
    let keys = PoemAuth::new(
        Pipeline::builder()
            .handler(
                ApiKeyHandler::builder()
                    .http_key(API_KEY)
                    .http_permissions(PermissionSet::base())
                    .build(),
            )
            .build()
            .expect("pipeline"),
    );
    let req = Request::builder().header("x-api-key", API_KEY).finish();
    assert!(check(&keys, &req, &required));
    c.bench_function("path/api_key", |b| {
        b.iter(|| check(&keys, black_box(&req), &required))
    });
    c.bench_function("floor/api_key", |b| {
        b.iter(|| {
            let presented = black_box(&req).header("x-api-key").unwrap_or_default();
            aws_lc_rs::constant_time::verify_slices_are_equal(
                presented.as_bytes(),
                API_KEY.as_bytes(),
            )
            .is_ok()
        })
    });

    for alg in ALGORITHMS {
        let token = token(alg);
        let req = bearer(&token);
        let auth = jwt_auth(alg, None);
        assert!(check(&auth, &req, &required));
        c.bench_function(&format!("path/{alg}"), |b| {
            b.iter(|| check(&auth, black_box(&req), &required))
        });

        let cached = jwt_auth(alg, Some(1024));
        assert!(check(&cached, &req, &required));
        c.bench_function(&format!("cached/{alg}"), |b| {
            b.iter(|| check(&cached, black_box(&req), &required))
        });

        let (key, validation) = jsonwebtoken_verifier(alg);
        assert!(handwritten_check(&token, &key, &validation).is_some());
        c.bench_function(&format!("floor/jsonwebtoken/{alg}"), |b| {
            b.iter(|| handwritten_check(black_box(&token), &key, &validation).is_some())
        });
    }

    let hs = token(Algorithm::HS256);
    let (signed, sig) = hs.rsplit_once('.').expect("three segments");
    let sig = URL_SAFE_NO_PAD.decode(sig).expect("base64url");
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, SECRET.as_bytes());
    c.bench_function("floor/hmac/HS256", |b| {
        b.iter(|| aws_lc_rs::hmac::verify(&key, black_box(signed.as_bytes()), &sig).is_ok())
    });

    let principal = poem_auth_bench::principal();
    c.bench_function("permission/check", |b| {
        b.iter(|| black_box(&principal).satisfies(&required))
    });
}

fn scale(c: &mut Criterion) {
    let mut permissions = PermissionSet::new();
    for r in 0..100 {
        for p in 0..10 {
            assert!(permissions.insert_names(&format!("RESOURCE_{r}"), &format!("PERM_{p}")));
        }
    }
    let principal = Principal::new("big", AuthMethod::Jwt).with_permissions(permissions);
    let last = Requirement::Permission("RESOURCE_99:PERM_9".parse().expect("scope"));
    let absent = Requirement::Permission("RESOURCE_99:PERM_X".parse().expect("scope"));
    assert!(principal.satisfies(&last) && !principal.satisfies(&absent));
    c.bench_function("scale/permission_100x10", |b| {
        b.iter(|| black_box(&principal).satisfies(black_box(&last)))
    });

    let revocations = MemoryRevocations::default();
    for i in 0..1_000_000u32 {
        revocations.revoke_jti(&format!("jti-{i:08x}-revoked-token-id"), i64::MAX);
    }
    assert_eq!(revocations.len(), 1_000_000);
    let fresh = "a-jti-that-was-never-revoked-00";
    let revoked = "jti-0007a120-revoked-token-id";
    assert!(!revocations.is_revoked(Some(fresh), "alice", Some(1)));
    assert!(revocations.is_revoked(Some(revoked), "alice", Some(1)));
    c.bench_function("scale/revocation_1M_miss", |b| {
        b.iter(|| revocations.is_revoked(Some(black_box(fresh)), "alice", Some(1)))
    });
    c.bench_function("scale/revocation_1M_hit", |b| {
        b.iter(|| revocations.is_revoked(Some(black_box(revoked)), "alice", Some(1)))
    });
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = paths, scale
}
criterion_main!(benches);
