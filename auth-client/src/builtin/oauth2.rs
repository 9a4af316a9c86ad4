//! `oauth2`: an access token from an OAuth2 token endpoint (client
//! credentials, password or refresh grant), refreshed before it expires.

use std::fmt;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{Request, Response, Url};
use secrecy::{ExposeSecret, SecretString};

use super::token::{TokenAnswer, TokenSending, token_url};
use super::{basic_value, sensitive};
use crate::authenticator::{Authenticator, Verdict};
use crate::config::{ClientAuth, CredentialConfig, GrantType};
use crate::error::{ClientError, url_for_display};
use crate::refresh::{FetchedToken, RefreshMode, TokenCache};
use crate::registry::Context;

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
