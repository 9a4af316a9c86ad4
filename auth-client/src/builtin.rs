//! The five built-in authenticators: `none`, `basic`, `api_key`, `token`
//! and `oauth2`.
//!
//! Each is made from a [`CredentialConfig`] by its `from_config`, which is
//! what the [`AuthenticatorRegistry`](crate::AuthenticatorRegistry) calls.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use reqwest::{Request, Response, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::authenticator::{Authenticator, Verdict};
use crate::config::{
    ClientAuth, CredentialConfig, DEFAULT_HEADER, DEFAULT_TOKEN_FORMAT, DEFAULT_TOKEN_KEY,
    GrantType,
};
use crate::error::{ClientError, url_for_display};
use crate::refresh::{FetchedToken, RefreshMode, TokenCache};
use crate::registry::Context;

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

/// How a fetched token is sent: `template` with `{}` replaced, in `header`.
struct TokenSending {
    header: HeaderName,
    template: String,
}

impl TokenSending {
    fn from_config(config: &CredentialConfig) -> Result<Self, ClientError> {
        let template = config
            .token_format
            .clone()
            .unwrap_or_else(|| DEFAULT_TOKEN_FORMAT.into());
        if !template.contains("{}") {
            return Err(ClientError::Config(format!(
                "`token_format` must contain `{{}}` where the token goes, as in `{DEFAULT_TOKEN_FORMAT}`"
            )));
        }
        Ok(Self {
            header: header_name(config)?,
            template,
        })
    }

    fn apply(&self, cache: &TokenCache, request: &mut Request) -> Result<(), ClientError> {
        let value = cache
            .with_token(|t| sensitive(&self.template.replace("{}", t.expose_secret()), "token"))
            .ok_or(ClientError::NotAuthenticated)??;
        request.headers_mut().insert(self.header.clone(), value);
        Ok(())
    }
}

/// Reading a token endpoint's answer: the token's key and the lifetime's.
struct TokenAnswer {
    token_key: String,
    expires_in_key: String,
}

impl TokenAnswer {
    fn from_config(config: &CredentialConfig) -> Self {
        Self {
            token_key: config
                .token_key
                .clone()
                .unwrap_or_else(|| DEFAULT_TOKEN_KEY.into()),
            expires_in_key: config.expires_in_key.clone(),
        }
    }

    /// Reads the answer to a token request; the body is never quoted in an
    /// error, as it may echo the credentials.
    async fn read(
        &self,
        url: &Url,
        resp: Result<Response, reqwest::Error>,
    ) -> Result<FetchedToken, ClientError> {
        let resp = resp.map_err(|e| ClientError::http(url, e))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| ClientError::http(url, e))?;
        let json: Option<Value> = serde_json::from_slice(&body).ok();
        if !status.is_success() {
            let shown = url_for_display(url);
            return Err(match status {
                StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    ClientError::Refused {
                        url: shown,
                        status: status.as_u16(),
                        oauth_error: json
                            .as_ref()
                            .and_then(|j| j.get("error"))
                            .and_then(Value::as_str)
                            .filter(|e| {
                                e.len() <= 64
                                    && e.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                            })
                            .map(str::to_owned),
                    }
                }
                _ => ClientError::TokenEndpoint {
                    url: shown,
                    status: status.as_u16(),
                },
            });
        }
        let missing = || ClientError::MissingToken {
            url: url_for_display(url),
            key: self.token_key.clone(),
        };
        let json = json.ok_or_else(missing)?;
        let token = lookup(&json, &self.token_key)
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(missing)?;
        let expires_in = lookup(&json, &self.expires_in_key).and_then(|v| match v {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        });
        Ok(FetchedToken {
            value: SecretString::from(token),
            expires_in,
        })
    }
}

/// A key, or a dotted path into nested objects (`data.token`).
fn lookup<'a>(json: &'a Value, key: &str) -> Option<&'a Value> {
    json.get(key)
        .or_else(|| key.split('.').try_fold(json, |v, part| v.get(part)))
}

fn token_url(config: &CredentialConfig) -> Result<Url, ClientError> {
    let raw = config.required(&config.token_url, "token_url")?;
    Url::parse(raw).map_err(|_| ClientError::Config("`token_url` is not a valid URL".into()))
}

/// Logs in at a token endpoint with a username and password (a JSON
/// `{"username", "password"}` POST, as this project's own `POST /token`
/// takes it), and sends the token it answers.
///
/// The token is read from `token_key` (default `access_token`) and sent in
/// `header_name` (default `Authorization`) as `token_format` (default
/// `Bearer {}`). Refresh is `static` by default: after `token_ttl` seconds.
pub struct TokenAuthenticator {
    http: reqwest::Client,
    url: Url,
    username: String,
    password: SecretString,
    answer: TokenAnswer,
    sending: TokenSending,
    cache: TokenCache,
}

impl TokenAuthenticator {
    /// The registered name.
    pub const NAME: &'static str = "token";
    /// The description.
    pub const DESCRIPTION: &'static str =
        "Logs in at a token endpoint with a username and password and sends the token.";

    /// From `token_url`, `username`, `password`, `token_key`,
    /// `token_format`, `header_name` and the refresh settings.
    pub fn from_config(config: &CredentialConfig, cx: &Context) -> Result<Self, ClientError> {
        config.reject_extra(Self::NAME)?;
        Ok(Self {
            http: cx.http.clone(),
            url: token_url(config)?,
            username: config.required(&config.username, "username")?.to_owned(),
            password: config
                .required_secret(&config.password, "password")?
                .clone(),
            answer: TokenAnswer::from_config(config),
            sending: TokenSending::from_config(config)?,
            cache: TokenCache::new(
                config.refresh_policy(RefreshMode::Static)?,
                cx.clock.clone(),
            ),
        })
    }

    async fn fetch(&self) -> Result<FetchedToken, ClientError> {
        tracing::debug!(url = %url_for_display(&self.url), username = %self.username, "fetching a token");
        let body = serde_json::json!({
            "username": self.username,
            "password": self.password.expose_secret(),
        });
        let resp = self
            .http
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await;
        self.answer.read(&self.url, resp).await
    }
}

impl fmt::Debug for TokenAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenAuthenticator")
            .field("url", &url_for_display(&self.url))
            .field("username", &self.username)
            .field("password", &"[REDACTED]")
            .field("policy", self.cache.policy())
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl Authenticator for TokenAuthenticator {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn description(&self) -> &str {
        Self::DESCRIPTION
    }

    async fn authenticate(&self) -> Result<(), ClientError> {
        self.cache.ensure(|| self.fetch()).await
    }

    fn modify_request(&self, request: &mut Request) -> Result<(), ClientError> {
        self.sending.apply(&self.cache, request)
    }

    fn check_result(&self, response: &Response) -> Verdict {
        self.cache.check_result(response)
    }

    fn generation(&self) -> u64 {
        self.cache.generation()
    }
}

/// The OAuth2 grant with its credentials.
enum Grant {
    ClientCredentials,
    Password {
        username: String,
        password: SecretString,
    },
}

/// OAuth2 (RFC 6749): the client-credentials or the resource-owner password
/// grant, with the client authenticating by a Basic header or in the body,
/// scopes, and extra body parameters. Refresh is `dynamic` by default: from
/// the answer's `expires_in`.
///
/// ```
/// use auth_client::{AuthenticatorRegistry, CredentialConfig};
///
/// let record: CredentialConfig = serde_json::from_value(serde_json::json!({
///     "authenticator": "oauth2",
///     "token_url": "https://idp.example/oauth/token",
///     "client_id": "monitor",
///     "client_secret": "cs-123",
///     "client_auth": "body",
///     "scopes": ["metrics:read", "alerts:write"],
///     "extra_params": {"audience": "https://api.example"},
/// }))?;
/// let auth = AuthenticatorRegistry::new().authenticator(&record)?;
/// assert_eq!(auth.name(), "oauth2");
/// assert!(!format!("{auth:?}").contains("cs-123"));
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
pub struct OAuth2Authenticator {
    http: reqwest::Client,
    url: Url,
    grant: Grant,
    client_id: Option<String>,
    client_secret: Option<SecretString>,
    client_auth: ClientAuth,
    scopes: Vec<String>,
    extra_params: Vec<(String, String)>,
    answer: TokenAnswer,
    sending: TokenSending,
    cache: TokenCache,
}

impl OAuth2Authenticator {
    /// The registered name.
    pub const NAME: &'static str = "oauth2";
    /// The description.
    pub const DESCRIPTION: &'static str =
        "OAuth2 client-credentials or password grant, with scopes and token refresh.";

    /// From `token_url`, `grant_type`, `client_id`, `client_secret`,
    /// `client_auth`, `scopes`, `extra_params` (and `username`/`password`
    /// for the password grant), the token settings and the refresh settings.
    pub fn from_config(config: &CredentialConfig, cx: &Context) -> Result<Self, ClientError> {
        config.reject_extra(Self::NAME)?;
        let grant = match config.grant_type {
            GrantType::ClientCredentials => {
                config.required(&config.client_id, "client_id")?;
                Grant::ClientCredentials
            }
            GrantType::Password => Grant::Password {
                username: config.required(&config.username, "username")?.to_owned(),
                password: config
                    .required_secret(&config.password, "password")?
                    .clone(),
            },
        };
        let reserved = [
            "grant_type",
            "username",
            "password",
            "scope",
            "client_id",
            "client_secret",
        ];
        if let Some(key) = config
            .extra_params
            .keys()
            .find(|k| reserved.contains(&k.as_str()))
        {
            return Err(ClientError::Config(format!(
                "`extra_params` may not set `{key}`: it has its own setting"
            )));
        }
        Ok(Self {
            http: cx.http.clone(),
            url: token_url(config)?,
            grant,
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            client_auth: config.client_auth,
            scopes: config.scopes.clone(),
            extra_params: config
                .extra_params
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            answer: TokenAnswer::from_config(config),
            sending: TokenSending::from_config(config)?,
            cache: TokenCache::new(
                config.refresh_policy(RefreshMode::Dynamic)?,
                cx.clock.clone(),
            ),
        })
    }

    /// The form body, and the Basic header when the client authenticates
    /// with one.
    fn request(&self) -> Result<(String, Option<HeaderValue>), ClientError> {
        let mut form = form_urlencoded::Serializer::new(String::new());
        match &self.grant {
            Grant::ClientCredentials => {
                form.append_pair("grant_type", "client_credentials");
            }
            Grant::Password { username, password } => {
                form.append_pair("grant_type", "password");
                form.append_pair("username", username);
                form.append_pair("password", password.expose_secret());
            }
        }
        if !self.scopes.is_empty() {
            form.append_pair("scope", &self.scopes.join(" "));
        }
        for (k, v) in &self.extra_params {
            form.append_pair(k, v);
        }
        let mut basic = None;
        match (self.client_auth, &self.client_id, &self.client_secret) {
            (ClientAuth::Basic, Some(id), Some(secret)) => {
                // RFC 6749 §2.3.1: each part form-encoded before Base64.
                let enc =
                    |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                basic = Some(sensitive(
                    &basic_value(&enc(id), &enc(secret.expose_secret())),
                    "client credential",
                )?);
            }
            (_, Some(id), secret) => {
                form.append_pair("client_id", id);
                if let Some(secret) = secret {
                    form.append_pair("client_secret", secret.expose_secret());
                }
            }
            (_, None, _) => {}
        }
        Ok((form.finish(), basic))
    }

    async fn fetch(&self) -> Result<FetchedToken, ClientError> {
        let (body, basic) = self.request()?;
        let mut req = self.http.post(self.url.clone());
        if let Some(basic) = basic {
            req = req.header(AUTHORIZATION, basic);
        }
        tracing::debug!(
            url = %url_for_display(&self.url),
            client_id = self.client_id.as_deref().unwrap_or(""),
            scopes = %self.scopes.join(" "),
            "fetching an OAuth2 token"
        );
        let resp = req
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await;
        self.answer.read(&self.url, resp).await
    }
}

impl fmt::Debug for OAuth2Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let grant = match &self.grant {
            Grant::ClientCredentials => "client_credentials",
            Grant::Password { .. } => "password",
        };
        f.debug_struct("OAuth2Authenticator")
            .field("url", &url_for_display(&self.url))
            .field("grant", &grant)
            .field("client_id", &self.client_id)
            .field("client_auth", &self.client_auth)
            .field("scopes", &self.scopes)
            .field("policy", self.cache.policy())
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl Authenticator for OAuth2Authenticator {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn description(&self) -> &str {
        Self::DESCRIPTION
    }

    async fn authenticate(&self) -> Result<(), ClientError> {
        self.cache.ensure(|| self.fetch()).await
    }

    fn modify_request(&self, request: &mut Request) -> Result<(), ClientError> {
        self.sending.apply(&self.cache, request)
    }

    fn check_result(&self, response: &Response) -> Verdict {
        self.cache.check_result(response)
    }

    fn generation(&self) -> u64 {
        self.cache.generation()
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
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn token_lookup_takes_a_key_or_a_dotted_path() {
        let j = json!({"a.b": "flat", "data": {"token": "nested"}, "access_token": "t"});
        assert_eq!(lookup(&j, "access_token"), Some(&json!("t")));
        assert_eq!(lookup(&j, "data.token"), Some(&json!("nested")));
        assert_eq!(lookup(&j, "a.b"), Some(&json!("flat")));
        assert_eq!(lookup(&j, "data"), Some(&json!({"token": "nested"})));
        assert_eq!(lookup(&j, "missing.path"), None);
    }

    #[test]
    fn basic_header_value_is_rfc7617() {
        assert_eq!(
            basic_value("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }

    #[test]
    fn token_format_without_a_placeholder_is_refused() {
        let mut config = CredentialConfig::new("token");
        config.token_format = Some("Bearer".into());
        assert!(matches!(
            TokenSending::from_config(&config),
            Err(ClientError::Config(_))
        ));
    }

    #[test]
    fn builtins_refuse_unknown_settings() {
        let config: CredentialConfig = serde_json::from_value(json!({
            "authenticator": "basic", "username": "u", "password": "p", "pasword": "typo",
        }))
        .expect("record");
        let err = BasicAuthenticator::from_config(&config).expect_err("typo");
        assert!(err.to_string().contains("`pasword`"), "{err}");
    }
}
