use super::*;

fn policy() -> ThrottlePolicy {
    ThrottlePolicy {
        free_attempts: 2,
        base_delay_secs: 1,
        max_delay_secs: 8,
        lockout_after: 7,
        lockout_secs: 600,
        account_ceiling: 100,
        account_max_delay_secs: 30,
        forget_after_secs: 3600,
        max_tracked: 3,
    }
}

/// The seconds a check says to wait (0: go ahead).
fn wait(r: AuthResult<()>) -> i64 {
    match r {
        Ok(()) => 0,
        Err(AuthError::Throttled { retry_after }) => retry_after,
        Err(e) => panic!("{e}"),
    }
}

fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(f)
}

#[test]
fn delays_double_after_the_free_attempts_then_lock_out() {
    run(async {
        let t = LoginThrottle::new(policy());
        let mut delays = Vec::new();
        for _ in 0..7 {
            t.record_failure("u", "ip", 0).await.expect("counted");
            delays.push(wait(t.check("u", "ip", 0).await));
        }
        assert_eq!(delays, [0, 0, 1, 2, 4, 8, 600]);
    });
}

#[test]
fn delay_expires_with_time() {
    run(async {
        let t = LoginThrottle::new(policy());
        for _ in 0..3 {
            t.record_failure("u", "ip", 100).await.expect("counted");
        }
        assert_eq!(wait(t.check("u", "ip", 100).await), 1);
        assert_eq!(wait(t.check("u", "ip", 101).await), 0);
    });
}

#[test]
fn success_resets_and_pairs_are_independent() {
    run(async {
        let t = LoginThrottle::new(policy());
        for _ in 0..5 {
            t.record_failure("u", "ip", 0).await.expect("counted");
        }
        assert!(t.check("u", "ip", 0).await.is_err());
        assert!(t.check("u", "other-ip", 0).await.is_ok());
        assert!(t.check("v", "ip", 0).await.is_ok());
        t.record_success("u", "ip").await.expect("cleared");
        assert!(t.check("u", "ip", 0).await.is_ok());
        // The account's count across addresses stays.
        let f = t.store.failures("u", "ip", -1).await.expect("read");
        assert_eq!((f.pair, f.account), (0, 5));
    });
}

#[test]
fn spellings_of_one_username_share_one_budget() {
    run(async {
        let t = LoginThrottle::new(policy());
        for name in ["alice", "Alice", "alice ", " ALICE"] {
            t.record_failure(name, "ip", 0).await.expect("counted");
        }
        assert_eq!(wait(t.check("alice", "ip", 0).await), 2);
    });
}

#[test]
fn rotating_addresses_hits_the_account_ceiling_which_slows_but_never_locks() {
    run(async {
        let t = LoginThrottle::new(ThrottlePolicy {
            account_ceiling: 5,
            max_tracked: 1000,
            ..policy()
        });
        // One failure from each of many addresses: no pair is held back.
        for i in 0..5 {
            t.record_failure("alice", &format!("10.0.0.{i}"), 0)
                .await
                .expect("counted");
        }
        assert!(t.check("alice", "192.0.2.1", 0).await.is_ok());
        let mut waits = Vec::new();
        for i in 5..12 {
            t.record_failure("alice", &format!("10.0.0.{i}"), 0)
                .await
                .expect("counted");
            waits.push(wait(t.check("alice", "192.0.2.1", 0).await));
        }
        // Spaced ever longer, capped: a clean address waits at most 30 s.
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(wait(t.check("alice", "192.0.2.1", 30).await), 0);
        // Other accounts are not slowed.
        assert!(t.check("bob", "10.0.0.1", 0).await.is_ok());
    });
}

#[test]
fn failures_older_than_the_window_are_forgotten() {
    run(async {
        let t = LoginThrottle::new(policy());
        for _ in 0..6 {
            t.record_failure("u", "ip", 0).await.expect("counted");
        }
        assert!(t.check("u", "ip", 0).await.is_err());
        t.record_failure("u", "ip", 3601).await.expect("counted");
        assert_eq!(
            wait(t.check("u", "ip", 3601).await),
            0,
            "counted afresh from one"
        );
    });
}

#[test]
fn guard_counts_wrong_passwords_and_refuses_while_held_back() {
    run(async {
        let t = LoginThrottle::new(policy());
        for _ in 0..3 {
            assert_eq!(t.guard("u", "ip", 0, async { Ok(false) }).await, Ok(false));
        }
        assert_eq!(
            t.guard("u", "ip", 0, async { Ok(true) }).await,
            Err(AuthError::Throttled { retry_after: 1 })
        );
        assert_eq!(t.guard("u", "ip", 1, async { Ok(true) }).await, Ok(true));
        assert_eq!(wait(t.check("u", "ip", 1).await), 0, "a success forgets");
    });
}

#[test]
fn concurrent_guesses_each_see_the_failures_before_them() {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            let t = LoginThrottle::new(policy());
            let tried = Arc::new(std::sync::atomic::AtomicU32::new(0));
            let guesses = (0..20).map(|_| {
                let (t, tried) = (t.clone(), tried.clone());
                tokio::spawn(async move {
                    t.guard("u", "ip", 0, async {
                        tried.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        tokio::task::yield_now().await;
                        Ok(false)
                    })
                    .await
                })
            });
            for guess in guesses.collect::<Vec<_>>() {
                let _ = guess.await.expect("joined");
            }
            // Two free failures, then the third sets a wait: no more.
            assert_eq!(tried.load(std::sync::atomic::Ordering::SeqCst), 3);
        });
}

#[test]
fn a_huge_username_is_kept_short() {
    assert_eq!(account_key(&"a".repeat(100_000)).len(), 256);
}

struct DownStore;

#[async_trait]
impl ThrottleStore for DownStore {
    async fn failures(&self, _: &str, _: &str, _: i64) -> AuthResult<Failures> {
        Err(AuthError::Unavailable("down".into()))
    }
    async fn add_failure(&self, _: &str, _: &str, _: i64, _: i64) -> AuthResult<Failures> {
        Err(AuthError::Unavailable("down".into()))
    }
    async fn clear(&self, _: &str, _: &str) -> AuthResult<()> {
        Err(AuthError::Unavailable("down".into()))
    }
}

#[test]
fn a_store_that_cannot_count_lets_no_password_be_tried() {
    run(async {
        let t = LoginThrottle::with_store(policy(), Arc::new(DownStore));
        let mut tried = false;
        let verdict = t
            .guard("u", "ip", 0, async {
                tried = true;
                Ok(true)
            })
            .await;
        assert!(
            matches!(verdict, Err(AuthError::Unavailable(_))),
            "{verdict:?}"
        );
        assert!(!tried);
    });
}

fn tracked(s: &MemoryThrottleStore) -> usize {
    s.counts.lock().map(|c| c.pairs.len()).unwrap_or(0)
}

#[test]
fn memory_tracking_is_bounded_and_drops_stale_then_stalest() {
    run(async {
        let s = MemoryThrottleStore::new(3);
        for (i, user) in ["a", "b", "c"].iter().enumerate() {
            s.add_failure(user, "ip", i as i64, -1)
                .await
                .expect("counted");
        }
        assert_eq!(tracked(&s), 3);
        s.add_failure("c", "ip", 2, -1).await.expect("counted");
        assert_eq!(tracked(&s), 3, "a tracked pair evicts nobody");
        s.add_failure("d", "ip", 3, -1).await.expect("counted");
        assert_eq!(tracked(&s), 3);
        assert_eq!(
            s.failures("a", "ip", -1).await.expect("read").pair,
            0,
            "the stalest went"
        );
        assert_eq!(s.failures("b", "ip", -1).await.expect("read").pair, 1);
        // With every count stale, a new one clears them all.
        s.add_failure("e", "ip", 100, 50).await.expect("counted");
        assert_eq!(tracked(&s), 1);
    });
}
