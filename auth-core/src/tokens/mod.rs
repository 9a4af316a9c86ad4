//! Logins, rotating refresh tokens with reuse detection, revocation and
//! login throttling: the logic behind a token endpoint, without HTTP.

use std::sync::Arc;

use secrecy::ExposeSecret;

use crate::clock::{Clock, SystemClock};
use crate::credential::looks_like_jwt;
use crate::error::{AuthError, AuthResult};
use crate::jwt::{IssuedToken, JwtValidator, TokenIssuer, Validation};
use crate::password::PasswordHasher;
use crate::principal::{AuthMethod, Principal, RoleMap};
use crate::provider::ClientData;
use crate::provider::dynamic::DynProvider;
use crate::random::random_id;
use crate::store::ManageError;
use crate::store::MemoryRevocations;
use crate::store::{MemoryRefreshStore, RefreshRecord, RefreshStore, Rotation, hash_refresh_token};
use crate::store::{UserRecord, UserStore};
use crate::throttle::LoginThrottle;

mod login;
mod refresh;
mod registry;

pub use login::{LoginError, TokenPair};
pub use refresh::RefreshLifetimes;
use refresh::new_refresh_token;
pub use registry::TokenPolicy;

/// Mints token pairs at login, rotates refresh tokens, revokes.
///
/// Access tokens carry `sid`, the refresh family they belong to, so logout
/// ends both. Revocations go to a [`MemoryRevocations`] the
/// [`JwtHandler`](crate::JwtHandler) consults
/// ([`with_revocations`](crate::JwtHandler::with_revocations)), so they take
/// effect at once on this instance.
pub struct TokenService {
    issuer: TokenIssuer,
    validator: JwtValidator,
    users: Arc<dyn UserStore>,
    refresh: Arc<dyn RefreshStore>,
    revocations: Arc<MemoryRevocations>,
    throttle: LoginThrottle,
    hasher: PasswordHasher,
    roles: RoleMap,
    policy: RefreshLifetimes,
    clock: Arc<dyn Clock>,
    registry: Option<Arc<dyn crate::store::TokenStore>>,
    token_policy: TokenPolicy,
}

impl std::fmt::Debug for TokenService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenService")
            .field("issuer", &self.issuer)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl TokenService {
    /// A service minting with `issuer`, checking passwords in `users`.
    ///
    /// Refresh tokens live in memory until [`with_refresh_store`](Self::with_refresh_store)
    /// says otherwise.
    pub fn new(issuer: TokenIssuer, users: Arc<dyn UserStore>) -> Self {
        // Our own tokens, checked when revoked: signature and structure
        // only, so an expired token can still be revoked.
        let validator = JwtValidator::new(issuer.keys(), Validation::new().signature_only());
        Self {
            issuer,
            validator,
            users,
            refresh: Arc::new(MemoryRefreshStore::default()),
            revocations: Arc::new(MemoryRevocations::default()),
            throttle: LoginThrottle::default(),
            hasher: PasswordHasher::owasp(),
            roles: RoleMap::new(),
            policy: RefreshLifetimes::default(),
            clock: Arc::new(SystemClock),
            registry: None,
            token_policy: TokenPolicy::default(),
        }
    }

    /// Uses another refresh-token store.
    #[must_use]
    pub fn with_refresh_store(mut self, store: Arc<dyn RefreshStore>) -> Self {
        self.refresh = store;
        self
    }

    /// Uses this throttle.
    #[must_use]
    pub fn with_throttle(mut self, throttle: LoginThrottle) -> Self {
        self.throttle = throttle;
        self
    }

    /// The hasher of logins (default [`PasswordHasher::owasp`]): unknown
    /// users are verified against its dummy hash, and a stored hash made
    /// with other parameters is replaced at the user's next login by one
    /// made with its. Give it the hasher new users' hashes are made with.
    #[must_use]
    pub fn with_hasher(mut self, hasher: PasswordHasher) -> Self {
        self.hasher = hasher;
        self
    }

    /// Expands role names when building the principal of a login.
    #[must_use]
    pub fn with_roles(mut self, roles: RoleMap) -> Self {
        self.roles = roles;
        self
    }

    /// Sets the refresh lifetimes.
    #[must_use]
    pub fn with_policy(mut self, policy: RefreshLifetimes) -> Self {
        self.policy = policy;
        self
    }

    /// Replaces the clock (tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The revocation list to hand to the JWT handler.
    pub fn revocations(&self) -> Arc<MemoryRevocations> {
        self.revocations.clone()
    }

    /// Whether `check` is this service's revocation list (the same value,
    /// not merely an equal one).
    pub fn is_own_revocations(&self, check: &Arc<dyn crate::store::RevocationCheck>) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(check), Arc::as_ptr(&self.revocations))
    }

    /// Whether a handler verifying signatures with `keys` accepts the
    /// tokens this service mints: the same key set, or one that verifies a
    /// token signed now (a copy of the secret loaded twice).
    pub fn is_verified_by(&self, keys: &Arc<crate::jwt::KeySet>) -> bool {
        if Arc::ptr_eq(keys, &self.issuer.keys()) {
            return true;
        }
        let probe = Principal::new("revocation-wiring-probe", AuthMethod::Jwt);
        let Ok(token) = self.issuer.issue(&probe) else {
            // Nothing can be minted, so nothing minted can be accepted.
            return false;
        };
        JwtValidator::new(keys.clone(), Validation::new().signature_only())
            .validate(token.expose())
            .is_ok()
    }

    /// The issuer.
    pub fn issuer(&self) -> &TokenIssuer {
        &self.issuer
    }

    /// Checks a username and password and mints a token pair.
    ///
    /// An unknown user costs the same time as a wrong password; failures are
    /// throttled per account and per (account, `client_addr`) (see
    /// [`LoginThrottle`]). A stored hash made with other parameters than the
    /// hasher's ([`with_hasher`](Self::with_hasher)) is replaced by a new one
    /// once the password is verified.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client_addr: &str,
    ) -> Result<TokenPair, LoginError> {
        let now = self.clock.now();
        let mut found = None;
        let ok = self
            .throttle
            .guard(username, client_addr, now, async {
                found = self
                    .hasher
                    .check_login(&*self.users, username, password)
                    .await?;
                Ok(found.is_some())
            })
            .await?;
        match found {
            Some(user) if ok => {
                let family = random_id()?;
                Ok(self
                    .mint(
                        &user,
                        &family,
                        now,
                        now.saturating_add(self.policy.absolute_secs),
                    )
                    .await?)
            }
            _ => Err(LoginError::InvalidCredentials),
        }
    }

    /// Mints a token pair for a client an identity provider authenticates:
    /// `authenticate` runs only when (`username`, `client_addr`) is not
    /// throttled, and its failure counts as a failed login.
    ///
    /// The tokens carry the client's id as `sub`, its roles (expanded by the
    /// role map), and the permissions in `extra.permissions` when the
    /// provider gives them. A client whose `extra.enabled` is `false` is
    /// refused like a wrong password. Refresh such sessions with
    /// [`refresh_with`](Self::refresh_with), naming the provider.
    pub async fn login_client<F>(
        &self,
        username: &str,
        client_addr: &str,
        authenticate: F,
    ) -> Result<TokenPair, LoginError>
    where
        F: std::future::Future<Output = Result<ClientData, LoginError>> + Send,
    {
        let now = self.clock.now();
        let mut found = None;
        let ok = self
            .throttle
            .guard(username, client_addr, now, async {
                match authenticate.await {
                    Ok(client) if client_enabled(&client) => {
                        found = Some(client);
                        Ok(true)
                    }
                    Ok(_) | Err(LoginError::InvalidCredentials) => Ok(false),
                    Err(LoginError::Throttled { retry_after }) => {
                        Err(AuthError::Throttled { retry_after })
                    }
                    Err(LoginError::Other(e)) => Err(e),
                }
            })
            .await?;
        match found {
            Some(client) if ok => {
                let family = random_id()?;
                Ok(self
                    .mint_principal(
                        client.principal(),
                        &family,
                        now,
                        now.saturating_add(self.policy.absolute_secs),
                    )
                    .await?)
            }
            _ => Err(LoginError::InvalidCredentials),
        }
    }

    /// The throttle every password check of this service goes through;
    /// hand a clone to the [`BasicHandler`](crate::BasicHandler)
    /// ([`with_throttle`](crate::BasicHandler::with_throttle)) so Basic
    /// logins share its budgets.
    pub fn throttle(&self) -> &LoginThrottle {
        &self.throttle
    }

    /// Exchanges a refresh token for a new pair, rotating it. A token used
    /// twice revokes its family (RFC 9700 reuse detection).
    pub async fn refresh(&self, refresh_token: &str) -> AuthResult<TokenPair> {
        self.refresh_with(refresh_token, None).await
    }

    /// [`refresh`](Self::refresh), looking the session's client up in
    /// `provider` when one is given (sessions begun with
    /// [`login_client`](Self::login_client)) instead of the user store. A
    /// client the provider no longer knows, has disabled, or cannot look
    /// up ([`get_client`](DynProvider::get_client) unsupported) ends the
    /// session: the client logs in again.
    pub async fn refresh_with(
        &self,
        refresh_token: &str,
        provider: Option<&dyn DynProvider>,
    ) -> AuthResult<TokenPair> {
        let now = self.clock.now();
        let successor = new_refresh_token()?;
        let rotation = self
            .refresh
            .rotate(
                &hash_refresh_token(refresh_token),
                hash_refresh_token(successor.expose_secret()),
                now,
                self.policy.sliding_secs,
            )
            .await?;
        let record = match rotation {
            Rotation::Rotated(record) => record,
            Rotation::Reused { family } => {
                tracing::warn!(%family, "refresh token reused: its session is ended");
                // The store revoked the refresh family; the access tokens
                // minted from it (the thief's among them) end too.
                self.end_session(&family).await?;
                return Err(AuthError::InvalidCredentials);
            }
            Rotation::Invalid => return Err(AuthError::InvalidCredentials),
        };
        let principal = match provider {
            None => match self.users.find_by_id(&record.user_id).await? {
                Some(user) if user.enabled => principal_of_user(&user),
                _ => None,
            },
            Some(provider) => match provider.get_client(&record.user_id).await {
                Ok(client) if client_enabled(&client) => Some(client.principal()),
                Ok(_)
                | Err(
                    ManageError::NotFound(_)
                    | ManageError::Unsupported(_)
                    | ManageError::Unauthenticated
                    | ManageError::Forbidden,
                ) => None,
                Err(other) => return Err(AuthError::Unavailable(other.to_string())),
            },
        };
        let Some(principal) = principal else {
            self.refresh.revoke_family(&record.family).await?;
            return Err(AuthError::InvalidCredentials);
        };
        let (client_id, roles) = (principal.id.clone(), principal.roles.clone());
        let access = self.issue_principal(principal, &record.family)?;
        self.record_issued(&client_id, &roles, &access, "refresh")
            .await?;
        Ok(TokenPair {
            access,
            refresh: successor,
            refresh_expires_at: record.expires_at,
        })
    }

    /// Revokes a token, access or refresh (RFC 7009): an unknown or invalid
    /// token is not an error. Revoking a refresh token ends its family.
    pub async fn revoke(&self, token: &str) -> AuthResult<()> {
        if looks_like_jwt(token) {
            if let Ok(valid) = self.validator.validate_with(token, &self.issuer.keys())
                && let Some(jti) = valid.claims.get("jti").and_then(|j| j.as_str())
            {
                let exp = valid
                    .claims
                    .get("exp")
                    .and_then(|e| e.as_i64())
                    .unwrap_or(i64::MAX);
                self.revocations.revoke_jti(jti, exp);
                self.registry_revoke_jti(jti).await?;
            }
            return Ok(());
        }
        if let Some(family) = self.refresh.family_of(&hash_refresh_token(token)).await? {
            self.end_session(&family).await?;
        }
        Ok(())
    }

    /// Ends the session of `principal`: every access token of its session
    /// (`sid`), its refresh family, and the presented token itself.
    pub async fn logout(&self, principal: &Principal) -> AuthResult<()> {
        if let Some(jti) = &principal.token_id {
            self.registry_revoke_jti(jti).await?;
            self.revocations
                .revoke_jti(jti, principal.expires_at.unwrap_or(i64::MAX));
        }
        // Only a token of ours names one of our sessions: a Basic user's
        // `extra` is their profile, an outside token's its provider's claims.
        let ours = principal.method == AuthMethod::Jwt && principal.token_id.is_some();
        if let Some(sid) = principal
            .extra
            .get("sid")
            .and_then(|s| s.as_str())
            .filter(|_| ours)
        {
            self.end_session(sid).await?;
        }
        Ok(())
    }

    /// Ends the session `sid` as a whole: every access token whose `sid`
    /// it is, wherever it was minted, and its refresh family. The registry
    /// learns of it first (so other instances sharing it do too); a
    /// registry that cannot be reached fails the call before anything is
    /// revoked here.
    pub async fn end_session(&self, sid: &str) -> AuthResult<()> {
        // No access token of the session outlives the lifetime of one
        // minted now (plus a day for any clock leeway); the entry may be
        // pruned after that.
        let until = self
            .clock
            .now()
            .saturating_add(self.issuer.lifetime_secs())
            .saturating_add(86_400);
        self.registry_revoke_session(sid, until).await?;
        self.revocations.revoke_session(sid, until);
        self.refresh.revoke_family(sid).await.map(drop)
    }

    /// Disables a user in the store and ends every token they hold.
    /// `Ok(false)` when there is no such user.
    pub async fn disable_user(&self, username: &str) -> AuthResult<bool> {
        let Some(user) = self.users.find_by_username(username).await? else {
            return Ok(false);
        };
        self.end_user_sessions(&user.id).await?;
        let found = self.users.set_enabled(username, false).await?;
        // Again: a login in the second after the first cut-off is cut too.
        self.end_user_sessions(&user.id).await?;
        Ok(found)
    }

    /// Sets a user's password (hashed with argon2id on the blocking pool)
    /// and ends every token they hold. `Ok(false)` when there is no such user.
    pub async fn change_password(&self, username: &str, new_password: &str) -> AuthResult<bool> {
        let Some(user) = self.users.find_by_username(username).await? else {
            return Ok(false);
        };
        let phc = self.hasher.hash(new_password.to_owned()).await?;
        self.end_user_sessions(&user.id).await?;
        let found = self.users.set_password_hash(username, phc).await?;
        // Again: a login in the second after the first cut-off is cut too.
        self.end_user_sessions(&user.id).await?;
        Ok(found)
    }

    /// Ends every token of a user: call it after disabling the user or
    /// changing their password by other means.
    ///
    /// The cut-off is committed to the registry first and only then to this
    /// instance's list, so a registry that cannot be reached fails the call
    /// (503) with nothing revoked anywhere; call it before the change it
    /// follows from, so that change is never made without it.
    pub async fn end_user_sessions(&self, user_id: &str) -> AuthResult<()> {
        let now = self.clock.now();
        self.registry_revoke_client(user_id, now).await?;
        self.revocations.revoke_user_tokens(user_id, now);
        self.refresh.revoke_user(user_id).await
    }

    async fn mint(
        &self,
        user: &UserRecord,
        family: &str,
        now: i64,
        family_expires_at: i64,
    ) -> AuthResult<TokenPair> {
        let Some(principal) = principal_of_user(user) else {
            return Err(AuthError::InvalidCredentials);
        };
        self.mint_principal(principal, family, now, family_expires_at)
            .await
    }

    async fn mint_principal(
        &self,
        principal: Principal,
        family: &str,
        now: i64,
        family_expires_at: i64,
    ) -> AuthResult<TokenPair> {
        let user_id = principal.id.clone();
        let roles = principal.roles.clone();
        let access = self.issue_principal(principal, family)?;
        // Recorded before anything else is stored: a token the registry
        // does not know is never handed out.
        self.record_issued(&user_id, &roles, &access, "login")
            .await?;
        let refresh = new_refresh_token()?;
        let expires_at = now
            .saturating_add(self.policy.sliding_secs)
            .min(family_expires_at);
        self.refresh
            .insert(
                hash_refresh_token(refresh.expose_secret()),
                RefreshRecord {
                    family: family.to_owned(),
                    user_id,
                    created_at: now,
                    expires_at,
                    family_expires_at,
                    used: false,
                },
            )
            .await?;
        Ok(TokenPair {
            access,
            refresh,
            refresh_expires_at: expires_at,
        })
    }

    fn issue_principal(&self, p: Principal, family: &str) -> AuthResult<IssuedToken> {
        let mut claims = self.claims_of(p)?;
        claims.insert("sid".into(), family.into());
        self.issuer.issue_claims(claims)
    }

    /// The claims of a token for `p`, its roles expanded into permissions:
    /// `sub`, `username`, `permissions` and `roles`.
    fn claims_of(
        &self,
        mut p: Principal,
    ) -> AuthResult<serde_json::Map<String, serde_json::Value>> {
        self.roles.expand(&mut p);
        let mut claims = serde_json::Map::new();
        claims.insert("sub".into(), p.id.into());
        claims.insert("username".into(), p.name.into());
        claims.insert(
            "permissions".into(),
            serde_json::to_value(&p.permissions)
                .map_err(|e| AuthError::Misconfigured(e.to_string()))?,
        );
        claims.insert(
            "roles".into(),
            p.roles.into_iter().collect::<Vec<_>>().into(),
        );
        Ok(claims)
    }
}

/// The principal of a user's tokens; a disabled user has none.
fn principal_of_user(user: &UserRecord) -> Option<Principal> {
    if !user.enabled {
        return None;
    }
    let mut p = Principal::new(user.id.clone(), AuthMethod::Jwt).with_name(user.username.clone());
    p.roles = user.roles.clone();
    p.permissions = user.permissions.clone();
    Some(p)
}

/// Whether a provider's client may log in: unless `extra.enabled` is `false`.
fn client_enabled(client: &ClientData) -> bool {
    client.extra.get("enabled").and_then(|e| e.as_bool()) != Some(false)
}
