//! Request logging that never shows a secret.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use http::Extensions;
use reqwest::header::HeaderMap;
use reqwest::{Request, Response, Url};
use reqwest_middleware::{Middleware, Next};

/// Headers whose values are always masked.
pub const DEFAULT_SECRET_HEADERS: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
];

/// Query parameters whose values are always masked.
pub const DEFAULT_SECRET_QUERY_PARAMS: [&str; 9] = [
    "access_token",
    "refresh_token",
    "id_token",
    "token",
    "api_key",
    "apikey",
    "key",
    "password",
    "client_secret",
];

/// What to hide when a request is logged: header values and query-parameter
/// values, by name (case-insensitive), plus every header value marked
/// sensitive and the password of a URL's user information.
///
/// ```
/// use auth_client::MaskPolicy;
/// use reqwest::Url;
///
/// let policy = MaskPolicy::new().query_param("sig");
/// let url = Url::parse("https://api.example/v1?sig=abc&page=2&api_key=k")?;
/// assert_eq!(policy.mask_url(&url), "https://api.example/v1?sig=***&page=2&api_key=***");
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct MaskPolicy {
    headers: BTreeSet<String>,
    query: BTreeSet<String>,
}

impl Default for MaskPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl MaskPolicy {
    /// The defaults: [`DEFAULT_SECRET_HEADERS`] and [`DEFAULT_SECRET_QUERY_PARAMS`].
    pub fn new() -> Self {
        Self {
            headers: DEFAULT_SECRET_HEADERS
                .iter()
                .map(|h| (*h).to_owned())
                .collect(),
            query: DEFAULT_SECRET_QUERY_PARAMS
                .iter()
                .map(|q| (*q).to_owned())
                .collect(),
        }
    }

    /// Also masks this header.
    #[must_use]
    pub fn header(mut self, name: impl AsRef<str>) -> Self {
        self.headers.insert(name.as_ref().to_ascii_lowercase());
        self
    }

    /// Also masks this query parameter.
    #[must_use]
    pub fn query_param(mut self, name: impl AsRef<str>) -> Self {
        self.query.insert(name.as_ref().to_ascii_lowercase());
        self
    }

    /// Whether a header's value is masked by name.
    pub fn is_secret_header(&self, name: &str) -> bool {
        self.headers.contains(&name.to_ascii_lowercase())
    }

    /// Whether a query parameter's value is masked.
    pub fn is_secret_query_param(&self, name: &str) -> bool {
        self.query.contains(&name.to_ascii_lowercase())
    }

    /// The URL with the values of secret query parameters and any password
    /// replaced by `***`.
    pub fn mask_url(&self, url: &Url) -> String {
        let mut url = url.clone();
        self.mask_url_in_place(&mut url);
        url.to_string()
    }

    /// [`mask_url`](Self::mask_url) in place: for the URL that a reqwest
    /// error carries, which its `Display` shows.
    pub fn mask_url_in_place(&self, url: &mut Url) {
        if url.password().is_some() {
            let _ = url.set_password(Some("***"));
        }
        let Some(query) = url.query() else {
            return;
        };
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if !pairs.iter().any(|(k, _)| self.is_secret_query_param(k)) {
            return;
        }
        let mut masked = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &pairs {
            let v = if self.is_secret_query_param(k) {
                "***"
            } else {
                v
            };
            masked.append_pair(k, v);
        }
        url.set_query(Some(&masked.finish()));
    }

    /// `name: value` lines joined by `, `, secret values shown as `***`.
    ///
    /// ```
    /// use auth_client::MaskPolicy;
    /// use reqwest::header::{HeaderMap, HeaderValue};
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("authorization", HeaderValue::from_static("Bearer abc"));
    /// headers.insert("accept", HeaderValue::from_static("*/*"));
    /// assert_eq!(MaskPolicy::new().mask_headers(&headers), "authorization: ***, accept: */*");
    /// ```
    pub fn mask_headers(&self, headers: &HeaderMap) -> String {
        let mut out = String::new();
        for (name, value) in headers {
            if !out.is_empty() {
                out.push_str(", ");
            }
            let shown = if value.is_sensitive() || self.is_secret_header(name.as_str()) {
                "***"
            } else {
                value.to_str().unwrap_or("<binary>")
            };
            let _ = write!(out, "{name}: {shown}");
        }
        out
    }
}

/// The `tracing` target of [`OutboundLog`]'s events.
pub const LOG_TARGET: &str = "auth_client::request";

/// A reqwest middleware that logs each request and its answer at `DEBUG`
/// (failures at `WARN`) through `tracing`, target [`LOG_TARGET`], masked by
/// a [`MaskPolicy`].
///
/// Attach it after [`AuthMiddleware`](crate::AuthMiddleware) so it sees, and
/// masks, the credential that one applied.
///
/// ```
/// use auth_client::{MaskPolicy, OutboundLog};
///
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(OutboundLog::new(MaskPolicy::new().header("x-vendor-token")))
///     .build();
/// # let _ = client;
/// ```
#[derive(Debug, Clone, Default)]
pub struct OutboundLog {
    policy: MaskPolicy,
}

impl OutboundLog {
    /// Logs with this policy.
    pub fn new(policy: MaskPolicy) -> Self {
        Self { policy }
    }
}

#[async_trait::async_trait]
impl Middleware for OutboundLog {
    async fn handle(
        &self,
        req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let method = req.method().clone();
        let url = self.policy.mask_url(req.url());
        tracing::debug!(
            target: LOG_TARGET,
            %method,
            %url,
            headers = %self.policy.mask_headers(req.headers()),
            "sending request"
        );
        match next.run(req, extensions).await {
            Ok(resp) => {
                tracing::debug!(target: LOG_TARGET, %method, %url, status = resp.status().as_u16(), "response");
                Ok(resp)
            }
            Err(mut err) => {
                if let Some(err_url) = err.url_mut() {
                    self.policy.mask_url_in_place(err_url);
                }
                tracing::warn!(target: LOG_TARGET, %method, %url, error = %err, "request failed");
                Err(err)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn sensitive_and_configured_headers_are_masked() {
        let mut headers = HeaderMap::new();
        let mut sensitive = HeaderValue::from_static("k-SECRET");
        sensitive.set_sensitive(true);
        headers.insert("x-custom-key", sensitive);
        headers.insert("x-vendor", HeaderValue::from_static("v-SECRET"));
        headers.insert("cookie", HeaderValue::from_static("sid=SECRET"));
        headers.insert("x-plain", HeaderValue::from_static("visible"));
        let shown = MaskPolicy::new().header("X-Vendor").mask_headers(&headers);
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("x-plain: visible"), "{shown}");
    }

    #[test]
    fn url_passwords_and_configured_query_params_are_masked() {
        let url = Url::parse("http://u:pw-SECRET@h/p?Sig=s-SECRET&x=1").expect("url");
        let shown = MaskPolicy::new().query_param("sig").mask_url(&url);
        assert_eq!(shown, "http://u:***@h/p?Sig=***&x=1");
    }

    #[test]
    fn urls_without_secrets_are_left_alone() {
        let url = Url::parse("http://h/p?a=%20b").expect("url");
        assert_eq!(MaskPolicy::new().mask_url(&url), "http://h/p?a=%20b");
    }
}
