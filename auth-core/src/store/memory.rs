//! In-memory [`TokenStore`] and [`HandlerConfigStore`]: for tests, examples and
//! single-instance services that can lose their registry on a restart.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use serde_json::Value;

use super::manage::{
    HandlerConfigStore, ManageError, ManageResult, Page, StoredHandlerConfig, TokenFilter,
    TokenRecord, TokenStore,
};
use crate::store::MemoryRevocations;

fn poisoned(what: &str) -> ManageError {
    ManageError::Unavailable(format!("{what} lock poisoned"))
}

/// Whether `record` matches every set field of `filter` (expiry aside).
fn matches(record: &TokenRecord, filter: &TokenFilter) -> bool {
    filter.jti.as_ref().is_none_or(|j| *j == record.jti)
        && filter
            .client_id
            .as_ref()
            .is_none_or(|c| *c == record.client_id)
        && filter
            .role
            .as_ref()
            .is_none_or(|r| record.roles.contains(r))
}

/// Issued access tokens in memory, with the [`MemoryRevocations`] the JWT
/// handler consults: a revocation through this store is refused at once.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use auth_core::store::{MemoryTokenStore, TokenFilter, TokenRecord, TokenStore};
/// use auth_core::store::RevocationCheck;
///
/// let store = MemoryTokenStore::new();
/// store.record_token(TokenRecord {
///     jti: "t-1".into(), client_id: "alice".into(), roles: Default::default(),
///     created_at: 100, expires_at: 200, issued_by: "login".into(), revoked: false,
/// }).await.unwrap();
/// let all_of_alice = TokenFilter { client_id: Some("alice".into()), ..Default::default() };
/// assert_eq!(store.revoke_tokens(&all_of_alice, 150).await.unwrap(), 1);
/// assert!(store.revocations().is_revoked(Some("t-1"), None, "alice", Some(100)));
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    tokens: Mutex<HashMap<String, TokenRecord>>,
    revocations: Arc<MemoryRevocations>,
}

impl MemoryTokenStore {
    /// An empty registry with its own revocation list.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty registry that records its revocations in `revocations`.
    pub fn with_revocations(revocations: Arc<MemoryRevocations>) -> Self {
        Self {
            tokens: Mutex::default(),
            revocations,
        }
    }

    /// The revocation list to hand to the JWT handler and the token service
    /// ([`TokenService::with_revocations`](crate::tokens::TokenService::with_revocations)).
    pub fn revocations(&self) -> Arc<MemoryRevocations> {
        self.revocations.clone()
    }

    fn lock(&self) -> ManageResult<MutexGuard<'_, HashMap<String, TokenRecord>>> {
        self.tokens.lock().map_err(|_| poisoned("token store"))
    }
}

#[async_trait]
impl TokenStore for MemoryTokenStore {
    async fn record_token(&self, token: TokenRecord) -> ManageResult<()> {
        self.lock()?.insert(token.jti.clone(), token);
        Ok(())
    }

    async fn list_tokens(
        &self,
        filter: &TokenFilter,
        now: i64,
        page: Page,
    ) -> ManageResult<Vec<TokenRecord>> {
        let tokens = self.lock()?;
        let mut found: Vec<&TokenRecord> = tokens
            .values()
            .filter(|t| matches(t, filter) && (filter.include_expired || t.expires_at > now))
            .collect();
        found.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.jti.cmp(&b.jti)));
        Ok(found
            .into_iter()
            .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
            .take(page.capped_limit() as usize)
            .cloned()
            .collect())
    }

    async fn revoke_tokens(&self, filter: &TokenFilter, now: i64) -> ManageResult<u64> {
        let mut tokens = self.lock()?;
        let mut count = 0;
        for token in tokens.values_mut() {
            if !token.revoked && token.expires_at > now && matches(token, filter) {
                token.revoked = true;
                self.revocations.revoke_jti(&token.jti, token.expires_at);
                count += 1;
            }
        }
        Ok(count)
    }

    async fn revoke_client_tokens(&self, client_id: &str, cutoff: i64) -> ManageResult<()> {
        let mut tokens = self.lock()?;
        for token in tokens.values_mut() {
            if token.client_id == client_id && token.created_at <= cutoff {
                token.revoked = true;
            }
        }
        self.revocations.revoke_user_tokens(client_id, cutoff);
        Ok(())
    }

    async fn revoke_session(&self, sid: &str, expires_at: i64) -> ManageResult<()> {
        self.revocations.revoke_session(sid, expires_at);
        Ok(())
    }

    async fn delete_expired(&self, now: i64) -> ManageResult<u64> {
        let mut tokens = self.lock()?;
        let before = tokens.len();
        tokens.retain(|_, t| t.expires_at >= now);
        self.revocations.prune(now);
        Ok((before - tokens.len()) as u64)
    }
}

/// Handler settings in memory: an activated handler survives until the
/// process ends, not a restart.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use auth_core::store::{MemoryHandlerConfigStore, HandlerConfigStore};
///
/// let store = MemoryHandlerConfigStore::new();
/// store.save_handler_config("A", &serde_json::json!({"x": 1}), true, 10).await.unwrap();
/// store.save_handler_config("B", &serde_json::json!({}), true, 11).await.unwrap();
/// let active: Vec<_> = store.handler_configs().await.unwrap()
///     .into_iter().filter(|s| s.active).map(|s| s.id).collect();
/// assert_eq!(active, ["B"]);
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MemoryHandlerConfigStore {
    settings: Mutex<BTreeMap<String, StoredHandlerConfig>>,
}

impl MemoryHandlerConfigStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl HandlerConfigStore for MemoryHandlerConfigStore {
    async fn handler_configs(&self) -> ManageResult<Vec<StoredHandlerConfig>> {
        Ok(self
            .settings
            .lock()
            .map_err(|_| poisoned("settings store"))?
            .values()
            .cloned()
            .collect())
    }

    async fn save_handler_config(
        &self,
        id: &str,
        config: &Value,
        activate: bool,
        now: i64,
    ) -> ManageResult<()> {
        let mut settings = self
            .settings
            .lock()
            .map_err(|_| poisoned("settings store"))?;
        if activate {
            for other in settings.values_mut() {
                other.active = false;
            }
        }
        let was_active = settings.get(id).is_some_and(|s| s.active);
        settings.insert(
            id.to_owned(),
            StoredHandlerConfig {
                id: id.to_owned(),
                config: config.clone(),
                active: activate || was_active,
                updated_at: now,
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::store::RevocationCheck;

    fn record(jti: &str, client: &str, role: &str, created: i64, expires: i64) -> TokenRecord {
        TokenRecord {
            jti: jti.into(),
            client_id: client.into(),
            roles: BTreeSet::from([role.to_owned()]),
            created_at: created,
            expires_at: expires,
            issued_by: "login".into(),
            revoked: false,
        }
    }

    async fn store() -> MemoryTokenStore {
        let store = MemoryTokenStore::new();
        for r in [
            record("a1", "alice", "reader", 10, 100),
            record("a2", "alice", "admin", 20, 100),
            record("b1", "bob", "reader", 30, 100),
            record("old", "bob", "reader", 1, 5),
        ] {
            store.record_token(r).await.expect("record");
        }
        store
    }

    fn jtis(records: &[TokenRecord]) -> Vec<&str> {
        records.iter().map(|r| r.jti.as_str()).collect()
    }

    #[tokio::test]
    async fn listing_filters_excludes_expired_and_orders_newest_first() {
        let store = store().await;
        let all = store
            .list_tokens(&TokenFilter::default(), 50, Page::default())
            .await
            .expect("list");
        assert_eq!(jtis(&all), ["b1", "a2", "a1"]);
        let with_expired = TokenFilter {
            include_expired: true,
            ..TokenFilter::default()
        };
        let all = store
            .list_tokens(&with_expired, 50, Page::default())
            .await
            .expect("list");
        assert_eq!(jtis(&all), ["b1", "a2", "a1", "old"]);
        let readers_of_alice = TokenFilter {
            client_id: Some("alice".into()),
            role: Some("reader".into()),
            ..TokenFilter::default()
        };
        let found = store
            .list_tokens(&readers_of_alice, 50, Page::default())
            .await
            .expect("list");
        assert_eq!(jtis(&found), ["a1"]);
        let page = Page {
            offset: 1,
            limit: 1,
        };
        let found = store
            .list_tokens(&TokenFilter::default(), 50, page)
            .await
            .expect("list");
        assert_eq!(jtis(&found), ["a2"]);
    }

    #[tokio::test]
    async fn revoking_counts_each_live_token_once_and_updates_the_revocation_list() {
        let store = store().await;
        let bobs = TokenFilter {
            client_id: Some("bob".into()),
            ..TokenFilter::default()
        };
        assert_eq!(store.revoke_tokens(&bobs, 50).await.expect("revoke"), 1);
        assert_eq!(store.revoke_tokens(&bobs, 50).await.expect("revoke"), 0);
        let r = store.revocations();
        assert!(r.is_revoked(Some("b1"), None, "bob", Some(30)));
        assert!(!r.is_revoked(Some("a1"), None, "alice", Some(10)));
    }

    #[tokio::test]
    async fn revoking_a_client_reaches_tokens_the_registry_never_saw() {
        let store = store().await;
        store
            .revoke_client_tokens("alice", 25)
            .await
            .expect("revoke");
        let r = store.revocations();
        assert!(r.is_revoked(Some("unknown"), None, "alice", Some(25)));
        assert!(!r.is_revoked(Some("unknown"), None, "alice", Some(26)));
        let listed = store
            .list_tokens(
                &TokenFilter {
                    client_id: Some("alice".into()),
                    ..TokenFilter::default()
                },
                50,
                Page::default(),
            )
            .await
            .expect("list");
        assert!(listed.iter().all(|t| t.revoked));
    }

    #[tokio::test]
    async fn cleanup_deletes_only_expired_tokens() {
        let store = store().await;
        assert_eq!(store.delete_expired(50).await.expect("cleanup"), 1);
        assert_eq!(store.delete_expired(50).await.expect("cleanup"), 0);
        let with_expired = TokenFilter {
            include_expired: true,
            ..TokenFilter::default()
        };
        let left = store
            .list_tokens(&with_expired, 50, Page::default())
            .await
            .expect("list");
        assert_eq!(left.len(), 3);
    }

    #[tokio::test]
    async fn saving_without_activation_keeps_the_active_flag() {
        let store = MemoryHandlerConfigStore::new();
        let v = serde_json::json!({});
        store
            .save_handler_config("A", &v, true, 1)
            .await
            .expect("save");
        store
            .save_handler_config("A", &v, false, 2)
            .await
            .expect("save");
        store
            .save_handler_config("B", &v, false, 3)
            .await
            .expect("save");
        let saved = store.handler_configs().await.expect("read");
        let active: Vec<_> = saved.iter().map(|s| (s.id.as_str(), s.active)).collect();
        assert_eq!(active, [("A", true), ("B", false)]);
    }
}
