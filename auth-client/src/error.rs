//! What can go wrong when authenticating an outbound request.

/// Why an outbound request could not be authenticated.
///
/// No variant carries a secret: URLs are shown without their query and
/// user information, and the body of a token endpoint's answer is never
/// quoted (it may echo what was sent).
///
/// Through the middleware these arrive as
/// [`reqwest_middleware::Error::Middleware`]; get them back with
/// `err.downcast_ref::<ClientError>()` on the inner `anyhow::Error`.
///
/// ```
/// use auth_client::ClientError;
///
/// let err = ClientError::RetryLater { retry_in: 42, cause: "the token endpoint answered 503".into() };
/// assert_eq!(
///     err.to_string(),
///     "a recent authentication failed (the token endpoint answered 503); next attempt in 42 s",
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The credential record is wrong; the message names the setting.
    #[error("invalid credential settings: {0}")]
    Config(String),
    /// No authenticator of this name is registered.
    #[error("no authenticator named `{name}` is registered; the registered ones are: {known}")]
    UnknownAuthenticator {
        /// The name asked for.
        name: String,
        /// The registered names, comma-separated.
        known: String,
    },
    /// An authenticator of this name is registered already.
    #[error(
        "an authenticator named `{0}` is registered already; pick another name for yours, or build \
         the registry with `AuthenticatorRegistry::empty()` to replace a built-in"
    )]
    DuplicateAuthenticator(String),
    /// The token endpoint refused the credentials (400, 401 or 403).
    #[error("the token endpoint {url} refused the credentials ({status}{})", oauth_error.as_deref().map(|e| format!(", {e}")).unwrap_or_default())]
    Refused {
        /// The endpoint, without query.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The OAuth2 `error` code (RFC 6749 §5.2), when the answer had a well-formed one.
        oauth_error: Option<String>,
    },
    /// The token endpoint answered with another non-success status.
    #[error("the token endpoint {url} answered {status}")]
    TokenEndpoint {
        /// The endpoint, without query.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The token endpoint's answer was not JSON, or had no string at the
    /// configured key.
    #[error("the answer of the token endpoint {url} has no string at `{key}`")]
    MissingToken {
        /// The endpoint, without query.
        url: String,
        /// The configured token key.
        key: String,
    },
    /// A recent authentication failed, and the configured retry delay has
    /// not passed yet: the token server is not asked again until it has.
    #[error("a recent authentication failed ({cause}); next attempt in {retry_in} s")]
    RetryLater {
        /// Seconds until the next attempt is allowed.
        retry_in: i64,
        /// What went wrong the last time.
        cause: String,
    },
    /// `modify_request` ran before any successful `authenticate`.
    #[error("not authenticated: `authenticate` must succeed before `modify_request`")]
    NotAuthenticated,
    /// The token endpoint could not be reached, or its answer not read.
    #[error("the request to {url} failed")]
    Http {
        /// The endpoint, without query.
        url: String,
        /// The cause, with its URL removed.
        #[source]
        source: reqwest::Error,
    },
}

impl ClientError {
    /// A [`ClientError::Http`] for a request to `url`; the URL is stripped
    /// from the reqwest error, whose `Display` would otherwise show its query.
    pub(crate) fn http(url: &reqwest::Url, source: reqwest::Error) -> Self {
        Self::Http {
            url: url_for_display(url),
            source: source.without_url(),
        }
    }
}

/// `scheme://host[:port]/path`, with `?…` when there was a query: enough to
/// tell endpoints apart, without user information or query values.
pub(crate) fn url_for_display(url: &reqwest::Url) -> String {
    let mut shown = format!("{}://", url.scheme());
    if let Some(host) = url.host_str() {
        shown.push_str(host);
    }
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    shown.push_str(url.path());
    if url.query().is_some() {
        shown.push_str("?…");
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_errors_lose_userinfo_and_query_values() {
        let url =
            reqwest::Url::parse("https://bob:hunter2@idp.example:8443/oauth/token?key=SECRET")
                .expect("url");
        let shown = url_for_display(&url);
        assert_eq!(shown, "https://idp.example:8443/oauth/token?…");
    }

    #[test]
    fn refusals_show_a_well_formed_oauth_error_code() {
        let err = ClientError::Refused {
            url: "http://idp/token".into(),
            status: 400,
            oauth_error: Some("invalid_client".into()),
        };
        assert_eq!(
            err.to_string(),
            "the token endpoint http://idp/token refused the credentials (400, invalid_client)"
        );
    }
}
