//! Settings from environment variables and TOML files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::handlers::apikey::{ApiKeyHandler, ApiKeyHandlerBuilder};
use crate::jwt::{
    Algorithm, DEFAULT_TOKEN_MINUTES, JwtKey, KeyError, KeySet, TokenIssuer, Validation,
};
use crate::oidc::{IssuerConfig, OidcHandler};

/// The default environment-variable prefix.
pub const DEFAULT_PREFIX: &str = "AUTH_";

/// The shortest JWT secret accepted, in bytes.
pub const MIN_JWT_SECRET_LEN: usize = 32;

/// A settings problem; each is reported at start-up with what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// No JWT secret, outside development mode.
    #[error(
        "no JWT secret: set {var} to a random string of at least {MIN_JWT_SECRET_LEN} bytes \
         (e.g. `openssl rand -base64 48`), or enable development mode ({dev_var}=true) to use a \
         random secret that changes at every start"
    )]
    MissingJwtSecret {
        /// The variable to set.
        var: String,
        /// The development-mode variable.
        dev_var: String,
    },
    /// A JWT secret shorter than [`MIN_JWT_SECRET_LEN`].
    #[error(
        "the JWT secret in {var} is {len} bytes long; it must be at least {MIN_JWT_SECRET_LEN} \
         (e.g. `openssl rand -base64 48`)"
    )]
    ShortJwtSecret {
        /// The variable holding it.
        var: String,
        /// Its length.
        len: usize,
    },
    /// A JWT secret long enough but guessable (see [`KeyError::WeakSecret`]).
    #[error(
        "the JWT secret in {var} is {reason}, the first an attacker tries: set it to a random \
         one, e.g. the output of `openssl rand -base64 48`"
    )]
    WeakJwtSecret {
        /// The variable holding it.
        var: String,
        /// Why it is guessable.
        reason: &'static str,
    },
    /// An asymmetric algorithm without a private key file.
    #[error("{alg} signs with a private key: set {var} to the path of a PEM private key")]
    MissingPrivateKey {
        /// The algorithm.
        alg: Algorithm,
        /// The variable to set.
        var: String,
    },
    /// A value that does not parse.
    #[error("{var}: {reason}")]
    Invalid {
        /// The variable or key.
        var: String,
        /// What is wrong.
        reason: String,
    },
    /// The settings file could not be read or parsed.
    #[error("settings file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A key could not be loaded.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Auth settings: API keys, the JWT secret or key, token lifetime.
///
/// From the environment with a prefix (default `AUTH_`):
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `AUTH_API_KEY` | key for HTTP requests | none: HTTP not locked by a key |
/// | `AUTH_API_KEY_WS` | key for WebSocket upgrades | none |
/// | `AUTH_JWT_SECRET` | HMAC secret, at least 32 random bytes (`openssl rand -base64 48`) | required unless development mode |
/// | `AUTH_JWT_ALGORITHM` | `HS256` ... `EdDSA` | `HS256` |
/// | `AUTH_JWT_PRIVATE_KEY_FILE` | PEM private key for RS/PS/ES/EdDSA | |
/// | `AUTH_JWT_EXPIRE_MINUTES` | access-token lifetime | 1440 |
/// | `AUTH_JWT_ISSUER`, `AUTH_JWT_AUDIENCE` | `iss` and `aud` | none |
/// | `AUTH_DEV_MODE` | `true`: a random secret when none is set | `false` |
/// | `AUTH_OIDC_ISSUER` | accept tokens of this outside issuer, keys by OIDC discovery | none |
/// | `AUTH_JWKS_URL` | accept tokens signed by the keys at this URL (with `AUTH_OIDC_ISSUER`: skip discovery) | none |
///
/// Outside tokens must name `AUTH_JWT_AUDIENCE` in `aud`; see
/// [`oidc_handler`](Settings::oidc_handler).
///
/// or from a TOML file with the same names in lower case and without the
/// prefix (`api_key = "..."`); environment variables override the file.
/// `Debug` never shows a secret.
///
/// ```
/// use auth_core::Settings;
///
/// let s = Settings::from_vars("APP_", [("APP_API_KEY", "k"), ("APP_JWT_EXPIRE_MINUTES", "60")]).unwrap();
/// assert_eq!(s.jwt_expire_minutes, 60);
/// assert!(!format!("{s:?}").contains("\"k\""));
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Key for HTTP requests.
    pub api_key: Option<SecretString>,
    /// Key for WebSocket upgrades.
    pub api_key_ws: Option<SecretString>,
    /// HMAC secret.
    pub jwt_secret: Option<SecretString>,
    /// Signing algorithm.
    pub jwt_algorithm: Algorithm,
    /// PEM private key for asymmetric algorithms.
    pub jwt_private_key_file: Option<PathBuf>,
    /// Access-token lifetime in minutes.
    pub jwt_expire_minutes: u64,
    /// `iss` of minted tokens, required of presented ones.
    pub jwt_issuer: Option<String>,
    /// `aud` of minted tokens, required of presented ones.
    pub jwt_audience: Option<String>,
    /// Development mode: a random JWT secret when none is set.
    pub dev_mode: bool,
    /// An outside issuer whose tokens are accepted (OIDC discovery).
    pub oidc_issuer: Option<String>,
    /// A JWKS URL whose keys sign accepted outside tokens.
    pub jwks_url: Option<String>,
    /// The prefix the settings were read with, to name variables in messages.
    #[serde(skip)]
    prefix: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            api_key: None,
            api_key_ws: None,
            jwt_secret: None,
            jwt_algorithm: Algorithm::HS256,
            jwt_private_key_file: None,
            jwt_expire_minutes: DEFAULT_TOKEN_MINUTES,
            jwt_issuer: None,
            jwt_audience: None,
            dev_mode: false,
            oidc_issuer: None,
            jwks_url: None,
            prefix: DEFAULT_PREFIX.to_owned(),
        }
    }
}

impl Settings {
    /// Reads `AUTH_*` variables from the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_env_prefixed(DEFAULT_PREFIX)
    }

    /// Reads variables with this prefix from the process environment.
    pub fn from_env_prefixed(prefix: &str) -> Result<Self, SettingsError> {
        Self::default()
            .with_prefix(prefix)
            .merge_vars(std::env::vars())
    }

    /// Reads variables with this prefix from the given pairs (for tests and
    /// for callers that gather variables themselves).
    pub fn from_vars<I, K, V>(prefix: &str, vars: I) -> Result<Self, SettingsError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        Self::default().with_prefix(prefix).merge_vars(vars)
    }

    /// Parses TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self, SettingsError> {
        toml::from_str(text).map_err(|e| SettingsError::File {
            path: PathBuf::from("<string>"),
            reason: e.to_string(),
        })
    }

    /// Reads a TOML file.
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Self, SettingsError> {
        let path = path.as_ref();
        let file_err = |reason: String| SettingsError::File {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| file_err(e.to_string()))?;
        toml::from_str(&text).map_err(|e| file_err(e.message().to_owned()))
    }

    /// Reads a TOML file, then lets `PREFIX*` environment variables override it.
    pub fn load(path: impl AsRef<Path>, prefix: &str) -> Result<Self, SettingsError> {
        Self::from_toml_file(path)?
            .with_prefix(prefix)
            .merge_vars(std::env::vars())
    }

    fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.to_owned();
        self
    }

    fn var(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Overrides these settings with `PREFIX*` pairs; empty values count as unset.
    pub fn merge_vars<I, K, V>(mut self, vars: I) -> Result<Self, SettingsError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        for (key, value) in vars {
            let Some(name) = key.as_ref().strip_prefix(&self.prefix) else {
                continue;
            };
            let value = value.as_ref();
            if value.is_empty() {
                continue;
            }
            let invalid = |reason: String| SettingsError::Invalid {
                var: key.as_ref().to_owned(),
                reason,
            };
            match name {
                "API_KEY" => self.api_key = Some(value.into()),
                "API_KEY_WS" => self.api_key_ws = Some(value.into()),
                "JWT_SECRET" => self.jwt_secret = Some(value.into()),
                "JWT_ALGORITHM" => {
                    self.jwt_algorithm = value
                        .parse()
                        .map_err(|e: KeyError| invalid(e.to_string()))?;
                }
                "JWT_PRIVATE_KEY_FILE" => self.jwt_private_key_file = Some(value.into()),
                "JWT_EXPIRE_MINUTES" => {
                    self.jwt_expire_minutes =
                        value.parse().ok().filter(|m| *m > 0).ok_or_else(|| {
                            invalid(format!("`{value}` is not a positive number of minutes"))
                        })?;
                }
                "JWT_ISSUER" => self.jwt_issuer = Some(value.to_owned()),
                "JWT_AUDIENCE" => self.jwt_audience = Some(value.to_owned()),
                "OIDC_ISSUER" => self.oidc_issuer = Some(value.to_owned()),
                "JWKS_URL" => self.jwks_url = Some(value.to_owned()),
                "DEV_MODE" => {
                    self.dev_mode = match value.to_ascii_lowercase().as_str() {
                        "1" | "true" | "yes" | "on" => true,
                        "0" | "false" | "no" | "off" => false,
                        _ => return Err(invalid(format!("`{value}` is not true or false"))),
                    }
                }
                _ => {}
            }
        }
        Ok(self)
    }

    /// Turns development mode on or off.
    #[must_use]
    pub fn development(mut self, on: bool) -> Self {
        self.dev_mode = on;
        self
    }

    /// The API-key handler, when at least one key is set.
    pub fn api_key_handler(&self) -> Option<ApiKeyHandler> {
        self.api_key_handler_with(|b| b)
    }

    /// [`api_key_handler`](Self::api_key_handler), its builder first passed
    /// through `more` (roles or permissions of the keys, say).
    pub fn api_key_handler_with(
        &self,
        more: impl FnOnce(ApiKeyHandlerBuilder) -> ApiKeyHandlerBuilder,
    ) -> Option<ApiKeyHandler> {
        if self.api_key.is_none() && self.api_key_ws.is_none() {
            return None;
        }
        let mut b = more(ApiKeyHandler::builder());
        if let Some(k) = &self.api_key {
            b = b.http_key(k.clone());
        }
        if let Some(k) = &self.api_key_ws {
            b = b.ws_key(k.clone());
        }
        Some(b.build())
    }

    /// The signing and verification keys.
    ///
    /// HMAC algorithms take the secret, which must be set, at least 32
    /// bytes and not guessable (a well-known default such as `secret`, a
    /// placeholder, a short pattern repeated), unless development mode is on: then a random 64-byte secret is
    /// made (tokens die with the process) and a warning is logged, without
    /// the secret. Other algorithms read the PEM private key file.
    pub fn jwt_keys(&self) -> Result<Arc<KeySet>, SettingsError> {
        let alg = self.jwt_algorithm;
        if !alg.is_hmac() {
            let var = self.var("JWT_PRIVATE_KEY_FILE");
            let path = self.jwt_private_key_file.as_ref().ok_or_else(|| {
                SettingsError::MissingPrivateKey {
                    alg,
                    var: var.clone(),
                }
            })?;
            let pem = std::fs::read(path).map_err(|e| SettingsError::Invalid {
                var,
                reason: format!("{}: {e}", path.display()),
            })?;
            return Ok(Arc::new(KeySet::single(JwtKey::from_private_pem(
                alg, &pem,
            )?)));
        }
        let key = match &self.jwt_secret {
            Some(secret) => {
                let secret = secret.expose_secret().as_bytes();
                if secret.len() < MIN_JWT_SECRET_LEN {
                    return Err(SettingsError::ShortJwtSecret {
                        var: self.var("JWT_SECRET"),
                        len: secret.len(),
                    });
                }
                JwtKey::hmac(alg, secret).map_err(|e| match e {
                    KeyError::WeakSecret(reason) => SettingsError::WeakJwtSecret {
                        var: self.var("JWT_SECRET"),
                        reason,
                    },
                    e => e.into(),
                })?
            }
            None if self.dev_mode => {
                tracing::warn!(
                    "development mode: no {} set, signing tokens with a random secret; \
                     tokens will not survive a restart",
                    self.var("JWT_SECRET")
                );
                let mut secret = [0u8; 64];
                aws_lc_rs::rand::fill(&mut secret).map_err(|_| SettingsError::Invalid {
                    var: self.var("JWT_SECRET"),
                    reason: "the system random number generator failed".into(),
                })?;
                JwtKey::hmac(alg, &secret)?
            }
            None => {
                return Err(SettingsError::MissingJwtSecret {
                    var: self.var("JWT_SECRET"),
                    dev_var: self.var("DEV_MODE"),
                });
            }
        };
        Ok(Arc::new(KeySet::single(key)))
    }

    /// The validation options these settings imply (issuer and audience when set).
    pub fn validation(&self) -> Validation {
        let mut v = Validation::new();
        if let Some(iss) = &self.jwt_issuer {
            v = v.issuer(iss.clone());
        }
        if let Some(aud) = &self.jwt_audience {
            v = v.audience(aud.clone());
        }
        v
    }

    /// The outside issuer these settings name: `OIDC_ISSUER` (keys by
    /// discovery) and/or `JWKS_URL`, with `JWT_AUDIENCE` as the required
    /// audience. `None` when neither is set.
    pub fn oidc_issuer_config(&self) -> Result<Option<IssuerConfig>, SettingsError> {
        if self.oidc_issuer.is_none() && self.jwks_url.is_none() {
            return Ok(None);
        }
        let audience = self
            .jwt_audience
            .clone()
            .ok_or_else(|| SettingsError::Invalid {
                var: self.var("JWT_AUDIENCE"),
                reason: format!(
                    "{} or {} is set: set the audience outside tokens must name",
                    self.var("OIDC_ISSUER"),
                    self.var("JWKS_URL")
                ),
            })?;
        Ok(Some(IssuerConfig {
            issuer: self.oidc_issuer.clone(),
            jwks_url: self.jwks_url.clone(),
            audience: vec![audience],
            ..IssuerConfig::default()
        }))
    }

    /// The handler for outside tokens, when `OIDC_ISSUER` or `JWKS_URL` is
    /// set (feature `remote-jwks` of auth-core, or a fetcher of your own
    /// through [`OidcHandler::builder`]). Add it to the pipeline; with
    /// `OIDC_ISSUER` set, before the handler of the service's own tokens.
    ///
    /// ```
    /// use auth_core::Settings;
    ///
    /// let s = Settings::from_vars("APP_", [("APP_OIDC_ISSUER", "https://idp.example")]).unwrap();
    /// assert!(s.oidc_issuer_config().is_err()); // no APP_JWT_AUDIENCE
    /// let s = Settings::from_vars("APP_", [("APP_DEV_MODE", "true")]).unwrap();
    /// assert!(s.oidc_handler().unwrap().is_none());
    /// ```
    pub fn oidc_handler(&self) -> Result<Option<OidcHandler>, SettingsError> {
        let Some(config) = self.oidc_issuer_config()? else {
            return Ok(None);
        };
        let var = if self.oidc_issuer.is_some() {
            "OIDC_ISSUER"
        } else {
            "JWKS_URL"
        };
        OidcHandler::builder()
            .issuer(config)
            .build()
            .map(Some)
            .map_err(|e| SettingsError::Invalid {
                var: self.var(var),
                reason: e.to_string(),
            })
    }

    /// A token issuer over `keys`, with the configured lifetime, issuer and audience.
    pub fn token_issuer(&self, keys: Arc<KeySet>) -> Result<TokenIssuer, SettingsError> {
        let mut issuer = TokenIssuer::new(keys, None)?.lifetime_minutes(self.jwt_expire_minutes);
        if let Some(iss) = &self.jwt_issuer {
            issuer = issuer.issuer(iss.clone());
        }
        if let Some(aud) = &self.jwt_audience {
            issuer = issuer.audience(aud.clone());
        }
        Ok(issuer)
    }
}

#[cfg(test)]
mod tests;
