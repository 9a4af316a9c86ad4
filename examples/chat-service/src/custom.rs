//! The example's custom handler: delegates a bearer token to an outside
//! identity provider's `GET {server_url}/validate-token`.
//!
//! The provider is trusted to say who a token belongs to, not to behave:
//! its answer is read up to [`MAX_BODY_BYTES`], and at most
//! `max_concurrent` validations are out at once. A provider that answers
//! more, or a burst that finds every slot taken, gets the request a 503
//! (`AuthError::Unavailable`) at once, never a principal and never a wait:
//! the fault is the provider's or the load's, not the caller's credential,
//! and an operator should see it as an outage rather than as bad tokens.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use auth_core::{
    AuthContext, AuthError, AuthHandler, AuthHandlerConfig, AuthMethod, AuthResult, Credential,
    FromConfig, PermissionSet, Principal, async_trait, auth_handler,
};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tokio::sync::Semaphore;

/// The longest a call to the identity provider may take, in seconds.
const MAX_TIMEOUT_SECS: u64 = 30;
/// The largest answer read from the identity provider, in bytes (64 KiB);
/// a longer one is refused with 503 without reading the rest.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The most `max_concurrent` may be.
const MAX_CONCURRENT_LIMIT: usize = 1024;

/// Delegate bearer tokens that no built-in handler accepts to an identity
/// provider: `GET {server_url}/validate-token` with the same bearer.
#[derive(AuthHandlerConfig, Deserialize, schemars::JsonSchema)]
#[auth_config(
    id = "CustomAuthHandlerConfig",
    name = "Custom identity provider",
    description = "Validates bearer tokens that the built-in handlers do not accept by calling GET {server_url}/validate-token with the same bearer; a 200 JSON answer {username, name, extra, permissions?} becomes the principal.",
    handler = CustomAuthHandler
)]
#[serde(deny_unknown_fields)]
pub struct CustomAuthHandlerConfig {
    /// The identity provider's base URL, e.g. `https://idp.example.com`.
    pub server_url: String,
    /// Seconds to wait for the identity provider before denying (1 to 30).
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// How many validations may wait on the identity provider at once (1 to
    /// 1024); a request finding them all taken is answered 503 at once.
    #[serde(default = "default_max_concurrent")]
    pub max_concurrent: usize,
}

fn default_timeout() -> u64 {
    5
}

fn default_max_concurrent() -> usize {
    32
}

/// The handler [`CustomAuthHandlerConfig`] builds.
#[auth_handler(config = CustomAuthHandlerConfig)]
#[derive(Debug)]
pub struct CustomAuthHandler {
    validate_url: String,
    client: reqwest::Client,
    slots: Arc<Semaphore>,
}

impl FromConfig<CustomAuthHandlerConfig> for CustomAuthHandler {
    fn from_config(config: CustomAuthHandlerConfig) -> AuthResult<Self> {
        let base = config.server_url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) || base.len() < 10 {
            return Err(AuthError::Misconfigured(format!(
                "server_url `{}` is not an http(s) URL",
                config.server_url
            )));
        }
        if !(1..=MAX_TIMEOUT_SECS).contains(&config.timeout_secs) {
            return Err(AuthError::Misconfigured(format!(
                "timeout_secs must be between 1 and {MAX_TIMEOUT_SECS}"
            )));
        }
        if !(1..=MAX_CONCURRENT_LIMIT).contains(&config.max_concurrent) {
            return Err(AuthError::Misconfigured(format!(
                "max_concurrent must be between 1 and {MAX_CONCURRENT_LIMIT}"
            )));
        }
        let timeout = Duration::from_secs(config.timeout_secs);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AuthError::Misconfigured(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            validate_url: format!("{base}/validate-token"),
            client,
            slots: Arc::new(Semaphore::new(config.max_concurrent)),
        })
    }
}

/// Reads `resp`'s body, refusing it as soon as it passes [`MAX_BODY_BYTES`]
/// (by its `Content-Length`, or while reading it).
async fn read_capped(mut resp: reqwest::Response) -> AuthResult<Vec<u8>> {
    let too_long = || {
        tracing::warn!(
            limit = MAX_BODY_BYTES,
            "the identity provider's answer is too long: refused"
        );
        AuthError::Unavailable("identity provider".into())
    };
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(too_long());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| {
        tracing::warn!(error = %e.without_url(), "the identity provider's answer broke off");
        AuthError::Unavailable("identity provider".into())
    })? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_long());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// What the identity provider answers for a valid token.
#[derive(Deserialize)]
struct Validated {
    username: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    extra: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    permissions: Option<BTreeMap<String, Vec<String>>>,
}

#[async_trait]
impl AuthHandler for CustomAuthHandler {
    fn name(&self) -> &str {
        "custom_idp"
    }

    async fn authorize(
        &self,
        credential: &Credential,
        _cx: &AuthContext,
    ) -> AuthResult<Option<Principal>> {
        let Credential::Bearer(token) = credential else {
            return Ok(None);
        };
        // Held until the answer is read: a slow provider cannot gather an
        // unbounded crowd of waiting requests.
        let Ok(_slot) = self.slots.try_acquire() else {
            tracing::warn!(
                "every slot for the identity provider is taken: refused (raise max_concurrent?)"
            );
            return Err(AuthError::Unavailable("identity provider busy".into()));
        };
        let resp = self
            .client
            .get(&self.validate_url)
            .bearer_auth(token.expose_secret())
            .send()
            .await
            .map_err(|e| {
                tracing::warn!(error = %e.without_url(), "the identity provider did not answer");
                AuthError::Unavailable("identity provider".into())
            })?;
        if resp.status() != reqwest::StatusCode::OK {
            return Err(AuthError::InvalidCredentials);
        }
        let body: Validated = serde_json::from_slice(&read_capped(resp).await?)
            .map_err(|_| AuthError::InvalidCredentials)?;
        if body.username.is_empty() {
            return Err(AuthError::InvalidCredentials);
        }
        let permissions = match body.permissions {
            Some(map) => serde_json::from_value::<PermissionSet>(serde_json::json!(map))
                .map_err(|_| AuthError::InvalidCredentials)?,
            None => PermissionSet::base(),
        };
        let mut principal = Principal::new(
            body.username.clone(),
            AuthMethod::Custom {
                handler: self.name().to_owned(),
            },
        )
        .with_name(body.name.unwrap_or(body.username))
        .with_permissions(permissions);
        principal.extra = body.extra;
        Ok(Some(principal))
    }
}
