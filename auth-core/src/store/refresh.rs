//! Refresh tokens as stores keep them: only their hash, chained in
//! families, rotated once each ([`RefreshStore`], [`MemoryRefreshStore`]).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use aws_lc_rs::digest;

use crate::error::{AuthError, AuthResult};

/// The SHA-256 of a refresh token: what stores keep instead of the token.
pub type TokenHash = [u8; 32];

/// Hashes a refresh token for storage. Refresh tokens carry 256 random bits,
/// so a fast hash is enough: there is nothing to brute-force.
pub fn hash_refresh_token(token: &str) -> TokenHash {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
    out
}

/// One stored refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    /// The family: every token rotated from one login.
    pub family: String,
    /// The user's id.
    pub user_id: String,
    /// When this token was issued.
    pub created_at: i64,
    /// When this token expires (sliding lifetime, capped by the family's).
    pub expires_at: i64,
    /// When the family expires, however often it is rotated (absolute lifetime).
    pub family_expires_at: i64,
    /// Whether the token was already exchanged.
    pub used: bool,
}

/// The outcome of presenting a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was valid; it is now used and its successor stored.
    Rotated(RefreshRecord),
    /// The token was already used: its family has been revoked.
    Reused {
        /// The revoked family.
        family: String,
    },
    /// Unknown, expired or revoked.
    Invalid,
}

/// Where refresh tokens live. `rotate` must be atomic: of two concurrent
/// rotations of one token, exactly one sees it unused.
#[async_trait]
pub trait RefreshStore: Send + Sync + 'static {
    /// Stores a new token.
    async fn insert(&self, hash: TokenHash, record: RefreshRecord) -> AuthResult<()>;

    /// Consumes `presented` and stores `successor` in its family, in one step.
    /// A token already used revokes its whole family.
    async fn rotate(
        &self,
        presented: &TokenHash,
        successor: TokenHash,
        now: i64,
        sliding_secs: i64,
    ) -> AuthResult<Rotation>;

    /// Revokes every token of a family; returns the family's user, if known.
    async fn revoke_family(&self, family: &str) -> AuthResult<Option<String>>;

    /// The family a token belongs to, if it is stored.
    async fn family_of(&self, hash: &TokenHash) -> AuthResult<Option<String>>;

    /// Revokes every token of a user.
    async fn revoke_user(&self, user_id: &str) -> AuthResult<()>;
}

/// Refresh tokens in memory.
#[derive(Debug, Default)]
pub struct MemoryRefreshStore {
    tokens: Mutex<HashMap<TokenHash, RefreshRecord>>,
}

impl MemoryRefreshStore {
    fn lock(&self) -> AuthResult<std::sync::MutexGuard<'_, HashMap<TokenHash, RefreshRecord>>> {
        self.tokens
            .lock()
            .map_err(|_| AuthError::Unavailable("refresh store lock poisoned".into()))
    }
}

#[async_trait]
impl RefreshStore for MemoryRefreshStore {
    async fn insert(&self, hash: TokenHash, record: RefreshRecord) -> AuthResult<()> {
        self.lock()?.insert(hash, record);
        Ok(())
    }

    async fn rotate(
        &self,
        presented: &TokenHash,
        successor: TokenHash,
        now: i64,
        sliding_secs: i64,
    ) -> AuthResult<Rotation> {
        let mut tokens = self.lock()?;
        let Some(record) = tokens.get_mut(presented) else {
            return Ok(Rotation::Invalid);
        };
        if record.used {
            let family = record.family.clone();
            tokens.retain(|_, r| r.family != family);
            return Ok(Rotation::Reused { family });
        }
        if now >= record.expires_at || now >= record.family_expires_at {
            return Ok(Rotation::Invalid);
        }
        record.used = true;
        let next = RefreshRecord {
            family: record.family.clone(),
            user_id: record.user_id.clone(),
            created_at: now,
            expires_at: now
                .saturating_add(sliding_secs)
                .min(record.family_expires_at),
            family_expires_at: record.family_expires_at,
            used: false,
        };
        tokens.insert(successor, next.clone());
        Ok(Rotation::Rotated(next))
    }

    async fn revoke_family(&self, family: &str) -> AuthResult<Option<String>> {
        let mut tokens = self.lock()?;
        let user = tokens
            .values()
            .find(|r| r.family == family)
            .map(|r| r.user_id.clone());
        tokens.retain(|_, r| r.family != family);
        Ok(user)
    }

    async fn family_of(&self, hash: &TokenHash) -> AuthResult<Option<String>> {
        Ok(self.lock()?.get(hash).map(|r| r.family.clone()))
    }

    async fn revoke_user(&self, user_id: &str) -> AuthResult<()> {
        self.lock()?.retain(|_, r| r.user_id != user_id);
        Ok(())
    }
}
