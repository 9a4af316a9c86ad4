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
mod tests;
