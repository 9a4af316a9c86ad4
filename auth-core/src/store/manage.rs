//! Managing users, issued tokens and handler configs: the traits the
//! management routes of `auth-poem` call and the stores of `auth-store`
//! implement.
//!
//! Reading a user on the request path is [`UserStore`]'s job; everything an
//! administrator does is here, with an error type, [`ManageError`], that
//! carries the HTTP outcome (404, 409, 400, 501, 503) the routes answer with.

use std::collections::BTreeSet;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::AuthError;
use crate::permission::PermissionSet;
use crate::store::{UserRecord, UserStore};

/// Why a management operation did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManageError {
    /// The caller is not authenticated (401).
    #[error("missing or invalid credentials")]
    Unauthenticated,
    /// The caller may not do this (403).
    #[error("forbidden")]
    Forbidden,
    /// The caller may not hand out this power (403); the refusal says why
    /// ([`RoleMap::check_grant`](crate::RoleMap::check_grant)).
    #[error("{0}")]
    Refused(#[from] crate::grant::GrantRefusal),
    /// No such user, client, token or handler (404); the message names it.
    #[error("not found: {0}")]
    NotFound(String),
    /// It exists already, e.g. a duplicate username (409).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The input is invalid (400); the message says which part.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The provider or store does not offer this capability (501); the
    /// value names the capability.
    #[error("not supported by this provider: {0}")]
    Unsupported(&'static str),
    /// The store or provider could not be reached (503). Nothing was changed.
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    /// The server is set up wrongly (500); the message is for the operator.
    #[error("misconfigured: {0}")]
    Misconfigured(String),
    /// Too many failed password checks (429): retry in `retry_after` seconds.
    #[error("too many failed attempts; retry in {retry_after} s")]
    Throttled {
        /// Seconds to wait.
        retry_after: i64,
    },
}

impl ManageError {
    /// The HTTP status this outcome maps to.
    ///
    /// ```
    /// use auth_core::store::ManageError;
    /// assert_eq!(ManageError::Conflict("alice".into()).status(), 409);
    /// assert_eq!(ManageError::Unsupported("create_client").status(), 501);
    /// ```
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthenticated => 401,
            Self::Forbidden | Self::Refused(_) => 403,
            Self::NotFound(_) => 404,
            Self::Conflict(_) => 409,
            Self::Invalid(_) => 400,
            Self::Unsupported(_) => 501,
            Self::Unavailable(_) => 503,
            Self::Misconfigured(_) => 500,
            Self::Throttled { .. } => 429,
        }
    }
}

impl From<AuthError> for ManageError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::MissingCredentials | AuthError::InvalidCredentials => Self::Unauthenticated,
            AuthError::Forbidden => Self::Forbidden,
            AuthError::Misconfigured(m) => Self::Misconfigured(m),
            AuthError::Unavailable(m) => Self::Unavailable(m),
            AuthError::Throttled { retry_after } => Self::Throttled { retry_after },
        }
    }
}

/// Result alias for management operations.
pub type ManageResult<T> = Result<T, ManageError>;

/// A page of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// How many entries to skip.
    pub offset: u64,
    /// How many entries to return at most; stores cap it at [`Page::MAX_LIMIT`].
    pub limit: u32,
}

impl Page {
    /// The largest page a store returns.
    pub const MAX_LIMIT: u32 = 500;

    /// The page's limit, capped at [`Page::MAX_LIMIT`].
    pub fn capped_limit(&self) -> u32 {
        self.limit.min(Self::MAX_LIMIT)
    }
}

impl Default for Page {
    fn default() -> Self {
        Self {
            offset: 0,
            limit: 50,
        }
    }
}

/// Which users a listing returns; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserFilter {
    /// Users whose username contains this text.
    pub username_contains: Option<String>,
    /// Users holding this role.
    pub role: Option<String>,
    /// Enabled (or disabled) users only.
    pub enabled: Option<bool>,
}

/// A user to create; the store chooses the id.
#[derive(Clone, PartialEq)]
pub struct NewUser {
    /// Login name; a duplicate is [`ManageError::Conflict`].
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Role names.
    pub roles: BTreeSet<String>,
    /// Permissions granted directly.
    pub permissions: PermissionSet,
    /// Whether the user may log in.
    pub enabled: bool,
    /// Profile data.
    pub extra: Map<String, Value>,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("password_hash", &"[REDACTED]")
            .field("roles", &self.roles)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// A change to a user: each `Some` field replaces the stored value.
#[derive(Clone, Default, PartialEq)]
pub struct UserUpdate {
    /// A new login name; a duplicate is [`ManageError::Conflict`].
    pub username: Option<String>,
    /// A new argon2id PHC string.
    pub password_hash: Option<String>,
    /// The new role set.
    pub roles: Option<BTreeSet<String>>,
    /// The new permission set.
    pub permissions: Option<PermissionSet>,
    /// Enables or disables the user.
    pub enabled: Option<bool>,
    /// The new profile data.
    pub extra: Option<Map<String, Value>>,
}

impl std::fmt::Debug for UserUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserUpdate")
            .field("username", &self.username)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "[REDACTED]"),
            )
            .field("roles", &self.roles)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// What an administrator does to users. Stores that can write implement it
/// beside [`UserStore`].
#[async_trait]
pub trait UserAdmin: UserStore {
    /// Creates a user; a taken username is [`ManageError::Conflict`].
    async fn create_user(&self, user: NewUser) -> ManageResult<UserRecord>;

    /// Users matching `filter`, ordered by username, one page of them.
    async fn list_users(&self, filter: &UserFilter, page: Page) -> ManageResult<Vec<UserRecord>>;

    /// Applies `update` to the user with this id, in one step.
    async fn update_user(&self, id: &str, update: UserUpdate) -> ManageResult<UserRecord>;

    /// Deletes the user with this id; [`ManageError::NotFound`] if there is none.
    async fn delete_user(&self, id: &str) -> ManageResult<()>;

    /// Adds roles to the user with this id, in one step.
    async fn add_roles(&self, id: &str, roles: &BTreeSet<String>) -> ManageResult<UserRecord>;

    /// Removes roles from the user with this id, in one step.
    async fn remove_roles(&self, id: &str, roles: &BTreeSet<String>) -> ManageResult<UserRecord>;

    /// How many users there are (to decide whether to seed an administrator).
    async fn count_users(&self) -> ManageResult<u64>;
}

/// An access token as the token registry keeps it: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// The token's `jti`.
    pub jti: String,
    /// The client (user) it was issued to: its `sub`.
    pub client_id: String,
    /// The roles it carries.
    pub roles: BTreeSet<String>,
    /// When it was issued (Unix seconds).
    pub created_at: i64,
    /// When it expires (Unix seconds).
    pub expires_at: i64,
    /// Who issued it: `"login"`, `"refresh"`, or the administrator's id.
    pub issued_by: String,
    /// Whether it has been revoked.
    pub revoked: bool,
}

/// Which tokens a listing or a revocation applies to; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenFilter {
    /// This one token.
    pub jti: Option<String>,
    /// Tokens of this client.
    pub client_id: Option<String>,
    /// Tokens carrying this role.
    pub role: Option<String>,
    /// Whether expired tokens are included (they are not by default).
    pub include_expired: bool,
}

/// The registry of issued access tokens, and the revocations that every
/// instance sharing the store must honour.
///
/// Implementations keep an in-memory [`MemoryRevocations`](crate::store::MemoryRevocations)
/// that the JWT handler consults, update it at once for their own
/// revocations, and bring in other instances' revocations within a second.
#[async_trait]
pub trait TokenStore: Send + Sync + 'static {
    /// Records a newly issued token.
    async fn record_token(&self, token: TokenRecord) -> ManageResult<()>;

    /// Tokens matching `filter` at time `now`, newest first, one page of them.
    async fn list_tokens(
        &self,
        filter: &TokenFilter,
        now: i64,
        page: Page,
    ) -> ManageResult<Vec<TokenRecord>>;

    /// Revokes every unexpired token matching `filter`; returns how many.
    async fn revoke_tokens(&self, filter: &TokenFilter, now: i64) -> ManageResult<u64>;

    /// Revokes every token of `client_id` issued at or before `cutoff`,
    /// including ones this registry never saw.
    async fn revoke_client_tokens(&self, client_id: &str, cutoff: i64) -> ManageResult<()>;

    /// Revokes every token of the session `sid` (its `sid` claim) until
    /// `expires_at`, including ones this registry never saw, and tells the
    /// other instances sharing the store.
    async fn revoke_session(&self, sid: &str, expires_at: i64) -> ManageResult<()>;

    /// Deletes tokens expired before `now`; returns how many.
    async fn delete_expired(&self, now: i64) -> ManageResult<u64>;
}

/// A handler's stored settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredHandlerConfig {
    /// The config's id ([`AuthHandlerConfig::ID`](crate::AuthHandlerConfig::ID)).
    pub id: String,
    /// The config values, as JSON.
    pub config: Value,
    /// Whether this is the active handler.
    pub active: bool,
    /// When it was last saved (Unix seconds).
    pub updated_at: i64,
}

/// Where handler settings persist, so an activated handler survives a restart.
#[async_trait]
pub trait HandlerConfigStore: Send + Sync + 'static {
    /// Every stored handler config.
    async fn handler_configs(&self) -> ManageResult<Vec<StoredHandlerConfig>>;

    /// Saves a handler config; with `activate`, makes it the only active one,
    /// in one step.
    async fn save_handler_config(
        &self,
        id: &str,
        config: &Value,
        activate: bool,
        now: i64,
    ) -> ManageResult<()>;
}
