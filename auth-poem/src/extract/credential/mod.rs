//! Reading a credential and the request facts out of a poem [`Request`].

use auth_core::{AuthContext, AuthError, Channel, Credential};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use poem::http::header::{AUTHORIZATION, COOKIE, USER_AGENT};
use poem::http::{HeaderName, HeaderValue, Uri};
use poem::web::cookie::Cookie;
use poem::{Addr, Request};

/// The path parameter a WebSocket route names its user in (`/ws/:user_id`).
pub const WS_USER_ID_PARAM: &str = "user_id";

/// What [`masked_uri`] writes in place of a hidden value.
const MASK: &str = "***";

/// Where credentials are read from besides `Authorization`.
#[derive(Debug, Clone)]
pub(crate) struct Sources {
    /// The API-key header.
    pub(crate) api_key_header: HeaderName,
    /// The cookie an API key is read from, when enabled.
    pub(crate) api_key_cookie: Option<String>,
    /// The query parameter an API key is read from, when enabled.
    pub(crate) api_key_query: Option<String>,
    /// The query parameter a WebSocket upgrade carries its token in.
    pub(crate) ws_token_query: String,
}

impl Sources {
    /// The query parameters whose values never reach a log.
    pub(crate) fn secret_query_names(&self) -> Vec<&str> {
        let mut names = vec![self.ws_token_query.as_str()];
        names.extend(self.api_key_query.as_deref());
        names
    }
}

/// Standard base64 that accepts a value with or without its `=` padding.
const BASIC_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Reads the credential of `req` arriving on `channel`.
///
/// The first source that holds a value wins, in this order:
/// `Authorization`, the API-key header, the API-key cookie (when enabled),
/// then the query: on a WebSocket upgrade the token parameter (read as a
/// bearer token, so a JWT goes to the JWT handler and anything else to the
/// API-key handler), then the API-key parameter (when enabled, on both
/// channels). An empty or blank value counts as absent, and so does a scheme
/// with nothing after it (`Bearer `). A value that is there but unusable (an
/// unknown scheme, bad base64, no colon in Basic, bytes that are not text,
/// the header or query parameter sent twice) is a refused credential:
/// [`AuthError::InvalidCredentials`].
pub(crate) fn credential(
    req: &Request,
    sources: &Sources,
    channel: Channel,
) -> Result<Option<Credential>, AuthError> {
    if let Some(value) = single(req, &AUTHORIZATION)?
        && let Some(credential) = authorization(value)?
    {
        return Ok(Some(credential));
    }
    if let Some(value) = single(req, &sources.api_key_header)? {
        let key = text(value)?;
        if !key.is_empty() {
            return Ok(Some(Credential::api_key(key)));
        }
    }
    if let Some(name) = &sources.api_key_cookie
        && let Some(key) = cookie(req, name)
    {
        return Ok(Some(Credential::api_key(key)));
    }
    if channel == Channel::WebSocket
        && let Some(token) = query(req, &sources.ws_token_query)?
    {
        return Ok(Some(Credential::bearer(token)));
    }
    if let Some(name) = &sources.api_key_query
        && let Some(key) = query(req, name)?
    {
        return Ok(Some(Credential::api_key(key)));
    }
    Ok(None)
}

/// The trimmed, non-empty value of the cookie `name`. When the browser
/// sends the name twice the first one counts, as in poem's `CookieJar`
/// (RFC 6265 sends the most specific path first). Cookie headers that are
/// not text and pairs that do not parse are skipped, as poem does.
fn cookie(req: &Request, name: &str) -> Option<String> {
    let value = req
        .headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| Cookie::parse(pair.trim()).ok())
        .find(|c| c.name() == name)?
        .value_str()
        .trim()
        .to_owned();
    (!value.is_empty()).then_some(value)
}

/// The trimmed, non-empty value of the query parameter `name`, decoded as
/// poem's `Query` decodes it. Sent twice with a value, it is ambiguous and
/// refused.
fn query(req: &Request, name: &str) -> Result<Option<String>, AuthError> {
    let Some(query) = req.uri().query() else {
        return Ok(None);
    };
    let mut found = None;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let value = value.trim();
        if key != name || value.is_empty() {
            continue;
        }
        if found.is_some() {
            tracing::debug!(
                parameter = name,
                "credential query parameter sent more than once"
            );
            return Err(AuthError::InvalidCredentials);
        }
        found = Some(value.to_owned());
    }
    Ok(found)
}

/// `uri` as text, with the values of the query parameters in `names`
/// replaced by `***`: the form of a URI fit for a log line.
///
/// Names are compared after URL-decoding and without regard to case, so
/// `?%74oken=...` and `?TOKEN=...` are hidden as well as `?token=...`. The
/// rest of the URI is left as it came.
///
/// ```
/// use auth_poem::masked_uri;
/// use poem::http::Uri;
///
/// let uri: Uri = "/ws/alice?token=s3cr3t&room=7&api_key=k-1".parse()?;
/// assert_eq!(masked_uri(&uri, &["token", "api_key"]), "/ws/alice?token=***&room=7&api_key=***");
/// # Ok::<_, poem::http::uri::InvalidUri>(())
/// ```
pub fn masked_uri(uri: &Uri, names: &[&str]) -> String {
    let Some(query) = uri.query() else {
        return uri.to_string();
    };
    let mut out = String::with_capacity(uri.path().len() + query.len() + 32);
    if let Some(scheme) = uri.scheme_str() {
        out.push_str(scheme);
        out.push_str("://");
    }
    if let Some(authority) = uri.authority() {
        out.push_str(authority.as_str());
    }
    out.push_str(uri.path());
    out.push('?');
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        let hidden = pair.split_once('=').filter(|_| {
            form_urlencoded::parse(pair.as_bytes())
                .next()
                .is_some_and(|(key, _)| names.iter().any(|n| key.eq_ignore_ascii_case(n)))
        });
        match hidden {
            Some((raw_name, _)) => {
                out.push_str(raw_name);
                out.push('=');
                out.push_str(MASK);
            }
            None => out.push_str(pair),
        }
    }
    out
}

/// The value of a credential header; a header sent twice is ambiguous (two
/// hops could each read a different one) and refused.
fn single<'a>(req: &'a Request, name: &HeaderName) -> Result<Option<&'a HeaderValue>, AuthError> {
    let mut values = req.headers().get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        tracing::debug!(header = %name, "credential header sent more than once");
        return Err(AuthError::InvalidCredentials);
    }
    Ok(first)
}

/// Parses an `Authorization` value: `Ok(None)` when it is blank.
fn authorization(value: &HeaderValue) -> Result<Option<Credential>, AuthError> {
    let value = text(value)?;
    if value.is_empty() {
        return Ok(None);
    }
    let (scheme, rest) = value
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        Ok((!rest.is_empty()).then(|| Credential::bearer(rest)))
    } else if scheme.eq_ignore_ascii_case("basic") {
        if rest.is_empty() {
            return Ok(None);
        }
        basic(rest).map(Some)
    } else {
        tracing::debug!("unsupported Authorization scheme");
        Err(AuthError::InvalidCredentials)
    }
}

/// Decodes the `user:password` pair of a Basic credential.
fn basic(encoded: &str) -> Result<Credential, AuthError> {
    let malformed = |why: &str| {
        tracing::debug!(reason = why, "malformed Basic credential");
        AuthError::InvalidCredentials
    };
    let bytes = BASIC_B64
        .decode(encoded)
        .map_err(|_| malformed("not base64"))?;
    let pair = String::from_utf8(bytes).map_err(|_| malformed("not UTF-8"))?;
    let (username, password) = pair.split_once(':').ok_or_else(|| malformed("no colon"))?;
    Ok(Credential::basic(username, password))
}

/// A header value as trimmed text; bytes outside visible ASCII refuse it.
fn text(value: &HeaderValue) -> Result<&str, AuthError> {
    value.to_str().map(str::trim).map_err(|_| {
        tracing::debug!("credential header is not visible ASCII");
        AuthError::InvalidCredentials
    })
}

/// What the handlers may know of `req` besides its credential.
///
/// The user-id hint is the `user_id_header` on HTTP. On a WebSocket upgrade
/// it is the route's [`WS_USER_ID_PARAM`] path parameter when the route has
/// one (`/ws/:user_id`), and the header otherwise.
pub(crate) fn context(
    req: &Request,
    user_id_header: &HeaderName,
    trusted_proxies: &[std::net::IpAddr],
    channel: Channel,
) -> AuthContext {
    let mut cx = AuthContext::new(channel);
    let hint = match channel {
        Channel::WebSocket => match req.raw_path_param(WS_USER_ID_PARAM) {
            Some(param) => Some(param),
            None => header_text(req, user_id_header),
        },
        Channel::Http => header_text(req, user_id_header),
    };
    if let Some(hint) = hint {
        cx = cx.with_user_id_hint(hint);
    }
    if let Addr::SocketAddr(addr) = &req.remote_addr().0 {
        cx = cx.with_remote_addr(*addr);
    }
    if let Some(client) = crate::client::client_addr(req, trusted_proxies) {
        cx = cx.with_client_addr(client);
    }
    if let Some(agent) = header_text(req, &USER_AGENT) {
        cx = cx.with_user_agent(agent);
    }
    cx
}

fn header_text<'a>(req: &'a Request, name: &HeaderName) -> Option<&'a str> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests;
