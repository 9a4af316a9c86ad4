//! [`StoreSettings`]: which database, from the settings file, so the backend
//! is a configuration change.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use auth_core::store::MemoryRevocations;
use auth_core::store::RefreshStore;
use auth_core::store::UserStore;
use auth_core::store::{HandlerConfigStore, TokenStore, UserAdmin};
use auth_core::throttle::ThrottleStore;
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::sqlite::SqliteStore;

/// Connection limits of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// How long a request waits for a connection (and SQLite for its write
    /// lock) before it is refused as unavailable (503). Default 3 s.
    pub acquire_timeout: Duration,
    /// The most connections the pool holds. Default 8.
    pub max_connections: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            acquire_timeout: Duration::from_secs(3),
            max_connections: 8,
        }
    }
}

/// Which store to open: `{ "url": "sqlite://data/auth.db" }` or
/// `{ "url": "postgres://user:password@host/db" }` (with the `postgres`
/// feature).
///
/// A relative SQLite path is relative to the working directory. The URL's
/// password never appears in `Debug`.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use auth_store::StoreSettings;
///
/// let dir = std::env::temp_dir().join(format!("auth-store-settings-{}", std::process::id()));
/// let settings: StoreSettings = serde_json::from_value(serde_json::json!({
///     "url": format!("sqlite://{}", dir.join("auth.db").display()),
///     "acquire_timeout_secs": 2,
/// }))?;
/// let stores = settings.open().await?;
/// assert_eq!(stores.users.count_users().await?, 0);
/// # let _ = std::fs::remove_dir_all(dir);
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    /// `sqlite://<path>`, `sqlite:<path>`, or `postgres://...` / `postgresql://...`.
    pub url: String,
    /// Seconds a request waits for the database before a 503 (default 3).
    #[serde(default = "default_timeout")]
    pub acquire_timeout_secs: u64,
    /// The most connections to hold (default 8).
    #[serde(default = "default_connections")]
    pub max_connections: u32,
}

fn default_timeout() -> u64 {
    StoreOptions::default().acquire_timeout.as_secs()
}

fn default_connections() -> u32 {
    StoreOptions::default().max_connections
}

impl fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreSettings")
            .field("url", &masked_url(&self.url))
            .field("acquire_timeout_secs", &self.acquire_timeout_secs)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// `url` with the user information (which may hold a password) replaced by `***`.
fn masked_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(start), Some(at)) if at > start => {
            format!("{}://***@{}", &url[..start], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// The stores one database provides, as the trait objects the token service,
/// the management routes and the JWT handler take.
#[derive(Clone)]
pub struct Stores {
    /// Users: reads on the request path and administration.
    pub users: Arc<dyn UserAdmin>,
    /// Refresh tokens, for [`TokenService::with_refresh_store`](auth_core::tokens::TokenService::with_refresh_store).
    pub refresh: Arc<dyn RefreshStore>,
    /// The registry of issued access tokens and their revocations.
    pub tokens: Arc<dyn TokenStore>,
    /// The saved configurations of the live-switchable handlers.
    pub handler_configs: Arc<dyn HandlerConfigStore>,
    /// Failed password checks, for [`LoginThrottle::with_store`](auth_core::throttle::LoginThrottle::with_store):
    /// every instance on one database shares one budget.
    pub throttle: Arc<dyn ThrottleStore>,
    /// The revocation list the store keeps current, for
    /// [`JwtHandler::with_revocations`](auth_core::JwtHandler::with_revocations).
    pub revocations: Arc<MemoryRevocations>,
}

impl fmt::Debug for Stores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stores").finish_non_exhaustive()
    }
}

impl Stores {
    /// Every store backed by `store`.
    pub fn from_store<S>(store: S, revocations: Arc<MemoryRevocations>) -> Self
    where
        S: UserAdmin + RefreshStore + TokenStore + HandlerConfigStore + ThrottleStore,
    {
        let store = Arc::new(store);
        Self {
            users: store.clone(),
            refresh: store.clone(),
            tokens: store.clone(),
            throttle: store.clone(),
            handler_configs: store,
            revocations,
        }
    }

    /// The users as the plain [`UserStore`] a token service or a Basic
    /// handler takes.
    pub fn user_store(&self) -> Arc<dyn UserStore> {
        self.users.clone()
    }
}

impl StoreSettings {
    /// Settings for `url` with the default limits.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            acquire_timeout_secs: default_timeout(),
            max_connections: default_connections(),
        }
    }

    /// The connection limits these settings ask for.
    pub fn options(&self) -> StoreOptions {
        StoreOptions {
            acquire_timeout: Duration::from_secs(self.acquire_timeout_secs.max(1)),
            max_connections: self.max_connections.max(1),
        }
    }

    /// Opens the store the URL names.
    pub async fn open(&self) -> Result<Stores, StoreError> {
        let options = self.options();
        if let Some(path) = self
            .url
            .strip_prefix("sqlite://")
            .or_else(|| self.url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(StoreError::Invalid("the SQLite URL has no path".into()));
            }
            let store = SqliteStore::open_with(path, &options).await?;
            let revocations = store.revocations();
            return Ok(Stores::from_store(store, revocations));
        }
        if self.url.starts_with("postgres://") || self.url.starts_with("postgresql://") {
            #[cfg(feature = "postgres")]
            {
                let store = crate::PgStore::connect_with(&self.url, &options).await?;
                let revocations = store.revocations();
                return Ok(Stores::from_store(store, revocations));
            }
            #[cfg(not(feature = "postgres"))]
            return Err(StoreError::Invalid(
                "PostgreSQL support is not built in: enable auth-store's `postgres` feature".into(),
            ));
        }
        Err(StoreError::Invalid(format!(
            "unknown store URL {:?}: use sqlite://<path> or postgres://...",
            masked_url(&self.url)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_database_password() {
        let s = StoreSettings::new("postgres://auth:hunter2@db.internal:5432/auth");
        let text = format!("{s:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("db.internal:5432/auth"), "{text}");
    }

    #[test]
    fn missing_limits_take_the_defaults() {
        let s: StoreSettings =
            serde_json::from_str(r#"{"url": "sqlite://data/auth.db"}"#).expect("settings");
        assert_eq!(s.options(), StoreOptions::default());
    }

    #[tokio::test]
    async fn unknown_scheme_is_refused() {
        let err = StoreSettings::new("mysql://x/y").open().await.map(|_| ());
        assert!(matches!(err, Err(StoreError::Invalid(_))), "{err:?}");
    }
}
