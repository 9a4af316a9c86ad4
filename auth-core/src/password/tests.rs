use super::*;

#[test]
fn owasp_hash_is_argon2id_with_owasp_parameters() {
    let phc = PasswordHasher::owasp().hash_blocking("pw").expect("hash");
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
}

#[test]
fn same_password_hashes_differently_each_time() {
    let h = PasswordHasher::fast_insecure_for_tests();
    let a = h.hash_blocking("pw").expect("hash");
    let b = h.hash_blocking("pw").expect("hash");
    assert_ne!(a, b);
    assert!(h.verify_blocking("pw", &a) && h.verify_blocking("pw", &b));
}

#[test]
fn malformed_hash_verifies_nothing() {
    let h = PasswordHasher::fast_insecure_for_tests();
    assert!(!h.verify_blocking("pw", "not-a-hash"));
    assert!(!h.verify_blocking("", ""));
}

#[test]
fn concurrency_defaults_to_half_the_cores_and_is_never_zero() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let h = PasswordHasher::fast_insecure_for_tests();
    assert_eq!(h.max_concurrent(), (cores / 2).max(1));
    assert_eq!(h.with_max_concurrent(0).max_concurrent(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_verifications_through_one_slot_all_finish() {
    let h = PasswordHasher::fast_insecure_for_tests().with_max_concurrent(1);
    let phc = h.hash("pw".into()).await.expect("hash");
    let runs = (0..16).map(|i| {
        let (h, phc) = (h.clone(), phc.clone());
        tokio::spawn(async move {
            let pw = if i % 2 == 0 { "pw" } else { "wrong" };
            (i, h.verify(pw.into(), Some(phc)).await.expect("verify"))
        })
    });
    for run in runs.collect::<Vec<_>>() {
        let (i, ok) = run.await.expect("task");
        assert_eq!(ok, i % 2 == 0);
    }
}

#[test]
fn dummy_verification_always_fails() {
    let h = PasswordHasher::fast_insecure_for_tests();
    assert!(!h.verify_dummy_blocking(""));
    assert!(!h.verify_dummy_blocking("anything"));
}

#[test]
fn a_new_hasher_holds_a_dummy_hash_with_its_own_parameters() {
    for h in [
        PasswordHasher::owasp(),
        PasswordHasher::fast_insecure_for_tests(),
        PasswordHasher::with_params(64, 3, 2).expect("valid"),
    ] {
        let dummy = PasswordHash::new(&h.dummy).expect("the dummy hash parses");
        let params = Params::try_from(&dummy).expect("argon2 parameters");
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (h.params.m_cost(), h.params.t_cost(), h.params.p_cost()),
            "{}",
            h.dummy
        );
        assert!(!h.needs_rehash(&h.dummy), "{}", h.dummy);
        let real = h.hash_blocking("pw").expect("hash");
        assert_eq!(
            real.rsplit('$').next().map(str::len),
            h.dummy.rsplit('$').next().map(str::len),
            "the dummy digest is as long as a real one, so verifying costs the same"
        );
    }
}

#[test]
fn only_hashes_made_otherwise_need_a_rehash() {
    let h = PasswordHasher::with_params(16, 2, 1).expect("valid");
    let current = h.hash_blocking("pw").expect("hash");
    assert!(!h.needs_rehash(&current));
    let other = |m, t, p| {
        PasswordHasher::with_params(m, t, p)
            .expect("valid")
            .hash_blocking("pw")
            .expect("hash")
    };
    for (what, phc) in [
        ("memory", other(8, 2, 1)),
        ("iterations", other(16, 1, 1)),
        ("lanes", other(16, 2, 2)),
        ("stronger", other(32, 3, 1)),
        ("algorithm", current.replacen("$argon2id$", "$argon2i$", 1)),
        ("version", current.replacen("$v=19$", "$v=16$", 1)),
        ("malformed", "not-a-hash".to_owned()),
    ] {
        assert!(h.needs_rehash(&phc), "{what}: {phc}");
    }
    let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, h.params.clone())
        .hash_password(b"pw", &SaltString::generate(&mut OsRng))
        .expect("hash")
        .to_string();
    assert!(
        h.verify_blocking("pw", &argon2i),
        "old algorithms still verify"
    );
    assert!(h.needs_rehash(&argon2i));
}

/// Deliberately a timing test: an unknown user must not answer faster
/// than a wrong password. Argon2 at the OWASP parameters is the work
/// compared; the two kinds of login are interleaved (alternating which
/// goes first) and their medians compared, so a change of machine load
/// reaches both alike and stray slow runs do not count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_user_takes_as_long_as_a_wrong_password_at_owasp_parameters() {
    use crate::permission::PermissionSet;
    use crate::store::MemoryUserStore;
    use std::time::{Duration, Instant};

    const RUNS: usize = 50;
    let h = PasswordHasher::owasp().with_max_concurrent(1);
    let store = MemoryUserStore::new(h.clone());
    store
        .add_user("ann", "ann-password", PermissionSet::base(), ["reader"])
        .expect("add");
    let time = async |username: &str| {
        let start = Instant::now();
        let user = h
            .check_login(&store, username, "wrong-password")
            .await
            .expect("no store error");
        let took = start.elapsed();
        assert!(user.is_none(), "{username}");
        took
    };
    time("nobody").await;
    time("ann").await;
    let (mut unknown, mut wrong) = (Vec::with_capacity(RUNS), Vec::with_capacity(RUNS));
    for i in 0..RUNS {
        if i % 2 == 0 {
            unknown.push(time("nobody").await);
            wrong.push(time("ann").await);
        } else {
            wrong.push(time("ann").await);
            unknown.push(time("nobody").await);
        }
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64()
    };
    let (unknown, wrong) = (median(unknown), median(wrong));
    assert!(
        (unknown - wrong).abs() <= 0.2 * wrong,
        "median of {RUNS}: unknown user {:.2} ms, wrong password {:.2} ms",
        unknown * 1e3,
        wrong * 1e3
    );
}
