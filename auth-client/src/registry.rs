//! Authenticators by name, so a stored credential picks its own.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use auth_core::clock::{Clock, SystemClock};
use reqwest_middleware::ClientWithMiddleware;

use crate::authenticator::Authenticator;
use crate::config::CredentialConfig;
use crate::error::ClientError;
use crate::mask::OutboundLog;
use crate::middleware::AuthMiddleware;

/// What a factory gets besides the credential record.
#[derive(Debug, Clone)]
pub struct Context {
    /// An HTTP client with the record's proxy, TLS and timeout settings, for
    /// fetching tokens.
    pub http: reqwest::Client,
    /// The time source for token lifetimes and retry delays.
    pub clock: Arc<dyn Clock>,
}

/// Makes an authenticator from a credential record.
pub type Factory = dyn Fn(&CredentialConfig, &Context) -> Result<Arc<dyn Authenticator>, ClientError>
    + Send
    + Sync;

struct Entry {
    description: String,
    factory: Arc<Factory>,
}

/// Authenticators by name: the five built-ins and your own.
///
/// A credential record names its authenticator (see
/// [`CredentialConfig::authenticator_name`]); the registry makes it, and
/// [`client`](Self::client) wraps it into a ready reqwest client.
/// Names are matched case-insensitively.
///
/// ```
/// use std::sync::Arc;
/// use auth_client::{async_trait, Authenticator, AuthenticatorRegistry, ClientError, CredentialConfig};
/// use auth_client::secrecy::{ExposeSecret, SecretString};
///
/// /// Signs each request with a key in the `sig` query parameter.
/// #[derive(Debug)]
/// struct QueryKey(SecretString);
///
/// #[async_trait]
/// impl Authenticator for QueryKey {
///     fn name(&self) -> &str { "query_key" }
///     fn description(&self) -> &str { "A key in the `sig` query parameter." }
///     fn modify_request(&self, request: &mut reqwest::Request) -> Result<(), ClientError> {
///         request.url_mut().query_pairs_mut().append_pair("sig", self.0.expose_secret());
///         Ok(())
///     }
/// }
///
/// let mut registry = AuthenticatorRegistry::new();
/// registry.register("query_key", "A key in the `sig` query parameter.", |config, _cx| {
///     let key = config.extra.get("sig_key").and_then(|v| v.as_str()).ok_or_else(|| {
///         ClientError::Config("the `query_key` authenticator needs `sig_key`".into())
///     })?;
///     Ok(Arc::new(QueryKey(key.into())))
/// })?;
///
/// let record: CredentialConfig = serde_json::from_value(serde_json::json!({
///     "authenticator": "query_key",
///     "sig_key": "k-123",
///     "secret_query_params": ["sig"],
/// }))?;
/// let client = registry.client(&record)?;
/// # let _ = client;
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
pub struct AuthenticatorRegistry {
    entries: BTreeMap<String, Entry>,
    clock: Arc<dyn Clock>,
}

impl Default for AuthenticatorRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for AuthenticatorRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticatorRegistry")
            .field("names", &self.entries.keys().collect::<Vec<_>>())
            .field("clock", &self.clock)
            .finish()
    }
}

impl AuthenticatorRegistry {
    /// The built-ins: `none`, `basic`, `api_key`, `token` and `oauth2`.
    pub fn new() -> Self {
        let mut registry = Self::empty();
        crate::builtin::register_builtins(&mut registry);
        registry
    }

    /// No authenticator at all: to replace a built-in, register yours under
    /// its name here.
    pub fn empty() -> Self {
        Self {
            entries: BTreeMap::new(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Uses this clock for token lifetimes and retry delays (a
    /// [`ManualClock`](auth_core::clock::ManualClock) in tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Registers a factory under `name`; a taken name is refused.
    pub fn register<F>(
        &mut self,
        name: impl Into<String>,
        description: impl Into<String>,
        factory: F,
    ) -> Result<&mut Self, ClientError>
    where
        F: Fn(&CredentialConfig, &Context) -> Result<Arc<dyn Authenticator>, ClientError>
            + Send
            + Sync
            + 'static,
    {
        let name = name.into().to_ascii_lowercase();
        if self.entries.contains_key(&name) {
            return Err(ClientError::DuplicateAuthenticator(name));
        }
        self.insert(name, description, factory);
        Ok(self)
    }

    pub(crate) fn insert<F>(
        &mut self,
        name: impl Into<String>,
        description: impl Into<String>,
        factory: F,
    ) where
        F: Fn(&CredentialConfig, &Context) -> Result<Arc<dyn Authenticator>, ClientError>
            + Send
            + Sync
            + 'static,
    {
        self.entries.insert(
            name.into().to_ascii_lowercase(),
            Entry {
                description: description.into(),
                factory: Arc::new(factory),
            },
        );
    }

    /// The registered names with their descriptions, in name order.
    ///
    /// ```
    /// let registry = auth_client::AuthenticatorRegistry::new();
    /// let names: Vec<_> = registry.names().map(|(name, _)| name).collect();
    /// assert_eq!(names, ["api_key", "basic", "none", "oauth2", "token"]);
    /// ```
    pub fn names(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .map(|(name, e)| (name.as_str(), e.description.as_str()))
    }

    /// Makes the authenticator the record names.
    pub fn authenticator(
        &self,
        config: &CredentialConfig,
    ) -> Result<Arc<dyn Authenticator>, ClientError> {
        self.authenticator_with(config, config.http_client()?)
    }

    fn authenticator_with(
        &self,
        config: &CredentialConfig,
        http: reqwest::Client,
    ) -> Result<Arc<dyn Authenticator>, ClientError> {
        let name = config.authenticator_name().to_ascii_lowercase();
        let entry = self
            .entries
            .get(&name)
            .ok_or_else(|| ClientError::UnknownAuthenticator {
                name: name.clone(),
                known: self.entries.keys().cloned().collect::<Vec<_>>().join(", "),
            })?;
        let cx = Context {
            http,
            clock: self.clock.clone(),
        };
        (entry.factory)(config, &cx)
    }

    /// The middleware for the record: its authenticator, extra headers and
    /// masking of error URLs.
    pub fn middleware(&self, config: &CredentialConfig) -> Result<AuthMiddleware, ClientError> {
        self.middleware_with(config, config.http_client()?)
    }

    fn middleware_with(
        &self,
        config: &CredentialConfig,
        http: reqwest::Client,
    ) -> Result<AuthMiddleware, ClientError> {
        Ok(AuthMiddleware::new(self.authenticator_with(config, http)?)
            .with_headers(config.extra_headers()?)
            .with_mask(config.mask_policy()))
    }

    /// A ready client: the record's HTTP settings, its [`AuthMiddleware`],
    /// then a [`OutboundLog`] that masks what the authenticator added. Token
    /// requests use the same HTTP settings (proxy, TLS, timeout).
    pub fn client(&self, config: &CredentialConfig) -> Result<ClientWithMiddleware, ClientError> {
        let http = config.http_client()?;
        let middleware = self.middleware_with(config, http.clone())?;
        Ok(reqwest_middleware::ClientBuilder::new(http)
            .with(middleware)
            .with(OutboundLog::new(config.mask_policy()))
            .build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::NoneAuthenticator;

    #[test]
    fn taken_names_are_refused_case_insensitively() {
        let mut registry = AuthenticatorRegistry::new();
        let err = registry
            .register("Basic", "mine", |_, _| Ok(Arc::new(NoneAuthenticator)))
            .expect_err("taken");
        assert!(matches!(err, ClientError::DuplicateAuthenticator(n) if n == "basic"));
    }

    #[test]
    fn an_unknown_name_lists_the_registered_ones() {
        let err = AuthenticatorRegistry::new()
            .authenticator(&CredentialConfig::new("digest"))
            .expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "no authenticator named `digest` is registered; the registered ones are: \
             api_key, basic, none, oauth2, token"
        );
    }

    #[test]
    fn an_empty_registry_lets_a_builtin_name_be_replaced() {
        let mut registry = AuthenticatorRegistry::empty();
        registry
            .register("basic", "replaced", |_, _| Ok(Arc::new(NoneAuthenticator)))
            .expect("free in an empty registry");
        let auth = registry
            .authenticator(&CredentialConfig::new("BASIC"))
            .expect("made");
        assert_eq!(auth.name(), "none");
    }
}
