//! A bounded cache of verified tokens, so a token seen before skips the
//! signature check (an ECDSA, EdDSA or RSA verification costs tens of
//! microseconds; a lookup, well under one).
//!
//! What it keeps and what it still checks:
//!
//! - Entries are keyed by the token's bytes: a 64-bit hash of them under
//!   a seed the cache draws for itself finds the entry, and a constant-time
//!   comparison with the bytes the entry keeps decides the hit, so a token
//!   whose hash collides with a cached one is verified on its own. A token
//!   that differs in any byte (another encoding of the same ECDSA signature
//!   included) is another entry. The kept bytes are zeroed when the entry
//!   goes.
//! - Only tokens that passed every check are stored; a refusal is never cached.
//! - A hit re-runs every check that depends on the clock (`exp`, `nbf`,
//!   `iat`, lifetime) against the clock of that moment, so a cached token is
//!   refused as soon as it expires, and before its `nbf`, exactly as a fresh
//!   one. The other claim checks (`iss`, `aud`, required claims, claim
//!   types) depend on the token's bytes and the validator's options alone,
//!   and neither changes under an entry: a cache belongs to one validator,
//!   whose options are fixed when it is made.
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
use std::hash::BuildHasher;
use std::sync::{Arc, OnceLock, RwLock};

use secrecy::{ExposeSecret, SecretSlice};

use super::key::{JwtKey, KeySet};
use super::validate::{Times, ValidToken};
use crate::principal::Principal;

/// The seeded hash of a token's bytes: where its entry is, not proof that
/// the entry is its own.
pub(super) type TokenHash = u64;

pub(super) struct Entry {
    /// The token's bytes, compared in constant time on every hit.
    bytes: SecretSlice<u8>,
    /// The key that verified the token.
    key: Arc<JwtKey>,
    /// Its `exp`, `nbf` and `iat`, checked against the clock on every hit;
    /// `exp` also prunes expired entries first.
    pub(super) times: Times,
    /// The token's header facts and claims.
    pub(super) token: ValidToken,
    /// The principal the default claims mapping made of them, once made.
    pub(super) mapped: OnceLock<Principal>,
}

/// Verified tokens by their bytes. A hit skips the signature check only:
/// the clock-dependent checks (`exp`, `nbf`, `iat`, lifetime) run again
/// against the clock of that moment, and the handler's revocation check
/// runs as for a fresh token; a refusal is never cached.
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
    /// The seed of [`hash`](Self::hash), drawn for this cache alone.
    seed: foldhash::fast::RandomState,
    /// The hashes are already seeded: the map need not seed them again.
    entries: RwLock<HashMap<TokenHash, Arc<Entry>, foldhash::fast::FixedState>>,
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
            seed: foldhash::fast::RandomState::default(),
            entries: RwLock::new(HashMap::default()),
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

    /// Where `token`'s entry would be.
    pub(super) fn hash(&self, token: &str) -> TokenHash {
        self.seed.hash_one(token.as_bytes())
    }

    /// The entry of `token` (found at `hash`), if it holds these very bytes
    /// and `keys` still selects the key that verified it. A poisoned lock
    /// is a miss: the token is verified again.
    pub(super) fn get(&self, hash: TokenHash, token: &str, keys: &KeySet) -> Option<Arc<Entry>> {
        let entry = self.entries.read().ok()?.get(&hash).cloned()?;
        if !constant_time_eq::constant_time_eq(entry.bytes.expose_secret(), token.as_bytes()) {
            return None;
        }
        let current = keys.select(entry.token.kid.as_deref())?;
        Arc::ptr_eq(current, &entry.key).then_some(entry)
    }

    /// Stores a verified token, making room first when full. An entry of
    /// another token at the same hash is replaced.
    pub(super) fn insert(
        &self,
        hash: TokenHash,
        bytes: &str,
        key: Arc<JwtKey>,
        token: ValidToken,
        times: Times,
        now: i64,
    ) -> Arc<Entry> {
        let entry = Arc::new(Entry {
            bytes: SecretSlice::from(bytes.as_bytes().to_vec()),
            key,
            times,
            token,
            mapped: OnceLock::new(),
        });
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= self.capacity && !entries.contains_key(&hash) {
                entries.retain(|_, e| e.times.exp.is_none_or(|exp| exp > now));
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

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;
    use crate::jwt::Algorithm;

    fn keys() -> KeySet {
        KeySet::single(
            JwtKey::hmac(Algorithm::HS256, b"a-cache-test-secret-of-32-bytes!").expect("key"),
        )
    }

    fn times() -> Times {
        Times {
            exp: None,
            nbf: None,
            iat: None,
        }
    }

    fn valid() -> ValidToken {
        ValidToken {
            kid: None,
            claims: Map::new(),
        }
    }

    #[test]
    fn an_entry_found_by_hash_serves_only_its_own_bytes() {
        let cache = VerifiedCache::new(8);
        let keys = keys();
        let key = keys.select(None).expect("the one key").clone();
        let hash = cache.hash("a.b.c");
        cache.insert(hash, "a.b.c", key, valid(), times(), 0);
        assert!(cache.get(hash, "a.b.c", &keys).is_some());
        // Another token whose hash landed on the same entry is a miss.
        assert!(cache.get(hash, "a.b.d", &keys).is_none());
        assert!(cache.get(hash, "a.b.c.", &keys).is_none());
        assert!(cache.get(hash, "", &keys).is_none());
    }

    #[test]
    fn two_caches_hash_the_same_token_apart() {
        // Each cache draws its own seed: the hash is where an entry is,
        // the bytes compared on a hit what it is.
        let hashes: std::collections::HashSet<TokenHash> = (0..4)
            .map(|_| VerifiedCache::new(1).hash("a.b.c"))
            .collect();
        assert!(hashes.len() > 1, "{hashes:?}");
    }
}
