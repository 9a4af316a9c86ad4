//! The five built-in authenticators: `none`, `basic`, `api_key`, `token`
//! and `oauth2`.
//!
//! Each is made from a [`CredentialConfig`] by its `from_config`, which is
//! what the [`AuthenticatorRegistry`](crate::AuthenticatorRegistry) calls.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::Request;
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use crate::authenticator::Authenticator;
use crate::config::{CredentialConfig, DEFAULT_HEADER};
use crate::error::ClientError;

mod oauth2;
mod token;

pub use oauth2::OAuth2Authenticator;
pub use token::TokenAuthenticator;

/// A header value that logs and `Debug` never show.
fn sensitive(value: &str, what: &str) -> Result<HeaderValue, ClientError> {
    let mut value = HeaderValue::from_str(value)
        .map_err(|_| ClientError::Config(format!("the {what} is not a valid header value")))?;
    value.set_sensitive(true);
    Ok(value)
}

fn header_name(config: &CredentialConfig) -> Result<HeaderName, ClientError> {
    let name = config.header_name.as_deref().unwrap_or(DEFAULT_HEADER);
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| ClientError::Config(format!("`header_name` `{name}` is not a header name")))
}

fn basic_value(username: &str, password: &str) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{username}:{password}"))
    )
}

/// Sends no credential: for open APIs, and as the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoneAuthenticator;

impl NoneAuthenticator {
    /// The registered name.
    pub const NAME: &'static str = "none";
    /// The description.
    pub const DESCRIPTION: &'static str = "Sends no credential.";
}

#[async_trait::async_trait]
impl Authenticator for NoneAuthenticator {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn description(&self) -> &str {
        Self::DESCRIPTION
    }

    fn modify_request(&self, _request: &mut Request) -> Result<(), ClientError> {
        Ok(())
    }
}

/// `Authorization: Basic` with a username and password.
///
/// ```
/// use auth_client::builtin::BasicAuthenticator;
///
/// let basic = BasicAuthenticator::new("monitor", "pw-123".into())?;
/// assert!(!format!("{basic:?}").contains("pw-123"));
/// # Ok::<_, auth_client::ClientError>(())
/// ```
pub struct BasicAuthenticator {
    username: String,
    header: HeaderValue,
}

impl BasicAuthenticator {
    /// The registered name.
    pub const NAME: &'static str = "basic";
    /// The description.
    pub const DESCRIPTION: &'static str = "HTTP Basic authentication with a username and password.";

    /// Sends this username and password.
    pub fn new(username: impl Into<String>, password: SecretString) -> Result<Self, ClientError> {
        let username = username.into();
        let header = sensitive(
            &basic_value(&username, password.expose_secret()),
            "Basic credential",
        )?;
        Ok(Self { username, header })
    }

    /// From `username` and `password`.
    pub fn from_config(config: &CredentialConfig) -> Result<Self, ClientError> {
        config.reject_extra(Self::NAME)?;
        let username = config.required(&config.username, "username")?;
        let password = config.required_secret(&config.password, "password")?;
        Self::new(username, password.clone())
    }
}

impl fmt::Debug for BasicAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuthenticator")
            .field("username", &self.username)
            .field("password", &"[REDACTED]")
            .finish()
    }
}

#[async_trait::async_trait]
impl Authenticator for BasicAuthenticator {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn description(&self) -> &str {
        Self::DESCRIPTION
    }

    fn modify_request(&self, request: &mut Request) -> Result<(), ClientError> {
        request
            .headers_mut()
            .insert(AUTHORIZATION, self.header.clone());
        Ok(())
    }
}

/// Where an API key goes.
enum KeyPlacement {
    Header {
        name: HeaderName,
        value: HeaderValue,
    },
    Query {
        param: String,
        key: SecretString,
    },
}

/// A static API key: in a header (default `Authorization`, with an optional
/// prefix and suffix around the key) or, opted into with `query_param`, as
/// a query parameter.
///
/// ```
/// use auth_client::CredentialConfig;
/// use auth_client::builtin::ApiKeyAuthenticator;
///
/// let mut record = CredentialConfig::new("api_key");
/// record.api_key = Some("k-123".into());
/// record.header_name = Some("X-Api-Key".into());
/// let auth = ApiKeyAuthenticator::from_config(&record)?;
/// assert!(!format!("{auth:?}").contains("k-123"));
/// # Ok::<_, auth_client::ClientError>(())
/// ```
pub struct ApiKeyAuthenticator {
    placement: KeyPlacement,
}

impl ApiKeyAuthenticator {
    /// The registered name.
    pub const NAME: &'static str = "api_key";
    /// The description.
    pub const DESCRIPTION: &'static str =
        "A static API key in a header (with prefix and suffix) or a query parameter.";

    /// From `api_key`, `header_name`, `prefix`, `suffix` and `query_param`.
    pub fn from_config(config: &CredentialConfig) -> Result<Self, ClientError> {
        config.reject_extra(Self::NAME)?;
        let key = config.required_secret(&config.api_key, "api_key")?;
        let placement = match &config.query_param {
            Some(param) if param.is_empty() => {
                return Err(ClientError::Config("`query_param` is empty".into()));
            }
            Some(param) => KeyPlacement::Query {
                param: param.clone(),
                key: key.clone(),
            },
            None => KeyPlacement::Header {
                name: header_name(config)?,
                value: sensitive(
                    &format!("{}{}{}", config.prefix, key.expose_secret(), config.suffix),
                    "API key",
                )?,
            },
        };
        Ok(Self { placement })
    }
}

impl fmt::Debug for ApiKeyAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ApiKeyAuthenticator");
        match &self.placement {
            KeyPlacement::Header { name, .. } => d.field("header", name),
            KeyPlacement::Query { param, .. } => d.field("query_param", param),
        };
        d.field("key", &"[REDACTED]").finish()
    }
}

#[async_trait::async_trait]
impl Authenticator for ApiKeyAuthenticator {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn description(&self) -> &str {
        Self::DESCRIPTION
    }

    fn modify_request(&self, request: &mut Request) -> Result<(), ClientError> {
        match &self.placement {
            KeyPlacement::Header { name, value } => {
                request.headers_mut().insert(name.clone(), value.clone());
            }
            KeyPlacement::Query { param, key } => {
                request
                    .url_mut()
                    .query_pairs_mut()
                    .append_pair(param, key.expose_secret());
            }
        }
        Ok(())
    }
}

/// The built-ins as the registry makes them.
pub(crate) fn register_builtins(registry: &mut crate::registry::AuthenticatorRegistry) {
    registry.insert(
        NoneAuthenticator::NAME,
        NoneAuthenticator::DESCRIPTION,
        |config, _| {
            config.reject_extra(NoneAuthenticator::NAME)?;
            Ok(Arc::new(NoneAuthenticator))
        },
    );
    registry.insert(
        BasicAuthenticator::NAME,
        BasicAuthenticator::DESCRIPTION,
        |config, _| Ok(Arc::new(BasicAuthenticator::from_config(config)?)),
    );
    registry.insert(
        ApiKeyAuthenticator::NAME,
        ApiKeyAuthenticator::DESCRIPTION,
        |config, _| Ok(Arc::new(ApiKeyAuthenticator::from_config(config)?)),
    );
    registry.insert(
        TokenAuthenticator::NAME,
        TokenAuthenticator::DESCRIPTION,
        |config, cx| Ok(Arc::new(TokenAuthenticator::from_config(config, cx)?)),
    );
    registry.insert(
        OAuth2Authenticator::NAME,
        OAuth2Authenticator::DESCRIPTION,
        |config, cx| Ok(Arc::new(OAuth2Authenticator::from_config(config, cx)?)),
    );
}

#[cfg(test)]
mod tests;
