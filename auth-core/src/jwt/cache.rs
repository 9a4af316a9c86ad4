//! A bounded cache of verified tokens, so a token seen before skips the
//! signature check (an ECDSA, EdDSA or RSA verification costs tens of
//! microseconds; a lookup, well under one).
//!
//! What it keeps and what it still checks:
//!
//! - Entries are keyed by the SHA-256 of the token's bytes; the token itself
//!   is not stored. A token that differs in any byte (another encoding of the
//!   same ECDSA signature included) is another entry, verified on its own.
//! - Only tokens that passed every check are stored; a refusal is never cached.
//! - A hit re-runs every claim check (`exp`, `nbf`, `iat`, lifetime, `iss`,
//!   `aud`) against the clock of that moment, so a cached token is refused
//!   as soon as it expires, and before its `nbf`, exactly as a fresh one.
//! - A hit counts only when the key set used for this request still selects
//!   the very key that verified the token: a rotated, replaced or overridden
//!   key set misses and verifies again.
//! - Revocation is not the cache's business: [`JwtHandler`](super::JwtHandler)
//!   consults its revocation check after every validation, hit or miss.
//! - With the default claims mapping, which depends on the claims alone, the
//!   handler keeps the principal it made with the entry and hands out copies;
//!   a custom [`ClaimsMapper`](super::ClaimsMapper) runs on every request.
//! - It holds at most `capacity` entries; when full, expired entries go
//!   first, then arbitrary ones.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock, RwLock};

use aws_lc_rs::digest::{SHA256, digest};

use super::key::{JwtKey, KeySet};
use super::validate::ValidToken;
use crate::principal::Principal;

/// The SHA-256 of a token's bytes.
type TokenHash = [u8; 32];

pub(super) struct Entry {
    /// The key that verified the token.
    key: Arc<JwtKey>,
    /// `exp`, when the token has one, to prune expired entries first.
    exp: Option<i64>,
    /// The token's header facts and claims.
    pub(super) token: ValidToken,
    /// The principal the default claims mapping made of them, once made.
    pub(super) mapped: OnceLock<Principal>,
}

/// Verified tokens by the hash of their bytes; see the
/// [module documentation](self) for what a hit still checks.
///
/// On in every [`JwtHandler::new`](super::JwtHandler::new), with
/// [`DEFAULT_VERIFIED_CACHE`](super::DEFAULT_VERIFIED_CACHE) entries; sized
/// with [`JwtHandler::with_verified_cache`](super::JwtHandler::with_verified_cache),
/// turned off with [`JwtHandler::without_verified_cache`](super::JwtHandler::without_verified_cache),
/// and turned on for a bare validator with
/// [`JwtValidator::with_verified_cache`](super::JwtValidator::with_verified_cache).
///
/// ```
/// use auth_core::jwt::{Algorithm, JwtKey, JwtValidator, KeySet, TokenIssuer, Validation};
/// use auth_core::{AuthMethod, Principal};
///
/// let keys = std::sync::Arc::new(KeySet::single(
///     JwtKey::hmac(Algorithm::HS256, b"an-hmac-secret-of-at-least-32-bytes!").unwrap(),
/// ));
/// let token = TokenIssuer::new(keys.clone(), None).unwrap()
///     .issue(&Principal::new("42", AuthMethod::Jwt)).unwrap();
/// let validator = JwtValidator::new(keys, Validation::new()).with_verified_cache(1_000);
/// validator.validate(token.expose()).unwrap();
/// validator.validate(token.expose()).unwrap(); // no signature check this time
/// assert_eq!(validator.verified_cache().unwrap().len(), 1);
/// ```
pub struct VerifiedCache {
    capacity: usize,
    entries: RwLock<HashMap<TokenHash, Arc<Entry>>>,
}

impl fmt::Debug for VerifiedCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

impl VerifiedCache {
    /// A cache of at most `capacity` tokens (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The most tokens it holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many tokens it holds.
    pub fn len(&self) -> usize {
        self.entries.read().map(|e| e.len()).unwrap_or(0)
    }

    /// Whether it holds no token.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every token.
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
    }

    pub(super) fn hash(token: &str) -> TokenHash {
        let mut out = [0u8; 32];
        out.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
        out
    }

    /// The entry for this hash, if `keys` still selects the key that
    /// verified it. A poisoned lock is a miss: the token is verified again.
    pub(super) fn get(&self, hash: &TokenHash, keys: &KeySet) -> Option<Arc<Entry>> {
        let entry = self.entries.read().ok()?.get(hash).cloned()?;
        let current = keys.select(entry.token.kid.as_deref())?;
        Arc::ptr_eq(current, &entry.key).then_some(entry)
    }

    /// Stores a verified token, making room first when full.
    pub(super) fn insert(
        &self,
        hash: TokenHash,
        key: Arc<JwtKey>,
        token: ValidToken,
        now: i64,
    ) -> Arc<Entry> {
        let exp = token.claims.get("exp").and_then(serde_json::Value::as_i64);
        let entry = Arc::new(Entry {
            key,
            exp,
            token,
            mapped: OnceLock::new(),
        });
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= self.capacity && !entries.contains_key(&hash) {
                entries.retain(|_, e| e.exp.is_none_or(|exp| exp > now));
                // Still full of live tokens: drop an eighth at once, so the
                // scan above runs once per many insertions, not at each.
                if entries.len() >= self.capacity {
                    let keep = self.capacity - self.capacity.div_ceil(8);
                    let drop: Vec<TokenHash> =
                        entries.keys().take(entries.len() - keep).copied().collect();
                    for h in drop {
                        entries.remove(&h);
                    }
                }
            }
            entries.insert(hash, entry.clone());
        }
        entry
    }
}
