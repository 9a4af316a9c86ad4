//! Password throttling that protects the user, not the attacker.
//!
//! Every password check (the token route, the Basic handler, a provider's
//! login, a self-update with the current password) goes through one
//! [`LoginThrottle`], keyed by the *account* (the username, normalised:
//! `Alice `, `alice` and `ALICE` are one account) and the client's
//! address (as the trusted-proxy rule of the web layer tells it):
//!
//! - **Per (account, address)**: after [`free_attempts`](ThrottlePolicy::free_attempts)
//!   failures, each further one doubles the wait, up to
//!   [`max_delay_secs`](ThrottlePolicy::max_delay_secs); after
//!   [`lockout_after`](ThrottlePolicy::lockout_after) the pair waits
//!   [`lockout_secs`](ThrottlePolicy::lockout_secs). Only that address is
//!   held back: a guesser cannot lock the real user out from elsewhere.
//! - **Per account, across every address**: past
//!   [`account_ceiling`](ThrottlePolicy::account_ceiling) failures, attempts
//!   on the account are spaced (429 with `Retry-After`), however many
//!   addresses a guesser rotates through. The spacing is capped at
//!   [`account_max_delay_secs`](ThrottlePolicy::account_max_delay_secs), so
//!   a correct login from an address with no failures is slowed, never
//!   locked out.
//! - A success forgets the pair's failures; the account's decay with time
//!   only, so no login (of a look-alike account, say) resets a guesser.
//! - Password checks of one account run one at a time on an instance, so
//!   concurrent guesses each see the failures before them.
//! - Failures older than [`forget_after_secs`](ThrottlePolicy::forget_after_secs)
//!   count no more.
//!
//! The counters live in a [`ThrottleStore`]: in memory by default
//! ([`MemoryThrottleStore`], bounded), or in a database shared by every
//! instance (`auth-store`'s SQLite and PostgreSQL stores), so a budget of N
//! failures admits N in all, not N per instance.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::error::{AuthError, AuthResult};

/// Throttling settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures of an (account, address) pair allowed before any delay.
    pub free_attempts: u32,
    /// The first delay, in seconds; each further failure doubles it.
    pub base_delay_secs: i64,
    /// The longest delay of a pair before its lockout, in seconds.
    pub max_delay_secs: i64,
    /// Failures after which the pair is locked out.
    pub lockout_after: u32,
    /// How long a pair's lockout lasts, in seconds.
    pub lockout_secs: i64,
    /// Failures of one account, from every address, before attempts on it
    /// are spaced.
    pub account_ceiling: u32,
    /// The longest spacing of attempts on an account over its ceiling, in
    /// seconds: the most a correct login from a clean address waits.
    pub account_max_delay_secs: i64,
    /// Failures older than this, in seconds, are forgotten.
    pub forget_after_secs: i64,
    /// How many pairs (and as many accounts) the in-memory store tracks at
    /// most; the stalest are dropped first.
    pub max_tracked: usize,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            free_attempts: 3,
            base_delay_secs: 1,
            max_delay_secs: 300,
            lockout_after: 10,
            lockout_secs: 15 * 60,
            account_ceiling: 20,
            account_max_delay_secs: 30,
            forget_after_secs: 15 * 60,
            max_tracked: 100_000,
        }
    }
}

/// Failures counted so far: of one (account, address) pair and of the
/// account across every address, each with the time of its last failure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failures {
    /// Failures of the pair.
    pub pair: u32,
    /// When the pair last failed (Unix seconds).
    pub pair_last: i64,
    /// Failures of the account, from every address.
    pub account: u32,
    /// When the account last failed (Unix seconds).
    pub account_last: i64,
}

/// Where failure counters live. Implementations count atomically, so that
/// instances sharing a store share one budget.
#[async_trait]
pub trait ThrottleStore: Send + Sync + 'static {
    /// The failures of `account` and of (`account`, `addr`), forgetting
    /// those whose last failure is before `since`.
    async fn failures(&self, account: &str, addr: &str, since: i64) -> AuthResult<Failures>;

    /// Counts one failure of (`account`, `addr`) at `now` (counts whose last
    /// failure is before `since` start again from one); the counts after it.
    async fn add_failure(
        &self,
        account: &str,
        addr: &str,
        now: i64,
        since: i64,
    ) -> AuthResult<Failures>;

    /// Forgets the failures of (`account`, `addr`), after a correct
    /// password from there. The account's count across addresses stays:
    /// it decays with time only, so no login (of a look-alike account, say)
    /// resets a guesser's budget.
    async fn clear(&self, account: &str, addr: &str) -> AuthResult<()>;
}

#[derive(Debug, Clone, Copy)]
struct Count {
    failures: u32,
    last: i64,
}

impl Count {
    fn live(self, since: i64) -> Count {
        if self.last < since {
            Count {
                failures: 0,
                last: self.last,
            }
        } else {
            self
        }
    }
}

#[derive(Debug, Default)]
struct Counts {
    pairs: HashMap<(String, String), Count>,
    accounts: HashMap<String, Count>,
}

/// Failure counters in memory, for one instance; at most
/// [`max_tracked`](ThrottlePolicy::max_tracked) pairs and accounts, the
/// stalest dropped first.
#[derive(Debug)]
pub struct MemoryThrottleStore {
    counts: Mutex<Counts>,
    max_tracked: usize,
}

impl MemoryThrottleStore {
    /// A store tracking at most `max_tracked` pairs and accounts.
    pub fn new(max_tracked: usize) -> Self {
        Self {
            counts: Mutex::new(Counts::default()),
            max_tracked: max_tracked.max(1),
        }
    }

    fn lock(&self) -> AuthResult<std::sync::MutexGuard<'_, Counts>> {
        self.counts
            .lock()
            .map_err(|_| AuthError::Unavailable("login throttle: a writer panicked".into()))
    }
}

/// Makes room for one more key in `map`: first forgets every stale count,
/// then, if the map is still full, the stalest one.
fn make_room<K: Clone + Eq + std::hash::Hash>(
    map: &mut HashMap<K, Count>,
    key: &K,
    max: usize,
    since: i64,
) {
    if map.len() < max || map.contains_key(key) {
        return;
    }
    map.retain(|_, c| c.last >= since);
    if map.len() >= max
        && let Some(stalest) = map
            .iter()
            .min_by_key(|(_, c)| c.last)
            .map(|(k, _)| k.clone())
    {
        map.remove(&stalest);
    }
}

fn bump(count: Option<Count>, now: i64, since: i64) -> Count {
    let before = count.map_or(0, |c| c.live(since).failures);
    Count {
        failures: before.saturating_add(1),
        last: now,
    }
}

#[async_trait]
impl ThrottleStore for MemoryThrottleStore {
    async fn failures(&self, account: &str, addr: &str, since: i64) -> AuthResult<Failures> {
        let counts = self.lock()?;
        let pair = counts
            .pairs
            .get(&(account.to_owned(), addr.to_owned()))
            .map(|c| c.live(since));
        let whole = counts.accounts.get(account).map(|c| c.live(since));
        Ok(Failures {
            pair: pair.map_or(0, |c| c.failures),
            pair_last: pair.map_or(0, |c| c.last),
            account: whole.map_or(0, |c| c.failures),
            account_last: whole.map_or(0, |c| c.last),
        })
    }

    async fn add_failure(
        &self,
        account: &str,
        addr: &str,
        now: i64,
        since: i64,
    ) -> AuthResult<Failures> {
        let mut counts = self.lock()?;
        let max = self.max_tracked;
        let key = (account.to_owned(), addr.to_owned());
        make_room(&mut counts.pairs, &key, max, since);
        let pair = bump(counts.pairs.get(&key).copied(), now, since);
        counts.pairs.insert(key, pair);
        let account_key = account.to_owned();
        make_room(&mut counts.accounts, &account_key, max, since);
        let whole = bump(counts.accounts.get(account).copied(), now, since);
        counts.accounts.insert(account_key, whole);
        Ok(Failures {
            pair: pair.failures,
            pair_last: now,
            account: whole.failures,
            account_last: now,
        })
    }

    async fn clear(&self, account: &str, addr: &str) -> AuthResult<()> {
        let mut counts = self.lock()?;
        counts.pairs.remove(&(account.to_owned(), addr.to_owned()));
        Ok(())
    }
}

/// The account a username names, as the throttle counts it: trimmed and
/// lower-cased, so `Alice `, `alice` and `ALICE` share one budget.
///
/// ```
/// use auth_core::throttle::account_key;
/// assert_eq!(account_key(" Alice\t"), "alice");
/// assert_eq!(account_key("ÉLODIE"), "élodie");
/// ```
pub fn account_key(username: &str) -> String {
    // Longer names are no accounts; a cap keeps a flood of them small.
    username
        .trim()
        .chars()
        .take(MAX_ACCOUNT_CHARS)
        .collect::<String>()
        .to_lowercase()
}

/// The longest account name the throttle keeps, in characters.
const MAX_ACCOUNT_CHARS: usize = 256;

/// The one throttle of every password check (see the [module docs](self)).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use auth_core::throttle::{LoginThrottle, ThrottlePolicy};
///
/// let t = LoginThrottle::new(ThrottlePolicy { free_attempts: 1, lockout_after: 3, ..Default::default() });
/// use auth_core::AuthError;
///
/// assert!(t.check("alice", "10.0.0.1", 0).await.is_ok());
/// t.record_failure("alice", "10.0.0.1", 0).await.unwrap();
/// t.record_failure("Alice ", "10.0.0.1", 0).await.unwrap(); // the same account
/// // Wait one second:
/// assert_eq!(t.check("alice", "10.0.0.1", 0).await, Err(AuthError::Throttled { retry_after: 1 }));
/// assert!(t.check("alice", "10.0.0.2", 0).await.is_ok());    // another address is not held back
/// # });
/// ```
#[derive(Clone)]
pub struct LoginThrottle {
    policy: ThrottlePolicy,
    store: Arc<dyn ThrottleStore>,
    /// One password check at a time per account on this instance, so that
    /// concurrent guesses each see the failures before them.
    turns: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginThrottle")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl LoginThrottle {
    /// A throttle with this policy, counting in memory.
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self::with_store(
            policy,
            Arc::new(MemoryThrottleStore::new(policy.max_tracked)),
        )
    }

    /// A throttle with this policy, counting in `store` (shared by every
    /// instance using it).
    pub fn with_store(policy: ThrottlePolicy, store: Arc<dyn ThrottleStore>) -> Self {
        Self {
            policy,
            store,
            turns: Arc::default(),
        }
    }

    /// Runs `f` in the account's turn: checks of one account on this
    /// instance run one after another (instances sharing a store may still
    /// overlap, by at most one check each).
    async fn in_turn<T>(
        &self,
        account: &str,
        f: impl std::future::Future<Output = AuthResult<T>>,
    ) -> AuthResult<T> {
        let poisoned = || AuthError::Unavailable("login throttle: a writer panicked".into());
        let turn = self
            .turns
            .lock()
            .map_err(|_| poisoned())?
            .entry(account.to_owned())
            .or_default()
            .clone();
        let out = {
            let _mine = turn.lock().await;
            f.await
        };
        let mut turns = self.turns.lock().map_err(|_| poisoned())?;
        // Only the map and this call hold it: nobody waits, forget it.
        if Arc::strong_count(&turn) == 2 {
            turns.remove(account);
        }
        out
    }

    /// The policy.
    pub fn policy(&self) -> &ThrottlePolicy {
        &self.policy
    }

    /// How long the pair waits after `failures` failures, the last at `last`.
    fn pair_wait(&self, failures: u32, last: i64, now: i64) -> i64 {
        let p = &self.policy;
        let delay = if failures >= p.lockout_after {
            p.lockout_secs
        } else if failures > p.free_attempts {
            let exp = (failures - p.free_attempts - 1).min(30);
            p.base_delay_secs
                .saturating_mul(1i64 << exp)
                .min(p.max_delay_secs)
        } else {
            0
        };
        last.saturating_add(delay).saturating_sub(now)
    }

    /// How long any attempt on the account waits after `failures` failures
    /// from every address, the last at `last`.
    fn account_wait(&self, failures: u32, last: i64, now: i64) -> i64 {
        let p = &self.policy;
        if failures <= p.account_ceiling {
            return 0;
        }
        let exp = (failures - p.account_ceiling - 1).min(30);
        let delay = p
            .base_delay_secs
            .saturating_mul(1i64 << exp)
            .min(p.account_max_delay_secs);
        last.saturating_add(delay).saturating_sub(now)
    }

    fn since(&self, now: i64) -> i64 {
        now.saturating_sub(self.policy.forget_after_secs)
    }

    /// `Ok(())` when a password may be tried now for `username` from
    /// `addr`; [`AuthError::Throttled`] with the seconds to wait otherwise.
    /// A store that cannot answer is [`AuthError::Unavailable`]: nothing is
    /// tried (fail closed).
    pub async fn check(&self, username: &str, addr: &str, now: i64) -> AuthResult<()> {
        let account = account_key(username);
        let f = self.store.failures(&account, addr, self.since(now)).await?;
        let wait = self
            .pair_wait(f.pair, f.pair_last, now)
            .max(self.account_wait(f.account, f.account_last, now));
        if wait > 0 {
            Err(AuthError::Throttled { retry_after: wait })
        } else {
            Ok(())
        }
    }

    /// Records a failed password check.
    pub async fn record_failure(&self, username: &str, addr: &str, now: i64) -> AuthResult<()> {
        let account = account_key(username);
        self.store
            .add_failure(&account, addr, now, self.since(now))
            .await
            .map(drop)
    }

    /// Forgets the failures of the pair after a correct password (see
    /// [`ThrottleStore::clear`]).
    pub async fn record_success(&self, username: &str, addr: &str) -> AuthResult<()> {
        self.store.clear(&account_key(username), addr).await
    }

    /// Runs one password check under the throttle: refused at once with
    /// [`AuthError::Throttled`] while held back; otherwise `verify` runs,
    /// and an `Ok(false)` (a wrong password) or an
    /// [`AuthError::InvalidCredentials`] counts as a failure.
    pub async fn guard<F>(
        &self,
        username: &str,
        addr: &str,
        now: i64,
        verify: F,
    ) -> AuthResult<bool>
    where
        F: std::future::Future<Output = AuthResult<bool>> + Send,
    {
        self.in_turn(&account_key(username), async {
            self.check(username, addr, now).await?;
            match verify.await {
                Ok(true) => {
                    self.record_success(username, addr).await?;
                    Ok(true)
                }
                Ok(false) | Err(AuthError::InvalidCredentials) => {
                    self.record_failure(username, addr, now).await?;
                    Ok(false)
                }
                Err(other) => Err(other),
            }
        })
        .await
    }
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::new(ThrottlePolicy::default())
    }
}

#[cfg(test)]
mod tests {
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
}
