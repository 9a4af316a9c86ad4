//! Fetching documents (JWKS, discovery) over HTTP, behind a trait so the
//! engine does not depend on one HTTP client.

use std::time::Duration;

use async_trait::async_trait;

use crate::jwt::strip_prefix_ci;

/// The largest document accepted: JWKS and discovery documents are a few KiB.
pub const MAX_DOCUMENT_BYTES: usize = 512 * 1024;

/// A fetched document.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The body.
    pub body: Vec<u8>,
    /// The `Cache-Control` header, when there was one.
    pub cache_control: Option<String>,
}

/// Why a fetch failed. The engine keeps the last good key set and logs it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The URL is not HTTPS (plain HTTP is allowed on loopback only).
    #[error("refusing to fetch {0}: only https, or http on a loopback address")]
    InsecureUrl(String),
    /// The fetch took longer than the configured timeout.
    #[error("timed out")]
    Timeout,
    /// The connection failed.
    #[error("connection failed: {0}")]
    Connect(String),
    /// A status other than 200.
    #[error("HTTP status {0}")]
    Status(u16),
    /// The body is larger than [`MAX_DOCUMENT_BYTES`].
    #[error("document too large")]
    TooLarge,
    /// The document is not what was expected.
    #[error("invalid document: {0}")]
    Invalid(String),
}

/// An HTTP GET of a JSON document. `ReqwestFetcher` implements it (feature
/// `remote-jwks`); another client can too. The engine wraps every call in
/// its own timeout as well, so a fetcher that hangs cannot hold a refresh.
#[async_trait]
pub trait Fetcher: Send + Sync + 'static {
    /// GETs `url`: a 200 answer's body (at most [`MAX_DOCUMENT_BYTES`]) and
    /// `Cache-Control` header, or why not. Must not follow redirects to
    /// other origins.
    async fn get(&self, url: &str, timeout: Duration) -> Result<Fetched, FetchError>;
}

/// Whether `url` may be fetched: `https://`, or `http://` on a loopback host
/// (`localhost`, `127.0.0.0/8`, `[::1]`) for tests and sidecars.
///
/// ```
/// use auth_core::oidc::url_is_allowed;
///
/// assert!(url_is_allowed("https://idp.example/jwks"));
/// assert!(url_is_allowed("http://127.0.0.1:8080/jwks"));
/// assert!(!url_is_allowed("http://idp.example/jwks"));
/// assert!(!url_is_allowed("http://127.0.0.1.evil.example/jwks"));
/// assert!(!url_is_allowed("http://é/jwks")); // any text: an answer, never a panic
/// ```
pub fn url_is_allowed(url: &str) -> bool {
    if let Some(rest) = strip_prefix_ci(url, "https://") {
        return !rest.is_empty();
    }
    let Some(rest) = strip_prefix_ci(url, "http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    if host.eq_ignore_ascii_case("localhost") || host == "::1" {
        return true;
    }
    host.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// The `max-age` of a `Cache-Control` header in seconds; `no-store` and
/// `no-cache` give 0. `None` when the header says nothing about freshness.
///
/// ```
/// use auth_core::oidc::cache_max_age;
///
/// assert_eq!(cache_max_age("public, max-age=600"), Some(600));
/// assert_eq!(cache_max_age("no-cache"), Some(0));
/// assert_eq!(cache_max_age("public"), None);
/// ```
pub fn cache_max_age(header: &str) -> Option<u64> {
    let mut max_age = None;
    for directive in header.split(',') {
        let directive = directive.trim();
        let (name, value) = directive.split_once('=').unwrap_or((directive, ""));
        let name = name.trim();
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return Some(0);
        }
        if name.eq_ignore_ascii_case("max-age") {
            max_age = value.trim().trim_matches('"').parse().ok();
        }
    }
    max_age
}

/// Fetches with reqwest over rustls: no redirects, no cookies, the body
/// capped at [`MAX_DOCUMENT_BYTES`], the URL checked with [`url_is_allowed`].
#[cfg(feature = "remote-jwks")]
#[derive(Debug, Clone)]
pub struct ReqwestFetcher {
    client: reqwest::Client,
}

#[cfg(feature = "remote-jwks")]
impl ReqwestFetcher {
    /// A fetcher with its own client.
    pub fn new() -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("poem-auth/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Connect(e.to_string()))?;
        Ok(Self { client })
    }

    /// A fetcher around a configured client (proxy, root certificates).
    /// Give it a redirect policy of `none`.
    pub fn with_client(client: reqwest::Client) -> Self {
        Self { client }
    }
}

#[cfg(feature = "remote-jwks")]
#[async_trait]
impl Fetcher for ReqwestFetcher {
    async fn get(&self, url: &str, timeout: Duration) -> Result<Fetched, FetchError> {
        if !url_is_allowed(url) {
            return Err(FetchError::InsecureUrl(url.to_owned()));
        }
        let fail = |e: reqwest::Error| {
            if e.is_timeout() {
                FetchError::Timeout
            } else {
                FetchError::Connect(e.to_string())
            }
        };
        let mut response = self
            .client
            .get(url)
            .header("accept", "application/json")
            .timeout(timeout)
            .send()
            .await
            .map_err(fail)?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64)
        {
            return Err(FetchError::TooLarge);
        }
        let cache_control = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(fail)? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            body,
            cache_control,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_url_with_a_multibyte_character_where_the_scheme_ends_is_refused_without_panicking() {
        // `é` is two bytes: in `http://é/jwks` it straddles byte 8, the
        // length of `https://`.
        for url in [
            "http://é/jwks",
            "http://é",
            "http:/é",
            "https:/é",
            "http:é",
            "httpé://x",
            "é",
            "http://\u{1F600}/jwks",
            "http://[é]/jwks",
            "http://[::1é]/",
            "http://é:80/jwks",
            "http://é@localhost/jwks",
        ] {
            assert!(!url_is_allowed(url), "{url}");
        }
        // A multibyte character after a full scheme changes nothing.
        assert!(url_is_allowed("https://é.example/jwks"));
        assert!(url_is_allowed("HTTPS://idp.example/é"));
        assert!(url_is_allowed("http://localhost/é"));
        assert!(!url_is_allowed("https://"));
    }

    /// Text that stresses the scheme: a prefix of `http://` or `https://`
    /// (in any case), then characters of every width.
    fn url_like() -> impl Strategy<Value = String> {
        let scheme = prop::sample::select(vec![
            "", "h", "http", "http:", "http:/", "http://", "https", "https:/", "https://",
            "HTTP://", "HttpS://",
        ]);
        let rest = prop::collection::vec(
            prop_oneof![
                any::<char>(),
                prop::sample::select(vec!['é', '€', '\u{1F600}', '/', ':', '@', '[', ']', '.']),
            ],
            0..24,
        );
        (scheme, rest).prop_map(|(scheme, rest)| format!("{scheme}{}", String::from_iter(rest)))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn url_is_allowed_answers_any_text_without_panicking(url in url_like()) {
            let allowed = url_is_allowed(&url);
            // And it allows nothing but https, or http to loopback.
            let lower = url.to_ascii_lowercase();
            prop_assert!(
                !allowed || lower.starts_with("https://") || lower.starts_with("http://"),
                "{url:?}"
            );
        }

        #[test]
        fn cache_max_age_answers_any_header_without_panicking(
            header in prop::collection::vec(any::<char>(), 0..32).prop_map(String::from_iter),
        ) {
            let _ = cache_max_age(&header);
        }
    }
}
