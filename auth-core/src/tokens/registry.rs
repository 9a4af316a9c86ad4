//! The token service and the token registry ([`TokenStore`]): every access
//! token minted is recorded, revocations go through the store so they
//! persist and reach other instances, and administrators issue tokens for
//! clients.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::TokenService;
use crate::error::{AuthError, AuthResult};
use crate::grant::Grant;
use crate::jwt::IssuedToken;
use crate::principal::{AuthMethod, Principal};
use crate::store::MemoryRevocations;
use crate::store::{ManageError, ManageResult, Page, TokenFilter, TokenRecord, TokenStore};

/// The lifetimes an administrator may give a token issued for a client
/// ([`TokenService::issue_for_client`]), in seconds.
///
/// The default is one minute to 30 days; a token living longer than the
/// JWT validator's maximum lifetime (30 days by default) would be refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenPolicy {
    /// The shortest lifetime.
    pub min_secs: i64,
    /// The longest lifetime.
    pub max_secs: i64,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            min_secs: 60,
            max_secs: 30 * 24 * 3600,
        }
    }
}

/// A registry failure on the path of a login, refresh or revocation: the
/// operation is refused (503), never completed without the registry.
fn unavailable(err: ManageError) -> AuthError {
    match err {
        ManageError::Misconfigured(m) => AuthError::Misconfigured(m),
        other => AuthError::Unavailable(format!("token registry: {other}")),
    }
}

impl TokenService {
    /// Records every access token this service mints in `store`, and revokes
    /// through it, so revocations persist and reach other instances sharing
    /// the store. A store error refuses the login, refresh or revocation
    /// (503) rather than hand out a token the registry does not know.
    ///
    /// Give the service the store's revocation list as well
    /// ([`with_revocations`](Self::with_revocations)), and the JWT handler
    /// the same list, so revocations are refused at once on this instance.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use auth_core::jwt::{Algorithm, JwtKey, KeySet, TokenIssuer};
    /// use auth_core::store::MemoryTokenStore;
    /// use auth_core::tokens::TokenService;
    /// use auth_core::MemoryUserStore;
    ///
    /// let keys = Arc::new(KeySet::single(JwtKey::hmac(Algorithm::HS256, b"an-hmac-secret-of-at-least-32-bytes!").unwrap()));
    /// let store = Arc::new(MemoryTokenStore::new());
    /// let tokens = TokenService::new(TokenIssuer::new(keys, None).unwrap(), Arc::new(MemoryUserStore::default()))
    ///     .with_revocations(store.revocations())
    ///     .with_token_store(store.clone());
    /// assert!(Arc::ptr_eq(&tokens.revocations(), &store.revocations()));
    /// ```
    #[must_use]
    pub fn with_token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.registry = Some(store);
        self
    }

    /// Uses this revocation list (the token store's) instead of the
    /// service's own.
    #[must_use]
    pub fn with_revocations(mut self, revocations: Arc<MemoryRevocations>) -> Self {
        self.revocations = revocations;
        self
    }

    /// Sets the lifetimes allowed for tokens issued for a client.
    #[must_use]
    pub fn with_token_policy(mut self, policy: TokenPolicy) -> Self {
        self.token_policy = policy;
        self
    }

    /// The token registry, when one is configured.
    pub fn token_store(&self) -> Option<&Arc<dyn TokenStore>> {
        self.registry.as_ref()
    }

    /// The lifetimes allowed for tokens issued for a client.
    pub fn token_policy(&self) -> TokenPolicy {
        self.token_policy
    }

    /// The service's clock, in Unix seconds.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    fn registry(&self) -> ManageResult<&Arc<dyn TokenStore>> {
        self.registry
            .as_ref()
            .ok_or(ManageError::Unsupported("token registry"))
    }

    /// Tokens matching `filter`, newest first, one page of them.
    pub async fn list_tokens(
        &self,
        filter: &TokenFilter,
        page: Page,
    ) -> ManageResult<Vec<TokenRecord>> {
        self.registry()?
            .list_tokens(filter, self.clock.now(), page)
            .await
    }

    /// Revokes every unexpired token matching `filter`; returns how many.
    /// They are refused at once on this instance.
    pub async fn revoke_tokens(&self, filter: &TokenFilter) -> ManageResult<u64> {
        self.registry()?
            .revoke_tokens(filter, self.clock.now())
            .await
    }

    /// Deletes the records of tokens that have expired; returns how many.
    pub async fn delete_expired_tokens(&self) -> ManageResult<u64> {
        self.registry()?.delete_expired(self.clock.now()).await
    }

    /// Mints an access token for the client `client_id` at the request of
    /// `caller`, recorded as issued by the caller's id.
    ///
    /// The lifetime must lie within the [`TokenPolicy`]
    /// ([`ManageError::Invalid`] otherwise) and `roles` must be roles the
    /// client holds in the user store ([`ManageError::Forbidden`]
    /// otherwise); an unknown or disabled client is
    /// [`ManageError::NotFound`]. The caller must be able to grant
    /// everything the client holds ([`RoleMap::check_grant`](crate::RoleMap::check_grant), with this
    /// service's roles; [`ManageError::Refused`] otherwise), so nobody mints
    /// a token more powerful than themselves. The token carries `roles` and
    /// the client's own permissions, and no session: it cannot be refreshed.
    pub async fn issue_for_client(
        &self,
        client_id: &str,
        roles: &BTreeSet<String>,
        lifetime_secs: i64,
        caller: &Principal,
    ) -> ManageResult<IssuedToken> {
        let policy = self.token_policy;
        if !(policy.min_secs..=policy.max_secs).contains(&lifetime_secs) {
            return Err(ManageError::Invalid(format!(
                "lifetime_seconds must be between {} and {}",
                policy.min_secs, policy.max_secs
            )));
        }
        self.registry()?;
        let user = match self.users.find_by_id(client_id).await? {
            Some(user) if user.enabled => user,
            _ => return Err(ManageError::NotFound(format!("client `{client_id}`"))),
        };
        if !roles.is_subset(&user.roles) {
            tracing::debug!(client = %client_id, "refused to issue a token with roles the client does not hold");
            return Err(ManageError::Forbidden);
        }
        let mut p = Principal::new(user.id.clone(), AuthMethod::Jwt).with_name(user.username);
        p.roles = user.roles;
        p.permissions = user.permissions;
        self.roles
            .check_grant(caller, Some(&p), &Grant::default())?;
        p.roles = roles.clone();
        let claims = self.claims_of(p)?;
        let token = self.issuer.issue_claims_for(claims, lifetime_secs)?;
        self.registry()?
            .record_token(TokenRecord {
                jti: token.jti.clone(),
                client_id: client_id.to_owned(),
                roles: roles.clone(),
                created_at: token.issued_at,
                expires_at: token.expires_at,
                issued_by: caller.id.clone(),
                revoked: false,
            })
            .await?;
        Ok(token)
    }

    /// Records a token minted at login or refresh, when a registry is set.
    pub(super) async fn record_issued(
        &self,
        client_id: &str,
        roles: &std::collections::BTreeSet<String>,
        token: &IssuedToken,
        issued_by: &str,
    ) -> AuthResult<()> {
        let Some(registry) = &self.registry else {
            return Ok(());
        };
        registry
            .record_token(TokenRecord {
                jti: token.jti.clone(),
                client_id: client_id.to_owned(),
                roles: roles.clone(),
                created_at: token.issued_at,
                expires_at: token.expires_at,
                issued_by: issued_by.to_owned(),
                revoked: false,
            })
            .await
            .map_err(unavailable)
    }

    /// Revokes one token in the registry, when one is set.
    pub(super) async fn registry_revoke_jti(&self, jti: &str) -> AuthResult<()> {
        let Some(registry) = &self.registry else {
            return Ok(());
        };
        let filter = TokenFilter {
            jti: Some(jti.to_owned()),
            ..TokenFilter::default()
        };
        registry
            .revoke_tokens(&filter, self.clock.now())
            .await
            .map(drop)
            .map_err(unavailable)
    }

    /// Revokes every token of a client in the registry, when one is set.
    pub(super) async fn registry_revoke_client(
        &self,
        client_id: &str,
        cutoff: i64,
    ) -> AuthResult<()> {
        let Some(registry) = &self.registry else {
            return Ok(());
        };
        registry
            .revoke_client_tokens(client_id, cutoff)
            .await
            .map_err(unavailable)
    }

    /// Revokes every token of a session in the registry, when one is set.
    pub(super) async fn registry_revoke_session(&self, sid: &str, until: i64) -> AuthResult<()> {
        let Some(registry) = &self.registry else {
            return Ok(());
        };
        registry
            .revoke_session(sid, until)
            .await
            .map_err(unavailable)
    }
}
