//! The credential record: which authenticator, its settings, and the HTTP
//! client's (headers, proxy, TLS).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::error::ClientError;
use crate::mask::MaskPolicy;
use crate::refresh::{
    DEFAULT_REFRESH_MARGIN, DEFAULT_RETRY_DELAY, DEFAULT_TOKEN_TTL, RefreshMode, RefreshPolicy,
};

/// The default header for API keys and tokens.
pub const DEFAULT_HEADER: &str = "Authorization";
/// The default JSON key of the token in a token endpoint's answer.
pub const DEFAULT_TOKEN_KEY: &str = "access_token";
/// The default JSON key of the lifetime in a token endpoint's answer.
pub const DEFAULT_EXPIRES_IN_KEY: &str = "expires_in";
/// The default template of the header value sent with a token.
pub const DEFAULT_TOKEN_FORMAT: &str = "Bearer {}";
/// The default request timeout, in seconds.
pub const DEFAULT_TIMEOUT: u64 = 30;

/// A credential for calling another API, as it is stored: a serde record.
///
/// `authenticator` picks the [`Authenticator`](crate::Authenticator) by its
/// registered name (`none`, `basic`, `api_key`, `token`, `oauth2`, or one of
/// yours); `authenticator_override`, when set, wins, so a deployment can
/// swap the authenticator of one stored credential without rewriting it.
/// Settings no named field takes land in [`extra`](Self::extra) for custom
/// authenticators; the built-ins refuse them, so a misspelt key fails loudly.
///
/// Secrets (`password`, `api_key`, `client_secret`, `proxy_password`) are
/// [`SecretString`]s: never in `Debug`.
///
/// ```
/// use auth_client::CredentialConfig;
///
/// let record: CredentialConfig = serde_json::from_value(serde_json::json!({
///     "authenticator": "oauth2",
///     "token_url": "https://idp.example/oauth/token",
///     "client_id": "monitor",
///     "client_secret": "s3cr3t",
///     "scopes": ["metrics:read"],
///     "headers": ["X-Tenant: acme"],
/// }))?;
/// assert_eq!(record.authenticator_name(), "oauth2");
/// assert!(!format!("{record:?}").contains("s3cr3t"));
/// # Ok::<_, serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct CredentialConfig {
    /// The authenticator's registered name. Default `none`.
    pub authenticator: String,
    /// An authenticator name that takes precedence over `authenticator`.
    pub authenticator_override: Option<String>,

    /// The username (`basic`, `token`, and `oauth2` with the password grant).
    pub username: Option<String>,
    /// The password (`basic`, `token`, and `oauth2` with the password grant).
    pub password: Option<SecretString>,

    /// The key (`api_key`).
    pub api_key: Option<SecretString>,
    /// The header carrying the key or token. Default `Authorization`.
    pub header_name: Option<String>,
    /// Text before the key in the header (`api_key`), e.g. `"Token "`.
    pub prefix: String,
    /// Text after the key in the header (`api_key`).
    pub suffix: String,
    /// Send the key as this query parameter instead of a header (`api_key`;
    /// opt-in, as URLs end up in logs more often than headers do).
    pub query_param: Option<String>,

    /// The token endpoint (`token`, `oauth2`).
    pub token_url: Option<String>,
    /// Where the token is in the endpoint's JSON answer: a key, or a dotted
    /// path such as `data.token`. Default `access_token`.
    pub token_key: Option<String>,
    /// How the token is sent: a template whose `{}` is replaced by the
    /// token. Default `Bearer {}`.
    pub token_format: Option<String>,

    /// The OAuth2 grant. Default `client_credentials`.
    pub grant_type: GrantType,
    /// The OAuth2 client id.
    pub client_id: Option<String>,
    /// The OAuth2 client secret.
    pub client_secret: Option<SecretString>,
    /// How the OAuth2 client authenticates to the token endpoint. Default
    /// `basic` (RFC 6749 §2.3.1).
    pub client_auth: ClientAuth,
    /// OAuth2 scopes, sent space-separated.
    pub scopes: Vec<String>,
    /// More parameters for the OAuth2 token request body, e.g. `audience`.
    pub extra_params: BTreeMap<String, String>,

    /// Static or dynamic token lifetime. Default: `static` for `token`,
    /// `dynamic` for `oauth2`.
    pub refresh: Option<RefreshMode>,
    /// A token's lifetime in seconds under `static` refresh, and the
    /// fallback under `dynamic`. Default 3600.
    pub token_ttl: i64,
    /// Where the lifetime is in the answer, under `dynamic` refresh. Default
    /// `expires_in`.
    pub expires_in_key: String,
    /// Seconds before a dynamic token expires at which it is refreshed
    /// (at most half its lifetime). Default 30.
    pub refresh_margin: i64,
    /// Seconds to wait after a failed authentication before trying again.
    /// Default 60.
    pub retry_delay: i64,

    /// Extra headers sent with every request, as `"Name: value"` lines.
    pub headers: Vec<String>,
    /// Extra headers as a map; also accepted as a string holding a JSON
    /// object, as environment variables carry it.
    #[serde(deserialize_with = "map_or_json")]
    pub header_map: BTreeMap<String, String>,
    /// Headers whose values are masked in logs, beyond `Authorization`,
    /// `Proxy-Authorization`, cookies and `X-Api-Key`.
    pub secret_headers: Vec<String>,
    /// Query parameters whose values are masked in logs, beyond the usual
    /// ones ([`DEFAULT_SECRET_QUERY_PARAMS`](crate::mask::DEFAULT_SECRET_QUERY_PARAMS)).
    pub secret_query_params: Vec<String>,

    /// A proxy for every request, e.g. `http://proxy.internal:3128`.
    pub proxy: Option<ProxyUrl>,
    /// The proxy's username.
    pub proxy_username: Option<String>,
    /// The proxy's password.
    pub proxy_password: Option<SecretString>,
    /// Hosts reached without the proxy, comma-separated.
    pub no_proxy: Option<String>,
    /// Whether TLS certificates are verified. Default `true`; turning it off
    /// is logged as a warning.
    pub verify_tls: bool,
    /// A PEM file of CA certificates trusted besides the system's.
    pub ca_path: Option<PathBuf>,
    /// The timeout of each request, in seconds; `0` for none. Default 30.
    pub timeout: u64,

    /// Every other setting, for custom authenticators.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for CredentialConfig {
    fn default() -> Self {
        Self {
            authenticator: "none".into(),
            authenticator_override: None,
            username: None,
            password: None,
            api_key: None,
            header_name: None,
            prefix: String::new(),
            suffix: String::new(),
            query_param: None,
            token_url: None,
            token_key: None,
            token_format: None,
            grant_type: GrantType::default(),
            client_id: None,
            client_secret: None,
            client_auth: ClientAuth::default(),
            scopes: Vec::new(),
            extra_params: BTreeMap::new(),
            refresh: None,
            token_ttl: DEFAULT_TOKEN_TTL,
            expires_in_key: DEFAULT_EXPIRES_IN_KEY.into(),
            refresh_margin: DEFAULT_REFRESH_MARGIN,
            retry_delay: DEFAULT_RETRY_DELAY,
            headers: Vec::new(),
            header_map: BTreeMap::new(),
            secret_headers: Vec::new(),
            secret_query_params: Vec::new(),
            proxy: None,
            proxy_username: None,
            proxy_password: None,
            no_proxy: None,
            verify_tls: true,
            ca_path: None,
            timeout: DEFAULT_TIMEOUT,
            extra: Map::new(),
        }
    }
}

/// The OAuth2 grant used to get a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// `client_credentials` (RFC 6749 §4.4): the client acts for itself.
    #[default]
    ClientCredentials,
    /// `password` (RFC 6749 §4.3): the resource owner's username and password.
    Password,
}

/// How an OAuth2 client authenticates to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// `Authorization: Basic` with the form-encoded id and secret
    /// (`client_secret_basic`).
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the request body (`client_secret_post`).
    Body,
}

/// A proxy URL whose password, if it carries one, `Debug` hides.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct ProxyUrl(pub String);

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match reqwest::Url::parse(&self.0) {
            Ok(url) => f
                .debug_tuple("ProxyUrl")
                .field(&MaskPolicy::new().mask_url(&url))
                .finish(),
            Err(_) => f.write_str("ProxyUrl([unparsable])"),
        }
    }
}

fn map_or_json<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Map(BTreeMap<String, String>),
        Json(String),
    }
    match Raw::deserialize(d)? {
        Raw::Map(map) => Ok(map),
        Raw::Json(text) if text.trim().is_empty() => Ok(BTreeMap::new()),
        Raw::Json(text) => serde_json::from_str(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "`header_map` must be a JSON object of strings: {e}"
            ))
        }),
    }
}

impl CredentialConfig {
    /// A record for the named authenticator, every other setting at its default.
    ///
    /// ```
    /// use auth_client::CredentialConfig;
    ///
    /// let mut record = CredentialConfig::new("basic");
    /// record.username = Some("monitor".into());
    /// record.password = Some("pw".into());
    /// # let _ = record;
    /// ```
    pub fn new(authenticator: impl Into<String>) -> Self {
        Self {
            authenticator: authenticator.into(),
            ..Self::default()
        }
    }

    /// The name that chooses the authenticator: the override if set, else
    /// `authenticator`.
    pub fn authenticator_name(&self) -> &str {
        self.authenticator_override
            .as_deref()
            .unwrap_or(&self.authenticator)
    }

    /// The refresh policy, with `default_mode` when `refresh` is not set.
    /// A `token_ttl` below 1 or a negative `refresh_margin` or
    /// `retry_delay` is refused.
    pub fn refresh_policy(&self, default_mode: RefreshMode) -> Result<RefreshPolicy, ClientError> {
        if self.token_ttl < 1 {
            return Err(ClientError::Config(
                "`token_ttl` must be at least 1 second".into(),
            ));
        }
        for (name, value) in [
            ("refresh_margin", self.refresh_margin),
            ("retry_delay", self.retry_delay),
        ] {
            if value < 0 {
                return Err(ClientError::Config(format!("`{name}` may not be negative")));
            }
        }
        Ok(RefreshPolicy {
            mode: self.refresh.unwrap_or(default_mode),
            ttl: self.token_ttl,
            margin: self.refresh_margin,
            retry_delay: self.retry_delay,
        })
    }

    /// The extra headers of `headers` and `header_map`, values of secret
    /// ones marked sensitive.
    pub fn extra_headers(&self) -> Result<HeaderMap, ClientError> {
        let policy = self.mask_policy();
        let mut map = HeaderMap::new();
        let lines = self.headers.iter().map(|line| {
            line.split_once(':')
                .map(|(n, v)| (n.trim(), v.trim()))
                .ok_or_else(|| {
                    ClientError::Config(format!(
                        "each of `headers` is `Name: value`; one has no `:` (starts with {:?})",
                        line.chars().take(12).collect::<String>()
                    ))
                })
        });
        let pairs = self
            .header_map
            .iter()
            .map(|(n, v)| Ok((n.as_str(), v.as_str())));
        for pair in lines.chain(pairs) {
            let (name, value) = pair?;
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ClientError::Config(format!("`{name}` is not a valid header name")))?;
            let mut value = HeaderValue::from_str(value).map_err(|_| {
                ClientError::Config(format!("the value of header `{name}` is not valid"))
            })?;
            if policy.is_secret_header(name.as_str()) {
                value.set_sensitive(true);
            }
            map.append(name, value);
        }
        Ok(map)
    }

    /// What request logs mask for this credential: the defaults, the
    /// configured secret headers and query parameters, and the API key's
    /// header or parameter.
    pub fn mask_policy(&self) -> MaskPolicy {
        let mut policy = MaskPolicy::new();
        for h in self.secret_headers.iter().chain(&self.header_name) {
            policy = policy.header(h);
        }
        for q in self.secret_query_params.iter().chain(&self.query_param) {
            policy = policy.query_param(q);
        }
        policy
    }

    /// An HTTP client with this record's proxy, TLS and timeout settings;
    /// the token authenticators fetch with it, and
    /// [`AuthenticatorRegistry::client`](crate::AuthenticatorRegistry::client)
    /// wraps it.
    pub fn http_client(&self) -> Result<reqwest::Client, ClientError> {
        let mut builder = reqwest::Client::builder();
        if self.timeout > 0 {
            builder = builder.timeout(Duration::from_secs(self.timeout));
        }
        if let Some(proxy) = &self.proxy {
            let mut p = reqwest::Proxy::all(&proxy.0).map_err(|_| {
                ClientError::Config(format!("`proxy` is not a valid URL: {proxy:?}"))
            })?;
            match (&self.proxy_username, &self.proxy_password) {
                (Some(user), Some(password)) => {
                    p = p.basic_auth(user, password.expose_secret());
                }
                (None, None) => {}
                _ => {
                    return Err(ClientError::Config(
                        "`proxy_username` and `proxy_password` go together".into(),
                    ));
                }
            }
            if let Some(no_proxy) = &self.no_proxy {
                p = p.no_proxy(reqwest::NoProxy::from_string(no_proxy));
            }
            builder = builder.proxy(p);
        }
        if !self.verify_tls {
            tracing::warn!("TLS certificate verification is off for this credential");
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        if let Some(path) = &self.ca_path {
            let pem = std::fs::read(path).map_err(|e| {
                ClientError::Config(format!("cannot read `ca_path` {}: {e}", path.display()))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| {
                ClientError::Config(format!(
                    "`ca_path` {} holds no valid PEM certificate",
                    path.display()
                ))
            })?;
            if certs.is_empty() {
                return Err(ClientError::Config(format!(
                    "`ca_path` {} holds no certificate",
                    path.display()
                )));
            }
            builder = builder.tls_certs_merge(certs);
        }
        builder
            .build()
            .map_err(|e| ClientError::Config(format!("cannot build the HTTP client: {e}")))
    }

    /// Refuses settings that no named field took: for built-in
    /// authenticators, whose settings are all named.
    pub fn reject_extra(&self, authenticator: &str) -> Result<(), ClientError> {
        match self.extra.keys().next() {
            None => Ok(()),
            Some(key) => Err(ClientError::Config(format!(
                "unknown setting `{key}` for the `{authenticator}` authenticator"
            ))),
        }
    }

    /// A required string setting, or an error naming it.
    pub(crate) fn required<'a>(
        &self,
        value: &'a Option<String>,
        setting: &str,
    ) -> Result<&'a str, ClientError> {
        value.as_deref().ok_or_else(|| {
            ClientError::Config(format!(
                "the `{}` authenticator needs `{setting}`",
                self.authenticator_name()
            ))
        })
    }

    /// A required secret setting, or an error naming it.
    pub(crate) fn required_secret<'a>(
        &self,
        value: &'a Option<SecretString>,
        setting: &str,
    ) -> Result<&'a SecretString, ClientError> {
        value.as_ref().ok_or_else(|| {
            ClientError::Config(format!(
                "the `{}` authenticator needs `{setting}`",
                self.authenticator_name()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(v: Value) -> CredentialConfig {
        serde_json::from_value(v).expect("record")
    }

    #[test]
    fn defaults_follow_the_issue() {
        let r = record(json!({}));
        assert_eq!(r.authenticator_name(), "none");
        assert!(r.verify_tls);
        assert_eq!((r.token_ttl, r.retry_delay), (3600, 60));
        assert_eq!(r.expires_in_key, "expires_in");
        assert_eq!(r.grant_type, GrantType::ClientCredentials);
        assert_eq!(r.client_auth, ClientAuth::Basic);
    }

    #[test]
    fn override_wins_over_the_kind() {
        let r = record(json!({"authenticator": "basic", "authenticator_override": "mine"}));
        assert_eq!(r.authenticator_name(), "mine");
    }

    #[test]
    fn header_map_is_a_map_or_a_json_string() {
        let a = record(json!({"header_map": {"X-A": "1"}}));
        let b = record(json!({"header_map": "{\"X-A\": \"1\"}"}));
        assert_eq!(a.header_map, b.header_map);
        let err = serde_json::from_value::<CredentialConfig>(json!({"header_map": "[1]"}))
            .expect_err("not an object");
        assert!(err.to_string().contains("header_map"), "{err}");
    }

    #[test]
    fn extra_headers_come_from_lines_and_map_and_secret_ones_are_sensitive() {
        let r = record(json!({
            "headers": ["X-Tenant: acme", "X-Vendor-Token: vt-SECRET"],
            "header_map": {"X-Trace": "on"},
            "secret_headers": ["x-vendor-token"],
        }));
        let h = r.extra_headers().expect("headers");
        assert_eq!(h["x-tenant"], "acme");
        assert_eq!(h["x-trace"], "on");
        assert!(h["x-vendor-token"].is_sensitive());
        assert!(!h["x-tenant"].is_sensitive());
        let bad = record(json!({"headers": ["no colon here"]}));
        assert!(matches!(bad.extra_headers(), Err(ClientError::Config(_))));
    }

    #[test]
    fn debug_hides_every_secret() {
        let r = record(json!({
            "password": "pw-SECRET",
            "api_key": "key-SECRET",
            "client_secret": "cs-SECRET",
            "proxy": "http://u:proxy-SECRET@proxy:3128",
            "proxy_password": "pp-SECRET",
        }));
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("SECRET"), "{dbg}");
        assert!(dbg.contains("proxy:3128"), "{dbg}");
    }

    #[test]
    fn refresh_settings_out_of_range_are_refused() {
        for bad in [
            json!({"token_ttl": 0}),
            json!({"refresh_margin": -1}),
            json!({"retry_delay": -5}),
        ] {
            let r = record(bad.clone());
            assert!(
                matches!(
                    r.refresh_policy(RefreshMode::Static),
                    Err(ClientError::Config(_))
                ),
                "{bad}"
            );
        }
        let r = record(json!({"refresh": "dynamic", "retry_delay": 0}));
        let policy = r.refresh_policy(RefreshMode::Static).expect("valid");
        assert_eq!(policy.mode, RefreshMode::Dynamic);
    }

    #[test]
    fn unreadable_ca_path_and_unpaired_proxy_credentials_are_refused() {
        let r = record(json!({"ca_path": "/nonexistent/ca.pem"}));
        assert!(matches!(r.http_client(), Err(ClientError::Config(_))));
        let r = record(json!({"proxy": "http://proxy:3128", "proxy_username": "u"}));
        assert!(matches!(r.http_client(), Err(ClientError::Config(_))));
        let r = record(json!({"proxy": "http://proxy:3128", "no_proxy": "localhost"}));
        r.http_client().expect("a proxied client");
    }
}
