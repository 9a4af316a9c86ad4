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
use std::time::{Duration, Instant};

use auth_core::jwt::{Algorithm, Validation};
use auth_core::store::{MemoryRevocations, RevocationCheck};
use auth_core::{
    ApiKeyHandler, AuthMethod, JwtHandler, PermissionSet, Pipeline, Principal, Requirement,
};
use auth_poem::PoemAuth;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group};
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

/// Our JWT path: with the default verified-token cache, or without it (a
/// token seen for the first time).
fn jwt_auth(alg: Algorithm, cache: bool) -> PoemAuth {
    let mut handler = JwtHandler::new(verifying_keys(alg), Validation::new());
    if !cache {
        handler = handler.without_verified_cache();
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

/// Our API-key path: one HTTP key granting the base permissions.
fn api_key_auth() -> PoemAuth {
    PoemAuth::new(
        Pipeline::builder()
            .handler(
                ApiKeyHandler::builder()
                    .http_key(API_KEY)
                    .http_permissions(PermissionSet::base())
                    .build(),
            )
            .build()
            .expect("pipeline"),
    )
}

/// The API-key floor: reading the header and a constant-time comparison.
fn api_key_floor(req: &Request) -> bool {
    let presented = req.header("x-api-key").unwrap_or_default();
    aws_lc_rs::constant_time::verify_slices_are_equal(presented.as_bytes(), API_KEY.as_bytes())
        .is_ok()
}

fn paths(c: &mut Criterion) {
    let required = required();
    let keys = api_key_auth();
    let req = Request::builder().header("x-api-key", API_KEY).finish();
    assert!(check(&keys, &req, &required));
    c.bench_function("path/api_key", |b| {
        b.iter(|| check(&keys, black_box(&req), &required))
    });
    c.bench_function("floor/api_key", |b| {
        b.iter(|| api_key_floor(black_box(&req)))
    });

    for alg in ALGORITHMS {
        let token = token(alg);
        let req = bearer(&token);
        let auth = jwt_auth(alg, false);
        assert!(check(&auth, &req, &required));
        c.bench_function(&format!("path/{alg}"), |b| {
            b.iter(|| check(&auth, black_box(&req), &required))
        });

        let cached = jwt_auth(alg, true);
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
    // A million revoked sessions as well: a token's `sid` is looked up too.
    for i in 0..1_000_000u32 {
        revocations.revoke_session(&format!("sid-{i:08x}-revoked-session"), i64::MAX);
    }
    let sid = "a-session-that-was-never-revoked";
    let fresh = "a-jti-that-was-never-revoked-00";
    let revoked = "jti-0007a120-revoked-token-id";
    assert!(!revocations.is_revoked(Some(fresh), Some(sid), "alice", Some(1)));
    assert!(revocations.is_revoked(Some(revoked), Some(sid), "alice", Some(1)));
    c.bench_function("scale/revocation_1M_miss", |b| {
        b.iter(|| {
            revocations.is_revoked(
                Some(black_box(fresh)),
                Some(black_box(sid)),
                "alice",
                Some(1),
            )
        })
    });
    c.bench_function("scale/revocation_1M_hit", |b| {
        b.iter(|| {
            revocations.is_revoked(
                Some(black_box(revoked)),
                Some(black_box(sid)),
                "alice",
                Some(1),
            )
        })
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

/// Times `n` runs of `f`, in ns.
fn block(n: u32, mut f: impl FnMut() -> bool) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        black_box(f());
    }
    start.elapsed().as_nanos() as f64
}

/// Our path and its floor measured in alternating blocks of about a
/// millisecond each, so that the machine's drift (other tenants, frequency)
/// falls on both alike; each round gives one difference per call, and the
/// figure is their median. Separate criterion runs seconds apart were seen
/// to differ by more than the overhead being measured.
fn paired(
    rounds: u32,
    mut ours: impl FnMut() -> bool,
    mut floor: impl FnMut() -> bool,
) -> serde_json::Value {
    // Warm up both sides for about 100 ms (caches, branch predictors, the
    // CPU's clock), then calibrate: calls per block of about 1 ms.
    let warm = std::time::Instant::now();
    while warm.elapsed() < Duration::from_millis(100) {
        block(16, &mut ours);
        block(16, &mut floor);
    }
    let probe = block(64, &mut ours) / 64.0;
    let n = ((1_000_000.0 / probe) as u32).clamp(8, 100_000);
    let (mut diffs, mut o, mut f) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (a, b) = if round % 2 == 0 {
            let a = block(n, &mut ours);
            (a, block(n, &mut floor))
        } else {
            let b = block(n, &mut floor);
            (block(n, &mut ours), b)
        };
        let (a, b) = (a / f64::from(n), b / f64::from(n));
        diffs.push(a - b);
        o.push(a);
        f.push(b);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    serde_json::json!({
        "rounds": rounds,
        "calls_per_block": n,
        "ours_ns": median(&mut o),
        "floor_ns": median(&mut f),
        "overhead_ns": median(&mut diffs),
    })
}

/// The paired overheads, written to `<target>/criterion/paired.json` for
/// the report.
fn overheads() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 20 } else { 400 };
    let required = required();
    let mut out = serde_json::Map::new();

    let keys = api_key_auth();
    let req = Request::builder().header("x-api-key", API_KEY).finish();
    out.insert(
        "api_key".into(),
        paired(
            rounds,
            || check(&keys, black_box(&req), &required),
            || api_key_floor(black_box(&req)),
        ),
    );
    for alg in ALGORITHMS {
        let token = token(alg);
        let req = bearer(&token);
        let auth = jwt_auth(alg, false);
        let (key, validation) = jsonwebtoken_verifier(alg);
        // The slow algorithms get fewer rounds: each is still a few seconds.
        let rounds = if alg == Algorithm::HS256 {
            rounds
        } else {
            rounds / 8
        };
        out.insert(
            alg.to_string(),
            paired(
                rounds.max(4),
                || check(&auth, black_box(&req), &required),
                || handwritten_check(black_box(&token), &key, &validation).is_some(),
            ),
        );
    }
    let dir = std::path::PathBuf::from(
        std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()),
    )
    .join("criterion");
    std::fs::create_dir_all(&dir).expect("criterion directory");
    let text = serde_json::to_string_pretty(&out).expect("json");
    println!("paired overheads (ns):\n{text}");
    std::fs::write(dir.join("paired.json"), text).expect("paired.json written");
}

fn main() {
    // First, on a fresh heap: the criterion benches allocate and free a
    // million revocation entries, after which allocation costs drift.
    overheads();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
