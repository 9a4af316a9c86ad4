//! A key set fetched from a JWKS URL (directly or through OIDC discovery),
//! refreshed without ever making a request with a known key wait.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use serde_json::Value;

use super::fetch::{FetchError, Fetcher, cache_max_age, url_is_allowed};
use crate::clock::Clock;
use crate::jwt::{Algorithm, JwtKey, KeySet};

/// How often a remote key set is fetched, and how long it is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwksRefresh {
    /// Refetch this long after a fetch, or sooner when the answer's
    /// `Cache-Control: max-age` says so (seconds).
    pub interval: u64,
    /// At most one fetch per this many seconds, whatever asks for it (a
    /// token with an unknown `kid`, an expired cache). Also the shortest
    /// `max-age` honoured.
    pub min_interval: u64,
    /// How long the last good key set is used while refreshes fail
    /// (seconds since it was fetched); after that every token is refused.
    pub max_stale: u64,
    /// The timeout of each fetch.
    pub timeout: Duration,
}

impl Default for JwksRefresh {
    fn default() -> Self {
        Self {
            interval: 3600,
            min_interval: 30,
            max_stale: 86_400,
            timeout: Duration::from_secs(5),
        }
    }
}

/// Where the key set comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A JWKS URL.
    Jwks(String),
    /// An issuer URL: `{issuer}/.well-known/openid-configuration` names the
    /// JWKS URL, and its `issuer` must equal this one exactly.
    Discovery(String),
}

/// Why no key was found for a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyLookupError {
    /// No key set could be fetched (or the last good one is too old).
    #[error("the identity provider's keys are unavailable")]
    Unavailable,
    /// The key set, fresh or as fresh as the rate limit allows, has no such key.
    #[error("no key with this kid")]
    UnknownKey,
}

struct Loaded {
    keys: Arc<KeySet>,
    fetched_at: i64,
    due_at: i64,
}

struct Inner {
    source: KeySource,
    jwks_uri: ArcSwapOption<String>,
    fetcher: Arc<dyn Fetcher>,
    clock: Arc<dyn Clock>,
    policy: JwksRefresh,
    algorithms: Vec<Algorithm>,
    current: ArcSwapOption<Loaded>,
    last_attempt: AtomicI64,
    refresh: Arc<tokio::sync::Mutex<()>>,
}

/// A remote key set: fetched on first use, refreshed on an interval (or the
/// answer's `max-age`) in the background, and at once when a token names an
/// unknown `kid`, at most once per [`JwksRefresh::min_interval`].
///
/// Requests whose key is known read the current set through an atomic
/// pointer and never wait on a refresh; one refresh runs at a time, with a
/// timeout. A failed refresh keeps the last good set for
/// [`JwksRefresh::max_stale`]. Keys that cannot be used (HMAC secrets, a
/// `use` other than `sig`, `key_ops` without `verify`, RSA under 2048 bits,
/// algorithms not allowed, unknown key types) are skipped without failing
/// the others.
#[derive(Clone)]
pub struct RemoteJwks {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("source", &self.inner.source)
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}

impl RemoteJwks {
    /// A key set from `source`, fetched with `fetcher`, with keys for
    /// `algorithms` only, timed by `clock`.
    pub fn new(
        source: KeySource,
        fetcher: Arc<dyn Fetcher>,
        policy: JwksRefresh,
        algorithms: Vec<Algorithm>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let jwks_uri = match &source {
            KeySource::Jwks(url) => Some(Arc::new(url.clone())),
            KeySource::Discovery(_) => None,
        };
        Self {
            inner: Arc::new(Inner {
                source,
                jwks_uri: ArcSwapOption::new(jwks_uri),
                fetcher,
                clock,
                policy,
                algorithms,
                current: ArcSwapOption::empty(),
                last_attempt: AtomicI64::new(i64::MIN),
                refresh: Arc::new(tokio::sync::Mutex::new(())),
            }),
        }
    }

    /// Where the keys come from.
    pub fn source(&self) -> &KeySource {
        &self.inner.source
    }

    /// The current key set, when one is loaded and not older than `max_stale`.
    pub fn current(&self) -> Option<Arc<KeySet>> {
        self.usable(self.inner.clock.now()).map(|l| l.keys.clone())
    }

    /// The key set to verify a token naming `kid` with.
    ///
    /// A known key answers at once (starting a background refresh when the
    /// set is due). An unknown one triggers a fetch when the rate limit
    /// allows, or waits for the fetch already running; otherwise it is
    /// refused at once.
    pub async fn keys_for(&self, kid: Option<&str>) -> Result<Arc<KeySet>, KeyLookupError> {
        let now = self.inner.clock.now();
        if let Some(loaded) = self.usable(now) {
            if now >= loaded.due_at {
                self.refresh_in_background(now);
            }
            if loaded.keys.select(kid).is_some() {
                return Ok(loaded.keys.clone());
            }
        }
        if self.claim(now) {
            let _running = self.inner.refresh.lock().await;
            if let Err(e) = self.fetch_and_store().await {
                tracing::warn!(source = ?self.inner.source, error = %e, "refreshing the remote key set failed; keeping the last good one");
            }
        } else {
            // Another request claimed this interval's fetch: wait for it if it
            // is still running (at most its timeout), then look again.
            drop(self.inner.refresh.lock().await);
        }
        let loaded = self
            .usable(self.inner.clock.now())
            .ok_or(KeyLookupError::Unavailable)?;
        if loaded.keys.select(kid).is_some() {
            Ok(loaded.keys.clone())
        } else {
            Err(KeyLookupError::UnknownKey)
        }
    }

    /// Fetches now, whatever the rate limit says (e.g. at start-up, so the
    /// first request does not wait). Waits for a refresh already running.
    pub async fn refresh(&self) -> Result<(), FetchError> {
        let _running = self.inner.refresh.lock().await;
        self.inner
            .last_attempt
            .store(self.inner.clock.now(), Ordering::SeqCst);
        self.fetch_and_store().await
    }

    /// Waits until no refresh is running (a background refresh started by a
    /// request, for instance).
    pub async fn idle(&self) {
        drop(self.inner.refresh.lock().await);
    }

    fn usable(&self, now: i64) -> Option<Arc<Loaded>> {
        let loaded = self.inner.current.load_full()?;
        let max_stale = i64::try_from(self.inner.policy.max_stale).unwrap_or(i64::MAX);
        (now < loaded.fetched_at.saturating_add(max_stale)).then_some(loaded)
    }

    /// Claims the one fetch allowed per `min_interval`.
    fn claim(&self, now: i64) -> bool {
        let min = i64::try_from(self.inner.policy.min_interval).unwrap_or(i64::MAX);
        let last = &self.inner.last_attempt;
        let prev = last.load(Ordering::SeqCst);
        if prev != i64::MIN && now < prev.saturating_add(min) {
            return false;
        }
        last.compare_exchange(prev, now, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    fn refresh_in_background(&self, now: i64) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if !self.claim(now) {
            return;
        }
        let Ok(running) = self.inner.refresh.clone().try_lock_owned() else {
            return;
        };
        let this = self.clone();
        runtime.spawn(async move {
            if let Err(e) = this.fetch_and_store().await {
                tracing::warn!(source = ?this.inner.source, error = %e, "refreshing the remote key set failed; keeping the last good one");
            }
            drop(running);
        });
    }

    async fn get(&self, url: &str) -> Result<(Value, Option<u64>), FetchError> {
        let timeout = self.inner.policy.timeout;
        let fetched = tokio::time::timeout(timeout, self.inner.fetcher.get(url, timeout))
            .await
            .map_err(|_| FetchError::Timeout)??;
        let doc = serde_json::from_slice(&fetched.body)
            .map_err(|_| FetchError::Invalid(format!("{url} did not answer JSON")))?;
        Ok((
            doc,
            fetched.cache_control.as_deref().and_then(cache_max_age),
        ))
    }

    async fn jwks_uri(&self) -> Result<Arc<String>, FetchError> {
        if let Some(uri) = self.inner.jwks_uri.load_full() {
            return Ok(uri);
        }
        let KeySource::Discovery(issuer) = &self.inner.source else {
            return Err(FetchError::Invalid("no JWKS URL".into()));
        };
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let (doc, _) = self.get(&url).await?;
        if doc.get("issuer").and_then(Value::as_str) != Some(issuer.as_str()) {
            return Err(FetchError::Invalid(format!(
                "the discovery document at {url} names another issuer"
            )));
        }
        let uri = doc
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| FetchError::Invalid(format!("{url} has no jwks_uri")))?;
        if !url_is_allowed(uri) {
            return Err(FetchError::InsecureUrl(uri.to_owned()));
        }
        let uri = Arc::new(uri.to_owned());
        self.inner.jwks_uri.store(Some(uri.clone()));
        Ok(uri)
    }

    async fn fetch_and_store(&self) -> Result<(), FetchError> {
        let uri = self.jwks_uri().await?;
        let fetched = self.get(&uri).await;
        if fetched.is_err() && matches!(self.inner.source, KeySource::Discovery(_)) {
            // The provider may have moved its keys: discover again next time.
            self.inner.jwks_uri.store(None);
        }
        let (doc, max_age) = fetched?;
        let (keys, skipped) = parse_jwks(&doc, &self.inner.algorithms)?;
        for reason in &skipped {
            tracing::debug!(uri = %uri, %reason, "JWK skipped");
        }
        if keys.is_empty() {
            return Err(FetchError::Invalid(format!(
                "{uri} holds no usable key ({} skipped)",
                skipped.len()
            )));
        }
        let policy = &self.inner.policy;
        let fresh_for = max_age.unwrap_or(policy.interval).clamp(
            policy.min_interval,
            policy.interval.max(policy.min_interval),
        );
        let now = self.inner.clock.now();
        self.inner.current.store(Some(Arc::new(Loaded {
            keys: Arc::new(keys),
            fetched_at: now,
            due_at: now.saturating_add(i64::try_from(fresh_for).unwrap_or(i64::MAX)),
        })));
        Ok(())
    }
}

/// The usable keys of a JWK Set document, and why each other key was skipped.
///
/// A key's algorithm is its `alg`; without one it is inferred where the key
/// type allows only one (`EC` P-256: ES256, P-384: ES384, `OKP` Ed25519:
/// EdDSA) and RS256 for `RSA`. Keys whose algorithm is not in `algorithms`,
/// HMAC (`oct`) keys, and keys the core refuses (see
/// [`JwtKey::from_jwk_with_alg`]) are skipped. Only a document that is not
/// `{"keys": [...]}` is an error.
///
/// ```
/// use auth_core::jwt::Algorithm;
/// use auth_core::oidc::parse_jwks;
///
/// let doc = serde_json::json!({"keys": [
///     {"kty": "OKP", "crv": "Ed25519", "kid": "a", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
///     {"kty": "oct", "kid": "b", "k": "c2VjcmV0", "alg": "HS256"},
///     {"kty": "OKP", "crv": "X25519", "kid": "c", "x": "AAAA"},
/// ]});
/// let (keys, skipped) = parse_jwks(&doc, &[Algorithm::EdDSA]).unwrap();
/// assert!(keys.select(Some("a")).is_some());
/// assert_eq!(skipped.len(), 2);
/// ```
pub fn parse_jwks(
    doc: &Value,
    algorithms: &[Algorithm],
) -> Result<(KeySet, Vec<String>), FetchError> {
    let items = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| FetchError::Invalid("not a JWK Set: no `keys` array".into()))?;
    let mut keys = KeySet::new();
    let mut skipped = Vec::new();
    for jwk in items {
        let kid = jwk.get("kid").and_then(Value::as_str).unwrap_or("-");
        match usable_key(jwk, algorithms) {
            Ok(key) => keys.insert(key),
            Err(reason) => skipped.push(format!("kid {kid}: {reason}")),
        }
    }
    Ok((keys, skipped))
}

fn usable_key(jwk: &Value, algorithms: &[Algorithm]) -> Result<JwtKey, String> {
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    let alg = match text("alg") {
        Some(name) => Algorithm::from_name(name).ok_or(format!("algorithm `{name}`"))?,
        None => match (text("kty"), text("crv")) {
            (Some("RSA"), _) => Algorithm::RS256,
            (Some("EC"), Some("P-256")) => Algorithm::ES256,
            (Some("EC"), Some("P-384")) => Algorithm::ES384,
            (Some("OKP"), Some("Ed25519")) => Algorithm::EdDSA,
            (kty, crv) => {
                return Err(format!(
                    "key type {} {}",
                    kty.unwrap_or("-"),
                    crv.unwrap_or("")
                ));
            }
        },
    };
    if alg.is_hmac() || text("kty") == Some("oct") {
        return Err("a shared secret has no place in a public key set".into());
    }
    if !algorithms.contains(&alg) {
        return Err(format!("algorithm {alg} is not allowed"));
    }
    JwtKey::from_jwk_with_alg(jwk, alg).map_err(|e| e.to_string())
}
