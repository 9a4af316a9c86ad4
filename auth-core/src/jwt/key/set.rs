//! [`KeySet`]: verification keys selected by `kid`.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::JwtKey;

/// Verification keys by `kid`.
///
/// A token naming a `kid` is checked against that key only; a token without
/// one is checked against the set's key without a `kid`, or its only key.
/// Keys are never fetched from the token (`jku`, `x5u`, `jwk`, `x5c` are
/// ignored). Several keys at once allow rotation.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    by_kid: HashMap<String, Arc<JwtKey>>,
    anonymous: Option<Arc<JwtKey>>,
    all: Vec<Arc<JwtKey>>,
}

impl KeySet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A set of one key.
    pub fn single(key: JwtKey) -> Self {
        Self::new().with(key)
    }

    /// Adds a key; a later key with the same `kid` replaces the earlier one.
    #[must_use]
    pub fn with(mut self, key: JwtKey) -> Self {
        self.insert(key);
        self
    }

    /// Adds a key; a later key with the same `kid` replaces the earlier one.
    pub fn insert(&mut self, key: JwtKey) {
        self.insert_arc(Arc::new(key));
    }

    /// Adds a shared key; a later key with the same `kid` replaces the earlier one.
    pub fn insert_arc(&mut self, key: Arc<JwtKey>) {
        match key.kid.clone() {
            Some(kid) => {
                if let Some(old) = self.by_kid.insert(kid, key.clone()) {
                    self.all.retain(|k| !Arc::ptr_eq(k, &old));
                }
            }
            None => {
                if let Some(old) = self.anonymous.replace(key.clone()) {
                    self.all.retain(|k| !Arc::ptr_eq(k, &old));
                }
            }
        }
        self.all.push(key);
    }

    /// The key for a token's `kid`.
    pub fn select(&self, kid: Option<&str>) -> Option<&Arc<JwtKey>> {
        match kid {
            Some(kid) => self.by_kid.get(kid),
            None => self
                .anonymous
                .as_ref()
                .or_else(|| (self.all.len() == 1).then(|| &self.all[0])),
        }
    }

    /// Every key.
    pub fn keys(&self) -> impl Iterator<Item = &Arc<JwtKey>> {
        self.all.iter()
    }

    /// Whether the set has no key.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// The public keys as a JWK Set document (`{"keys": [...]}`); HMAC keys are left out.
    pub fn to_jwks(&self) -> Value {
        serde_json::json!({"keys": self.all.iter().filter_map(|k| k.public_jwk()).collect::<Vec<_>>()})
    }
}
