//! Token caching: when to refresh, one fetch at a time, and a pause after
//! a failure.

use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock};

use auth_core::clock::Clock;
use reqwest::{Response, StatusCode};
use secrecy::SecretString;
use serde::Deserialize;

use crate::authenticator::{AppliedGeneration, Verdict};
use crate::error::ClientError;

/// The default lifetime of a token under [`RefreshMode::Static`], and the
/// fallback when an answer has no `expires_in`: one hour.
pub const DEFAULT_TOKEN_TTL: i64 = 3600;
/// The default pause after a failed authentication: one minute.
pub const DEFAULT_RETRY_DELAY: i64 = 60;
/// How long before a [`RefreshMode::Dynamic`] token expires it is refreshed,
/// by default: 30 s (at most half the token's lifetime).
pub const DEFAULT_REFRESH_MARGIN: i64 = 30;

/// How a token's lifetime is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshMode {
    /// Authenticate again after a configured lifetime, whatever the server says.
    #[default]
    Static,
    /// Take the lifetime from the answer (`expires_in`, or a configured key),
    /// and refresh a margin before it ends.
    Dynamic,
}

/// When a cached token is refreshed, and how long to wait after a failure.
///
/// ```
/// use auth_client::{RefreshMode, RefreshPolicy};
///
/// let policy = RefreshPolicy::default();
/// assert_eq!(policy.mode, RefreshMode::Static);
/// assert_eq!((policy.ttl, policy.retry_delay), (3600, 60));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPolicy {
    /// Static or dynamic lifetime.
    pub mode: RefreshMode,
    /// The lifetime in seconds under [`RefreshMode::Static`], and the
    /// fallback when a dynamic answer has no lifetime.
    pub ttl: i64,
    /// Seconds before a dynamic token's expiry at which it is refreshed;
    /// capped at half the token's lifetime.
    pub margin: i64,
    /// Seconds to wait after a failed authentication before trying again.
    pub retry_delay: i64,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            mode: RefreshMode::Static,
            ttl: DEFAULT_TOKEN_TTL,
            margin: DEFAULT_REFRESH_MARGIN,
            retry_delay: DEFAULT_RETRY_DELAY,
        }
    }
}

impl RefreshPolicy {
    /// Seconds after a fetch at which the token is to be refreshed, and at
    /// which it expires.
    fn lifetime(&self, expires_in: Option<i64>) -> (i64, i64) {
        match (self.mode, expires_in) {
            (RefreshMode::Dynamic, Some(lifetime)) => {
                let lifetime = lifetime.max(0);
                let margin = self.margin.clamp(0, lifetime / 2);
                (lifetime - margin, lifetime)
            }
            _ => (self.ttl, self.ttl),
        }
    }
}

/// A token as a token endpoint answered it.
#[derive(Debug)]
pub struct FetchedToken {
    /// The token.
    pub value: SecretString,
    /// Its lifetime in seconds, when the answer said.
    pub expires_in: Option<i64>,
}

#[derive(Debug)]
struct Cached {
    value: SecretString,
    refresh_at: i64,
    expires_at: i64,
    generation: u64,
    stale: bool,
}

#[derive(Debug, Default)]
struct Flight {
    generation: u64,
    failure: Option<Failure>,
}

#[derive(Debug)]
struct Failure {
    at: i64,
    cause: String,
}

/// A cached token with single-flight refresh, for token authenticators
/// (the built-in ones and your own).
///
/// - [`ensure`](Self::ensure) returns at once while the token is fresh.
///   Otherwise it takes the fetch lock: however many requests wait, one
///   fetch runs and the others use its result.
/// - After a failed fetch, callers get [`ClientError::RetryLater`] until
///   [`RefreshPolicy::retry_delay`] has passed, without the token server
///   being asked. A dynamic token that is due for refresh but not yet
///   expired stays in use meanwhile.
/// - Time comes from the injected [`Clock`], so tests move a
///   [`ManualClock`](auth_core::clock::ManualClock) instead of sleeping.
///
/// ```
/// # async fn demo() -> Result<(), auth_client::ClientError> {
/// use std::sync::Arc;
/// use auth_client::{FetchedToken, RefreshPolicy, TokenCache};
/// use auth_core::clock::ManualClock;
/// use secrecy::ExposeSecret;
///
/// let cache = TokenCache::new(RefreshPolicy::default(), Arc::new(ManualClock::new(0)));
/// cache
///     .ensure(|| async { Ok(FetchedToken { value: "t-1".into(), expires_in: None }) })
///     .await?;
/// assert_eq!(cache.with_token(|t| t.expose_secret().len()), Some(3));
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().build().expect("runtime").block_on(demo()).expect("demo");
/// ```
#[derive(Debug)]
pub struct TokenCache {
    policy: RefreshPolicy,
    clock: Arc<dyn Clock>,
    current: RwLock<Option<Cached>>,
    flight: tokio::sync::Mutex<Flight>,
}

impl TokenCache {
    /// An empty cache.
    pub fn new(policy: RefreshPolicy, clock: Arc<dyn Clock>) -> Self {
        Self {
            policy,
            clock,
            current: RwLock::new(None),
            flight: tokio::sync::Mutex::new(Flight::default()),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &RefreshPolicy {
        &self.policy
    }

    /// Makes sure a usable token is cached, running `fetch` when the cached
    /// one is missing, due for refresh or invalidated. One fetch runs at a
    /// time; callers that waited on it use its token.
    pub async fn ensure<F, Fut>(&self, fetch: F) -> Result<(), ClientError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<FetchedToken, ClientError>>,
    {
        if self.is_fresh() {
            return Ok(());
        }
        let mut flight = self.flight.lock().await;
        // Whoever held the lock before may have refreshed it.
        if self.is_fresh() {
            return Ok(());
        }
        let now = self.clock.now();
        if let Some(failure) = &flight.failure {
            let retry_at = failure.at.saturating_add(self.policy.retry_delay);
            if now < retry_at {
                if self.is_unexpired() {
                    return Ok(());
                }
                return Err(ClientError::RetryLater {
                    retry_in: retry_at - now,
                    cause: failure.cause.clone(),
                });
            }
        }
        match fetch().await {
            Ok(token) => {
                let now = self.clock.now();
                let (refresh_after, expires_after) = self.policy.lifetime(token.expires_in);
                flight.generation += 1;
                flight.failure = None;
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(Cached {
                    value: token.value,
                    refresh_at: now.saturating_add(refresh_after),
                    expires_at: now.saturating_add(expires_after),
                    generation: flight.generation,
                    stale: false,
                });
                tracing::debug!(
                    generation = flight.generation,
                    lifetime = expires_after,
                    "token fetched"
                );
                Ok(())
            }
            Err(err) => {
                let cause = err.to_string();
                tracing::warn!(
                    error = %cause,
                    retry_delay = self.policy.retry_delay,
                    "authentication failed; pausing before the next attempt"
                );
                flight.failure = Some(Failure {
                    at: self.clock.now(),
                    cause,
                });
                if self.is_unexpired() {
                    return Ok(());
                }
                Err(err)
            }
        }
    }

    /// Calls `f` with the cached token, if there is one (stale or not).
    pub fn with_token<R>(&self, f: impl FnOnce(&SecretString) -> R) -> Option<R> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        current.as_ref().map(|c| f(&c.value))
    }

    /// The generation of the cached token: it grows by one with every fetch.
    /// `0` before the first.
    pub fn generation(&self) -> u64 {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        current.as_ref().map_or(0, |c| c.generation)
    }

    /// Marks the cached token stale if it is still `generation`, so the next
    /// [`ensure`](Self::ensure) fetches a new one. Returns whether it did.
    pub fn invalidate(&self, generation: u64) -> bool {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        match current.as_mut() {
            Some(c) if c.generation == generation && !c.stale => {
                c.stale = true;
                tracing::debug!(generation, "token invalidated");
                true
            }
            _ => false,
        }
    }

    /// The usual [`Authenticator::check_result`](crate::Authenticator::check_result)
    /// of a token authenticator: on a 401, invalidates the token the request
    /// was sent with and asks for a retry.
    pub fn check_result(&self, response: &Response) -> Verdict {
        if response.status() != StatusCode::UNAUTHORIZED {
            return Verdict::Accept;
        }
        if let Some(AppliedGeneration(generation)) = response.extensions().get() {
            self.invalidate(*generation);
        } else {
            self.invalidate(self.generation());
        }
        Verdict::Reauthenticate
    }

    fn is_fresh(&self) -> bool {
        let now = self.clock.now();
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        current
            .as_ref()
            .is_some_and(|c| !c.stale && now < c.refresh_at)
    }

    fn is_unexpired(&self) -> bool {
        let now = self.clock.now();
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        current
            .as_ref()
            .is_some_and(|c| !c.stale && now < c.expires_at)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use auth_core::clock::ManualClock;
    use secrecy::ExposeSecret;

    use super::*;

    fn token(value: &str, expires_in: Option<i64>) -> Result<FetchedToken, ClientError> {
        Ok(FetchedToken {
            value: value.into(),
            expires_in,
        })
    }

    fn value(cache: &TokenCache) -> Option<String> {
        cache.with_token(|t| t.expose_secret().to_owned())
    }

    #[test]
    fn dynamic_margin_is_capped_at_half_the_lifetime() {
        let policy = RefreshPolicy {
            mode: RefreshMode::Dynamic,
            ..RefreshPolicy::default()
        };
        assert_eq!(policy.lifetime(Some(600)), (570, 600));
        assert_eq!(policy.lifetime(Some(20)), (10, 20));
        assert_eq!(policy.lifetime(Some(-5)), (0, 0));
        assert_eq!(policy.lifetime(None), (3600, 3600));
        assert_eq!(RefreshPolicy::default().lifetime(Some(600)), (3600, 3600));
    }

    #[tokio::test]
    async fn invalidating_an_older_generation_keeps_the_newer_token() {
        let cache = TokenCache::new(RefreshPolicy::default(), Arc::new(ManualClock::new(0)));
        cache
            .ensure(|| async { token("a", None) })
            .await
            .expect("a");
        assert!(cache.invalidate(1));
        cache
            .ensure(|| async { token("b", None) })
            .await
            .expect("b");
        assert_eq!(cache.generation(), 2);
        assert!(!cache.invalidate(1), "a late 401 for `a` must not drop `b`");
        cache
            .ensure(|| async { token("c", None) })
            .await
            .expect("still b");
        assert_eq!(value(&cache).as_deref(), Some("b"));
    }

    #[tokio::test]
    async fn a_due_but_unexpired_dynamic_token_survives_a_failed_refresh() {
        let clock = ManualClock::new(0);
        let policy = RefreshPolicy {
            mode: RefreshMode::Dynamic,
            ..RefreshPolicy::default()
        };
        let cache = TokenCache::new(policy, Arc::new(clock.clone()));
        let fetches = AtomicUsize::new(0);
        cache
            .ensure(|| async { token("a", Some(100)) })
            .await
            .expect("a");
        clock.set(80); // past refresh (70), before expiry (100)
        let failing = || async {
            fetches.fetch_add(1, Ordering::SeqCst);
            Err(ClientError::TokenEndpoint {
                url: "http://idp/token".into(),
                status: 503,
            })
        };
        cache.ensure(failing).await.expect("old token still valid");
        cache.ensure(failing).await.expect("within the retry delay");
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        assert_eq!(value(&cache).as_deref(), Some("a"));
        clock.set(100);
        let err = cache.ensure(failing).await.expect_err("expired");
        assert!(matches!(err, ClientError::RetryLater { retry_in: 40, .. }));
    }
}
