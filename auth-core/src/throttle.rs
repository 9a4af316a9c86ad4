//! Login throttling: failed logins per (username, client address) back off
//! exponentially, then lock out.

use std::collections::HashMap;
use std::sync::Mutex;

/// Throttling settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures allowed before any delay.
    pub free_attempts: u32,
    /// The first delay, in seconds; each further failure doubles it.
    pub base_delay_secs: i64,
    /// The longest delay, in seconds.
    pub max_delay_secs: i64,
    /// Failures after which the pair is locked out.
    pub lockout_after: u32,
    /// How long a lockout lasts, in seconds.
    pub lockout_secs: i64,
    /// How many (username, address) pairs are tracked at most; the stalest
    /// are dropped first.
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
            max_tracked: 100_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    blocked_until: i64,
    last_seen: i64,
}

/// Tracks failed logins per (username, client address).
///
/// ```
/// use auth_core::throttle::{LoginThrottle, ThrottlePolicy};
///
/// let t = LoginThrottle::new(ThrottlePolicy { free_attempts: 1, lockout_after: 3, ..Default::default() });
/// assert!(t.check("alice", "10.0.0.1", 0).is_ok());
/// t.record_failure("alice", "10.0.0.1", 0);
/// t.record_failure("alice", "10.0.0.1", 0);
/// assert_eq!(t.check("alice", "10.0.0.1", 0), Err(1)); // wait one second
/// assert!(t.check("alice", "10.0.0.2", 0).is_ok());    // another address is not affected
/// ```
#[derive(Debug)]
pub struct LoginThrottle {
    policy: ThrottlePolicy,
    entries: Mutex<HashMap<(String, String), Entry>>,
}

impl LoginThrottle {
    /// A throttle with this policy.
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self {
            policy,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &ThrottlePolicy {
        &self.policy
    }

    /// `Ok(())` when a login may be tried now, or `Err(seconds)` to wait.
    pub fn check(&self, username: &str, addr: &str, now: i64) -> Result<(), i64> {
        let Ok(entries) = self.entries.lock() else {
            return Err(self.policy.lockout_secs);
        };
        match entries.get(&(username.to_owned(), addr.to_owned())) {
            Some(e) if e.blocked_until > now => Err(e.blocked_until - now),
            _ => Ok(()),
        }
    }

    /// Records a failed login and sets the next delay.
    pub fn record_failure(&self, username: &str, addr: &str, now: i64) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        let p = self.policy;
        let key = (username.to_owned(), addr.to_owned());
        if entries.len() >= p.max_tracked && !entries.contains_key(&key) {
            // Make room: first forget every pair no longer held back, then,
            // if all are, the stalest one.
            entries.retain(|_, e| e.blocked_until > now);
            if entries.len() >= p.max_tracked {
                let stalest = entries
                    .iter()
                    .min_by_key(|(_, e)| e.last_seen)
                    .map(|(k, _)| k.clone());
                if let Some(k) = stalest {
                    entries.remove(&k);
                }
            }
        }
        let e = entries.entry(key).or_insert(Entry {
            failures: 0,
            blocked_until: 0,
            last_seen: now,
        });
        e.failures = e.failures.saturating_add(1);
        e.last_seen = now;
        if e.failures >= p.lockout_after {
            e.blocked_until = now + p.lockout_secs;
        } else if e.failures > p.free_attempts {
            let exp = (e.failures - p.free_attempts - 1).min(30);
            let delay = p
                .base_delay_secs
                .saturating_mul(1i64 << exp)
                .min(p.max_delay_secs);
            e.blocked_until = now + delay;
        }
    }

    /// Forgets the failures of a pair after a successful login.
    pub fn record_success(&self, username: &str, addr: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&(username.to_owned(), addr.to_owned()));
        }
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
            max_tracked: 3,
        }
    }

    #[test]
    fn delays_double_after_the_free_attempts_then_lock_out() {
        let t = LoginThrottle::new(policy());
        let mut delays = Vec::new();
        for _ in 0..7 {
            t.record_failure("u", "ip", 0);
            delays.push(t.check("u", "ip", 0).err().unwrap_or(0));
        }
        assert_eq!(delays, [0, 0, 1, 2, 4, 8, 600]);
    }

    #[test]
    fn delay_expires_with_time() {
        let t = LoginThrottle::new(policy());
        for _ in 0..3 {
            t.record_failure("u", "ip", 100);
        }
        assert_eq!(t.check("u", "ip", 100), Err(1));
        assert_eq!(t.check("u", "ip", 101), Ok(()));
    }

    #[test]
    fn success_resets_and_pairs_are_independent() {
        let t = LoginThrottle::new(policy());
        for _ in 0..5 {
            t.record_failure("u", "ip", 0);
        }
        assert!(t.check("u", "ip", 0).is_err());
        assert!(t.check("u", "other-ip", 0).is_ok());
        assert!(t.check("v", "ip", 0).is_ok());
        t.record_success("u", "ip");
        assert!(t.check("u", "ip", 0).is_ok());
    }

    fn tracked(t: &LoginThrottle) -> usize {
        t.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    #[test]
    fn tracking_is_bounded_and_drops_the_stalest_held_pair() {
        let t = LoginThrottle::new(ThrottlePolicy {
            lockout_after: 3,
            ..policy()
        });
        // Three pairs locked out (held back for 600 s), filling the table.
        for (i, user) in ["a", "b", "c"].iter().enumerate() {
            for _ in 0..3 {
                t.record_failure(user, "ip", i as i64);
            }
        }
        assert_eq!(tracked(&t), 3);
        // More failures of a tracked pair evict nobody.
        t.record_failure("c", "ip", 2);
        assert_eq!(tracked(&t), 3);
        assert!(t.check("a", "ip", 3).is_err());
        // A new pair evicts the stalest.
        t.record_failure("d", "ip", 3);
        assert_eq!(tracked(&t), 3);
        assert!(
            t.check("a", "ip", 3).is_ok(),
            "the stalest pair was dropped"
        );
        assert!(t.check("b", "ip", 3).is_err());
    }

    #[test]
    fn a_full_table_first_forgets_pairs_no_longer_held_back() {
        let t = LoginThrottle::new(policy());
        for user in ["a", "b", "c"] {
            t.record_failure(user, "ip", 0); // a free attempt: tracked, not held back
        }
        assert_eq!(tracked(&t), 3);
        t.record_failure("d", "ip", 1);
        assert_eq!(tracked(&t), 1);
    }
}
