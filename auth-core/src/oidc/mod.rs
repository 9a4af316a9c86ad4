//! Resource-server mode: tokens minted by outside identity providers,
//! verified with keys from their JWKS, found directly or through OIDC
//! discovery.
//!
//! One [`OidcHandler`] serves any number of issuers (tenants), each with its
//! own audience and claims mapping. A token is routed by its (unverified)
//! `iss` to its issuer, then verified strictly: signature with that
//! issuer's keys only, `iss`, `aud`, `exp`/`nbf`/`iat`. Tokens of issuers it
//! does not know are not its business (`Ok(None)`: the pipeline asks the
//! next handler).
//!
//! From settings, one call (feature `remote-jwks`): with `APP_OIDC_ISSUER`
//! (or `APP_JWKS_URL`) and `APP_JWT_AUDIENCE` set,
//!
//! ```no_run
//! # #[cfg(feature = "remote-jwks")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use auth_core::{Pipeline, Settings};
//!
//! let settings = Settings::from_env_prefixed("APP_")?;
//! let mut pipeline = Pipeline::builder();
//! if let Some(oidc) = settings.oidc_handler()? {
//!     pipeline = pipeline.handler(oidc);
//! }
//! # let _ = pipeline;
//! # Ok(()) }
//! # #[cfg(not(feature = "remote-jwks"))]
//! # fn main() {}
//! ```
//!
//! or from a file, several issuers at once:
//!
//! ```
//! use auth_core::oidc::OidcConfig;
//!
//! let config: OidcConfig = toml::from_str(r#"
//!     [[issuers]]
//!     issuer = "https://keycloak.example/realms/chat"
//!     audience = "chat-api"
//!     ## The provider's roles mean nothing here until mapped to local ones.
//!     claims = { roles = ["realm_access.roles", "resource_access.chat-api.roles"], local_roles = { "chat-admin" = "admin" } }
//!
//!     [[issuers]]
//!     issuer = "https://tenant.eu.auth0.com/"
//!     audience = ["https://chat.example/api"]
//!     refresh_interval_secs = 600
//! "#).unwrap();
//! assert_eq!(config.issuers.len(), 2);
//! ```

mod fetch;
mod jwks;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[cfg(feature = "remote-jwks")]
pub use fetch::ReqwestFetcher;
pub use fetch::{FetchError, Fetched, Fetcher, MAX_DOCUMENT_BYTES, cache_max_age, url_is_allowed};
pub use jwks::{JwksRefresh, KeyLookupError, KeySource, RemoteJwks, parse_jwks};

use crate::clock::{Clock, SystemClock};
use crate::context::AuthContext;
use crate::error::{AuthError, AuthResult};
use crate::handlers::AuthHandler;
use crate::jwt::json::{self, JsonError};
use crate::jwt::{
    Algorithm, ClaimMapping, ClaimsMapper, DEFAULT_LEEWAY, DEFAULT_MAX_HEADER_LEN,
    DEFAULT_MAX_TOKEN_LEN, JwtValidator, KeySet, Validation,
};
use crate::principal::Principal;

/// One outside issuer: where its keys are, what audience its tokens must
/// name, how their claims map onto a principal, and how keys are refreshed.
///
/// | field | meaning | default |
/// |---|---|---|
/// | `issuer` | the `iss` of its tokens; alone, its keys are found by discovery | |
/// | `jwks_url` | the JWKS URL; with `issuer`, discovery is skipped; alone, this issuer takes tokens of any `iss` no other issuer claims | |
/// | `audience` | one or more accepted `aud` values (required) | |
/// | `claims` | a [`ClaimMapping`] | scopes from `scope`/`scp`/`permissions`; roles from `roles`/`realm_access.roles`, only those mapped to local roles in `local_roles` |
/// | `algorithms` | accepted signature algorithms | every asymmetric one |
/// | `refresh_interval_secs` | refetch the keys this often (or at the answer's `max-age`) | 3600 |
/// | `min_refresh_interval_secs` | at most one fetch per this many seconds | 30 |
/// | `max_stale_secs` | keep the last good keys this long while fetches fail | 86400 |
/// | `fetch_timeout_ms` | timeout of each fetch | 5000 |
/// | `leeway_secs` | clock skew allowed on `exp`/`nbf`/`iat` | 30 |
///
/// URLs must be `https://` (plain `http://` only on loopback).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IssuerConfig {
    /// The issuer identifier (`iss`), and the base of discovery.
    pub issuer: Option<String>,
    /// The JWKS URL.
    pub jwks_url: Option<String>,
    /// Accepted audiences.
    #[serde(deserialize_with = "one_or_many")]
    pub audience: Vec<String>,
    /// Claims to principal.
    pub claims: ClaimMapping,
    /// Accepted algorithms.
    pub algorithms: Vec<Algorithm>,
    /// Seconds between refreshes.
    pub refresh_interval_secs: u64,
    /// Minimum seconds between fetches.
    pub min_refresh_interval_secs: u64,
    /// Seconds the last good key set outlives failed refreshes.
    pub max_stale_secs: u64,
    /// Timeout of each fetch, in milliseconds.
    pub fetch_timeout_ms: u64,
    /// Clock skew allowed, in seconds.
    pub leeway_secs: u32,
}

impl Default for IssuerConfig {
    fn default() -> Self {
        let policy = JwksRefresh::default();
        Self {
            issuer: None,
            jwks_url: None,
            audience: Vec::new(),
            claims: ClaimMapping::default(),
            algorithms: Algorithm::ALL
                .into_iter()
                .filter(|a| !a.is_hmac())
                .collect(),
            refresh_interval_secs: policy.interval,
            min_refresh_interval_secs: policy.min_interval,
            max_stale_secs: policy.max_stale,
            fetch_timeout_ms: u64::try_from(policy.timeout.as_millis()).unwrap_or(5000),
            leeway_secs: u32::try_from(DEFAULT_LEEWAY).unwrap_or(30),
        }
    }
}

impl IssuerConfig {
    /// An issuer found through OIDC discovery.
    pub fn discover(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: Some(issuer.into()),
            audience: vec![audience.into()],
            ..Self::default()
        }
    }

    /// An issuer known only by its JWKS URL (no `iss` check).
    pub fn jwks(url: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            jwks_url: Some(url.into()),
            audience: vec![audience.into()],
            ..Self::default()
        }
    }

    /// Replaces the claims mapping.
    #[must_use]
    pub fn claims(mut self, claims: ClaimMapping) -> Self {
        self.claims = claims;
        self
    }

    /// Sets the refresh interval and the minimum time between fetches.
    #[must_use]
    pub fn refresh(mut self, interval_secs: u64, min_interval_secs: u64) -> Self {
        self.refresh_interval_secs = interval_secs;
        self.min_refresh_interval_secs = min_interval_secs;
        self
    }

    /// Sets how long the last good keys outlive failed refreshes.
    #[must_use]
    pub fn max_stale(mut self, secs: u64) -> Self {
        self.max_stale_secs = secs;
        self
    }

    /// Sets the timeout of each fetch.
    #[must_use]
    pub fn fetch_timeout(mut self, timeout: Duration) -> Self {
        self.fetch_timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self
    }

    fn policy(&self) -> JwksRefresh {
        JwksRefresh {
            interval: self.refresh_interval_secs,
            min_interval: self.min_refresh_interval_secs,
            max_stale: self.max_stale_secs,
            timeout: Duration::from_millis(self.fetch_timeout_ms),
        }
    }

    fn source(&self) -> Result<KeySource, OidcError> {
        let check = |url: &str| {
            if url_is_allowed(url) {
                Ok(())
            } else {
                Err(OidcError::InsecureUrl(url.to_owned()))
            }
        };
        match (&self.issuer, &self.jwks_url) {
            (_, Some(url)) => {
                check(url)?;
                Ok(KeySource::Jwks(url.clone()))
            }
            (Some(issuer), None) => {
                check(issuer)?;
                Ok(KeySource::Discovery(issuer.clone()))
            }
            (None, None) => Err(OidcError::NoSource),
        }
    }
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// Several issuers, as a settings file lists them (`[[issuers]]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The issuers.
    pub issuers: Vec<IssuerConfig>,
}

/// A configuration mistake, reported when the handler is built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OidcError {
    /// Neither `issuer` nor `jwks_url`.
    #[error("an issuer needs `issuer` (OIDC discovery) or `jwks_url`")]
    NoSource,
    /// No audience: every provider's token would be accepted by every service.
    #[error(
        "issuer {0}: set an audience (the `aud` this service accepts, e.g. its API identifier)"
    )]
    NoAudience(String),
    /// A URL that is neither https nor loopback http.
    #[error("{0}: only https URLs are fetched (plain http on loopback only)")]
    InsecureUrl(String),
    /// Two issuers with the same `iss`.
    #[error("issuer {0} is configured twice")]
    DuplicateIssuer(String),
    /// Two issuers without `iss`: a token could not be routed.
    #[error("at most one issuer may be configured by `jwks_url` alone, without `issuer`")]
    SeveralCatchAll,
    /// No algorithm allowed.
    #[error("issuer {0}: no asymmetric algorithm is allowed")]
    NoAlgorithm(String),
    /// No fetcher: build with `fetcher(...)` or enable the `remote-jwks` feature.
    #[error(
        "no fetcher: enable the `remote-jwks` feature of auth-core, or pass one to OidcHandlerBuilder::fetcher"
    )]
    NoFetcher,
    /// The fetcher could not be made.
    #[error("the HTTP client could not be built: {0}")]
    Fetcher(String),
}

impl From<OidcError> for AuthError {
    fn from(e: OidcError) -> Self {
        AuthError::Misconfigured(e.to_string())
    }
}

struct Tenant {
    issuer: Option<String>,
    jwks: RemoteJwks,
    validator: JwtValidator,
    mapper: Arc<dyn ClaimsMapper>,
}

/// Verifies bearer JWTs of outside issuers (see the [module docs](self)).
///
/// | outcome | answer |
/// |---|---|
/// | `iss` names no configured issuer (and none is configured by JWKS URL alone) | `Ok(None)`: not mine |
/// | valid | `Ok(Some(principal))`, mapped by the issuer's [`ClaimMapping`] |
/// | a member name repeats in the header or the claims (`{"iss":"a","iss":"b"}`) | `Err(InvalidCredentials)` (401) |
/// | bad signature, audience, expiry, unknown `kid` after a refresh | `Err(InvalidCredentials)` (401) |
/// | no key set could ever be fetched, or the last good one is older than `max_stale` | `Err(Unavailable)` (503) |
///
/// Place it before a [`JwtHandler`](crate::JwtHandler) for the service's
/// own tokens when every issuer is named (it passes other tokens on), after
/// it when one issuer is configured by JWKS URL alone (it takes every token
/// left).
pub struct OidcHandler {
    tenants: Vec<Tenant>,
    by_issuer: HashMap<String, usize>,
    catch_all: Option<usize>,
}

impl std::fmt::Debug for OidcHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcHandler")
            .field(
                "issuers",
                &self
                    .tenants
                    .iter()
                    .map(|t| t.jwks.source())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Builds an [`OidcHandler`].
#[must_use]
pub struct OidcHandlerBuilder {
    fetcher: Option<Arc<dyn Fetcher>>,
    clock: Arc<dyn Clock>,
    issuers: Vec<(IssuerConfig, Option<Arc<dyn ClaimsMapper>>)>,
}

impl OidcHandlerBuilder {
    /// Fetches with this client (default: `ReqwestFetcher`, feature `remote-jwks`).
    pub fn fetcher(mut self, fetcher: Arc<dyn Fetcher>) -> Self {
        self.fetcher = Some(fetcher);
        self
    }

    /// Replaces the clock (tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Adds an issuer.
    pub fn issuer(mut self, config: IssuerConfig) -> Self {
        self.issuers.push((config, None));
        self
    }

    /// Adds an issuer whose claims a custom mapper reads (its `claims` field is ignored).
    pub fn issuer_with_mapper(mut self, config: IssuerConfig, mapper: impl ClaimsMapper) -> Self {
        self.issuers.push((config, Some(Arc::new(mapper))));
        self
    }

    /// Adds every issuer of a configuration.
    pub fn config(mut self, config: &OidcConfig) -> Self {
        for issuer in &config.issuers {
            self.issuers.push((issuer.clone(), None));
        }
        self
    }

    /// Checks the configuration and builds the handler. Nothing is fetched
    /// yet: see [`OidcHandler::prefetch`].
    pub fn build(self) -> Result<OidcHandler, OidcError> {
        let fetcher = match self.fetcher {
            Some(f) => f,
            None => default_fetcher()?,
        };
        let mut handler = OidcHandler {
            tenants: Vec::new(),
            by_issuer: HashMap::new(),
            catch_all: None,
        };
        for (config, mapper) in self.issuers {
            let source = config.source()?;
            let name = config
                .issuer
                .clone()
                .or_else(|| config.jwks_url.clone())
                .unwrap_or_default();
            if config.audience.is_empty() {
                return Err(OidcError::NoAudience(name));
            }
            let algorithms: Vec<Algorithm> = config
                .algorithms
                .iter()
                .copied()
                .filter(|a| !a.is_hmac())
                .collect();
            if algorithms.is_empty() {
                return Err(OidcError::NoAlgorithm(name));
            }
            let index = handler.tenants.len();
            match &config.issuer {
                Some(iss) => {
                    if handler.by_issuer.insert(iss.clone(), index).is_some() {
                        return Err(OidcError::DuplicateIssuer(iss.clone()));
                    }
                }
                None => {
                    if handler.catch_all.replace(index).is_some() {
                        return Err(OidcError::SeveralCatchAll);
                    }
                }
            }
            let mut validation = Validation::new().leeway(config.leeway_secs);
            if let Some(iss) = &config.issuer {
                validation = validation.issuer(iss.clone());
            }
            for aud in &config.audience {
                validation = validation.audience(aud.clone());
            }
            let validator =
                JwtValidator::new(KeySet::new(), validation).with_clock(self.clock.clone());
            let mapper = mapper.unwrap_or_else(|| Arc::new(config.claims.clone()));
            handler.tenants.push(Tenant {
                issuer: config.issuer.clone(),
                jwks: RemoteJwks::new(
                    source,
                    fetcher.clone(),
                    config.policy(),
                    algorithms,
                    self.clock.clone(),
                ),
                validator,
                mapper,
            });
        }
        Ok(handler)
    }
}

#[cfg(feature = "remote-jwks")]
fn default_fetcher() -> Result<Arc<dyn Fetcher>, OidcError> {
    Ok(Arc::new(
        ReqwestFetcher::new().map_err(|e| OidcError::Fetcher(e.to_string()))?,
    ))
}

#[cfg(not(feature = "remote-jwks"))]
fn default_fetcher() -> Result<Arc<dyn Fetcher>, OidcError> {
    Err(OidcError::NoFetcher)
}

impl OidcHandler {
    /// A builder, on the system clock.
    pub fn builder() -> OidcHandlerBuilder {
        OidcHandlerBuilder {
            fetcher: None,
            clock: Arc::new(SystemClock),
            issuers: Vec::new(),
        }
    }

    /// A handler for these issuers, fetching with reqwest (feature `remote-jwks`).
    pub fn from_config(config: &OidcConfig) -> Result<Self, OidcError> {
        Self::builder().config(config).build()
    }

    /// The key set of the issuer whose `iss` (or, for the issuer configured
    /// by JWKS URL alone, `None`) is given.
    pub fn keys_of(&self, issuer: Option<&str>) -> Option<&RemoteJwks> {
        let index = match issuer {
            Some(iss) => *self.by_issuer.get(iss)?,
            None => self.catch_all?,
        };
        Some(&self.tenants[index].jwks)
    }

    /// Fetches every issuer's keys now, so the first requests do not wait;
    /// the first failure is returned (and the others logged). A failure is
    /// not fatal: keys are fetched again when a token needs them.
    pub async fn prefetch(&self) -> Result<(), FetchError> {
        let mut first = Ok(());
        for tenant in &self.tenants {
            if let Err(e) = tenant.jwks.refresh().await {
                tracing::warn!(source = ?tenant.jwks.source(), error = %e, "fetching an issuer's keys failed");
                if first.is_ok() {
                    first = Err(e);
                }
            }
        }
        first
    }

    fn route(&self, claims: Option<&Map<String, Value>>) -> Option<&Tenant> {
        let iss = claims.and_then(|c| c.get("iss")).and_then(Value::as_str);
        let index = iss
            .and_then(|iss| self.by_issuer.get(iss).copied())
            .or(self.catch_all)?;
        self.tenants.get(index)
    }
}

/// A JOSE header or a claims set, as decoded.
type Object = Map<String, Value>;

/// The header and claims of a compact JWS, decoded without verification
/// and read as the validator reads them: a member name that repeats is
/// [`JsonError::RepeatedName`], anything else that is not a JWS of sane
/// length [`JsonError::Malformed`].
fn unverified(token: &str) -> Result<(Object, Object), JsonError> {
    if token.len() > DEFAULT_MAX_TOKEN_LEN {
        return Err(JsonError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload)) = (parts.next(), parts.next()) else {
        return Err(JsonError::Malformed);
    };
    if header.len() > DEFAULT_MAX_HEADER_LEN {
        return Err(JsonError::Malformed);
    }
    Ok((json::segment(header)?, json::segment(payload)?))
}

#[async_trait]
impl AuthHandler for OidcHandler {
    fn name(&self) -> &str {
        "oidc"
    }

    async fn authorize_jwt(&self, token: &str, _cx: &AuthContext) -> AuthResult<Option<Principal>> {
        let (header, claims) = match unverified(token) {
            Ok(parts) => parts,
            // Routed by one reading of `iss`, verified by another: refused
            // here rather than passed on.
            Err(JsonError::RepeatedName) => {
                tracing::debug!("JWT refused: a member name repeats in its header or claims");
                return Err(AuthError::InvalidCredentials);
            }
            Err(JsonError::Malformed) => return Ok(None),
        };
        let Some(tenant) = self.route(Some(&claims)) else {
            return Ok(None);
        };
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.as_str()),
            Some(_) => return Err(AuthError::InvalidCredentials),
        };
        let keys = tenant.jwks.keys_for(kid).await.map_err(|e| match e {
            KeyLookupError::UnknownKey => {
                tracing::debug!(issuer = ?tenant.issuer, "JWT refused: no key with its kid");
                AuthError::InvalidCredentials
            }
            _ => AuthError::Unavailable(format!(
                "the keys of issuer {} are unavailable",
                tenant.issuer.as_deref().unwrap_or("(JWKS URL)")
            )),
        })?;
        match tenant.validator.validate_with(token, &keys) {
            Ok(valid) => tenant.mapper.map(&valid.claims).map(Some),
            Err(reason) => {
                tracing::debug!(issuer = ?tenant.issuer, %reason, "JWT refused");
                Err(AuthError::InvalidCredentials)
            }
        }
    }
}

#[cfg(test)]
mod tests;
