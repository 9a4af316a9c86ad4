//! Revoked access tokens, checked on every request without a lock held
//! across anything slow.

use std::collections::HashMap;
use std::sync::RwLock;

/// Answers "has this access token been revoked?" on the request path.
///
/// Checks are synchronous and must be fast: implementations keep what they
/// need in memory (a database-backed store loads and updates its copy), so
/// a revocation takes effect at once on the instance that made it.
pub trait RevocationCheck: Send + Sync + 'static {
    /// Whether the token with this `jti`, of the session `sid`, issued to
    /// `sub` at `iat`, is revoked.
    fn is_revoked(&self, jti: Option<&str>, sid: Option<&str>, sub: &str, iat: Option<i64>)
    -> bool;
}

/// Revocations in memory: single tokens by `jti`, every token of a session
/// by its `sid` (after a logout or a refresh token's reuse), and every token
/// of a user issued up to a cut-off time (after a password change or
/// disabling).
///
/// Cut-offs are whole seconds, as `iat` is: a token issued in the same
/// second as its user's cut-off is refused with the older ones (fail
/// closed), so a login in the very second of a password change may have to
/// be repeated a second later.
///
/// Tokens are revoked by `jti`, never by a hash of the token text: an ECDSA
/// signature has more than one valid encoding, so the same token can be
/// presented in two spellings.
///
/// ```
/// use auth_core::store::{MemoryRevocations, RevocationCheck};
///
/// let r = MemoryRevocations::default();
/// r.revoke_jti("abc", 2_000_000_000);
/// assert!(r.is_revoked(Some("abc"), None, "alice", Some(1)));
/// assert!(!r.is_revoked(Some("def"), None, "alice", Some(1)));
/// r.revoke_session("s-1", 2_000_000_000);
/// assert!(r.is_revoked(Some("def"), Some("s-1"), "alice", Some(1)));
/// assert!(!r.is_revoked(Some("def"), Some("s-2"), "alice", Some(1)));
/// r.revoke_user_tokens("alice", 100);
/// assert!(r.is_revoked(Some("def"), None, "alice", Some(100)));
/// assert!(!r.is_revoked(Some("def"), None, "alice", Some(101)));
/// ```
#[derive(Debug, Default)]
pub struct MemoryRevocations {
    jtis: RwLock<HashMap<String, i64>>,
    sessions: RwLock<HashMap<String, i64>>,
    users: RwLock<HashMap<String, i64>>,
}

impl MemoryRevocations {
    /// Revokes one token until its expiry (after which it is refused as
    /// expired anyway, and the entry may be pruned).
    pub fn revoke_jti(&self, jti: &str, expires_at: i64) {
        if let Ok(mut jtis) = self.jtis.write() {
            jtis.insert(jti.to_owned(), expires_at);
        }
    }

    /// Revokes every token of the session `sid` until `expires_at` (when
    /// the last access token the session can have had expires).
    pub fn revoke_session(&self, sid: &str, expires_at: i64) {
        if let Ok(mut sessions) = self.sessions.write() {
            let entry = sessions.entry(sid.to_owned()).or_insert(expires_at);
            *entry = (*entry).max(expires_at);
        }
    }

    /// Revokes every token of `sub` issued at or before `cutoff`.
    pub fn revoke_user_tokens(&self, sub: &str, cutoff: i64) {
        if let Ok(mut users) = self.users.write() {
            let entry = users.entry(sub.to_owned()).or_insert(cutoff);
            *entry = (*entry).max(cutoff);
        }
    }

    /// Drops entries for tokens expired before `now`.
    pub fn prune(&self, now: i64) {
        if let Ok(mut jtis) = self.jtis.write() {
            jtis.retain(|_, exp| *exp >= now);
        }
        if let Ok(mut sessions) = self.sessions.write() {
            sessions.retain(|_, exp| *exp >= now);
        }
    }

    /// How many single-token revocations are held.
    pub fn len(&self) -> usize {
        self.jtis.read().map(|j| j.len()).unwrap_or(0)
    }

    /// Whether no single-token revocation is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl RevocationCheck for MemoryRevocations {
    fn is_revoked(
        &self,
        jti: Option<&str>,
        sid: Option<&str>,
        sub: &str,
        iat: Option<i64>,
    ) -> bool {
        // A poisoned lock means a writer panicked: fail closed.
        let Ok(jtis) = self.jtis.read() else {
            return true;
        };
        if jti.is_some_and(|j| jtis.contains_key(j)) {
            return true;
        }
        drop(jtis);
        if let Some(sid) = sid {
            let Ok(sessions) = self.sessions.read() else {
                return true;
            };
            if sessions.contains_key(sid) {
                return true;
            }
        }
        let Ok(users) = self.users.read() else {
            return true;
        };
        match users.get(sub) {
            // A token without iat cannot prove it is newer than the cut-off.
            Some(cutoff) => iat.is_none_or(|iat| iat <= *cutoff),
            None => false,
        }
    }
}
