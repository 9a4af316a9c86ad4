//! `token`: a token fetched from a login endpoint with a username and
//! password, sent on each request, fetched again when it expires or is refused.

use std::fmt;

use reqwest::header::{CONTENT_TYPE, HeaderName};
use reqwest::{Request, Response, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::{header_name, sensitive};
use crate::authenticator::{Authenticator, Verdict};
use crate::config::{CredentialConfig, DEFAULT_TOKEN_FORMAT, DEFAULT_TOKEN_KEY};
use crate::error::{ClientError, url_for_display};
use crate::refresh::{FetchedToken, RefreshMode, TokenCache};
use crate::registry::Context;

/// How a fetched token is sent: `template` with `{}` replaced, in `header`.
pub(super) struct TokenSending {
    pub(super) header: HeaderName,
    pub(super) template: String,
}

impl TokenSending {
    pub(super) fn from_config(config: &CredentialConfig) -> Result<Self, ClientError> {
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

    pub(super) fn apply(
        &self,
        cache: &TokenCache,
        request: &mut Request,
    ) -> Result<(), ClientError> {
        let value = cache
            .with_token(|t| sensitive(&self.template.replace("{}", t.expose_secret()), "token"))
            .ok_or(ClientError::NotAuthenticated)??;
        request.headers_mut().insert(self.header.clone(), value);
        Ok(())
    }
}

/// Reading a token endpoint's answer: the token's key and the lifetime's.
pub(super) struct TokenAnswer {
    pub(super) token_key: String,
    pub(super) expires_in_key: String,
}

impl TokenAnswer {
    pub(super) fn from_config(config: &CredentialConfig) -> Self {
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
    pub(super) async fn read(
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
pub(super) fn lookup<'a>(json: &'a Value, key: &str) -> Option<&'a Value> {
    json.get(key)
        .or_else(|| key.split('.').try_fold(json, |v, part| v.get(part)))
}

pub(super) fn token_url(config: &CredentialConfig) -> Result<Url, ClientError> {
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
