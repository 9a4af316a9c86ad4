//! Reading a credential and the request facts out of a poem [`Request`].

use auth_core::{AuthContext, AuthError, Credential};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use poem::http::header::{AUTHORIZATION, USER_AGENT};
use poem::http::{HeaderName, HeaderValue};
use poem::{Addr, Request};

/// Standard base64 that accepts a value with or without its `=` padding.
const BASIC_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Reads the credential of `req`.
///
/// `Authorization` wins when it holds a value; the API-key header is read only
/// when `Authorization` is absent or empty. An empty or blank value counts as
/// absent, and so does a scheme with nothing after it (`Bearer `). A value
/// that is there but unusable (an unknown scheme, bad base64, no colon in
/// Basic, bytes that are not text, the header sent twice) is a refused credential:
/// [`AuthError::InvalidCredentials`].
pub(crate) fn credential(
    req: &Request,
    api_key_header: &HeaderName,
) -> Result<Option<Credential>, AuthError> {
    if let Some(value) = single(req, &AUTHORIZATION)?
        && let Some(credential) = authorization(value)?
    {
        return Ok(Some(credential));
    }
    match single(req, api_key_header)? {
        None => Ok(None),
        Some(value) => {
            let key = text(value)?;
            Ok((!key.is_empty()).then(|| Credential::api_key(key)))
        }
    }
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
pub(crate) fn context(req: &Request, user_id_header: &HeaderName) -> AuthContext {
    let mut cx = AuthContext::http();
    if let Some(hint) = header_text(req, user_id_header) {
        cx = cx.with_user_id_hint(hint);
    }
    match &req.remote_addr().0 {
        Addr::SocketAddr(addr) => cx = cx.with_remote_addr(addr.to_string()),
        addr if *addr == Addr::default() => {}
        addr => cx = cx.with_remote_addr(addr.to_string()),
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
mod tests {
    use auth_core::Channel;
    use base64::engine::general_purpose::STANDARD;
    use poem::http::header::AUTHORIZATION;
    use secrecy::ExposeSecret;

    use super::*;

    const KEY_HEADER: HeaderName = HeaderName::from_static("x-api-key");

    fn with_header(name: &str, value: &[u8]) -> Request {
        let value = HeaderValue::from_bytes(value).expect("valid header bytes");
        Request::builder().header(name, value).finish()
    }

    fn read(req: &Request) -> Result<Option<Credential>, AuthError> {
        credential(req, &KEY_HEADER)
    }

    fn secret_of(c: &Credential) -> String {
        match c {
            Credential::Bearer(s) | Credential::ApiKey(s) => s.expose_secret().to_owned(),
            Credential::Basic { username, password } => {
                format!("{username}:{}", password.expose_secret())
            }
        }
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_trimmed() {
        for value in ["Bearer tok", "bearer tok", "BEARER   tok  ", "Bearer\ttok"] {
            let c = read(&with_header("authorization", value.as_bytes()))
                .expect("ok")
                .expect("present");
            assert_eq!(c.kind(), "bearer", "{value}");
            assert_eq!(secret_of(&c), "tok", "{value}");
        }
    }

    #[test]
    fn basic_decodes_user_and_password_with_or_without_padding() {
        let padded = STANDARD.encode("alice:won:der");
        let unpadded = padded.trim_end_matches('=').to_owned();
        for enc in [padded, unpadded] {
            let c = read(&with_header(
                "authorization",
                format!("Basic {enc}").as_bytes(),
            ))
            .expect("ok")
            .expect("present");
            assert_eq!(c.kind(), "basic");
            assert_eq!(secret_of(&c), "alice:won:der");
        }
    }

    #[test]
    fn malformed_basic_is_a_refused_credential() {
        let no_colon = format!("Basic {}", STANDARD.encode("alice"));
        let not_utf8 = format!("Basic {}", STANDARD.encode([0xff, 0xfe, b':', b'x']));
        for value in [
            "Basic !!!not-base64!!!",
            no_colon.as_str(),
            not_utf8.as_str(),
        ] {
            assert_eq!(
                read(&with_header("authorization", value.as_bytes())).expect_err(value),
                AuthError::InvalidCredentials
            );
        }
    }

    #[test]
    fn unknown_scheme_and_non_text_values_are_refused() {
        for value in [&b"Digest abc"[..], b"just-a-token", b"Bearer \xfftok"] {
            assert_eq!(
                read(&with_header("authorization", value)).expect_err("refused"),
                AuthError::InvalidCredentials
            );
        }
        assert_eq!(
            read(&with_header("x-api-key", b"k\xff")).expect_err("refused"),
            AuthError::InvalidCredentials
        );
    }

    #[test]
    fn empty_values_count_as_absent() {
        for value in ["", "   ", "Bearer", "Bearer   ", "Basic "] {
            assert!(
                read(&with_header("authorization", value.as_bytes()))
                    .expect("ok")
                    .is_none(),
                "{value:?}"
            );
        }
        assert!(read(&with_header("x-api-key", b"")).expect("ok").is_none());
        assert!(read(&Request::default()).expect("ok").is_none());
    }

    #[test]
    fn api_key_header_is_read_when_authorization_is_absent_or_empty() {
        let req = Request::builder().header("x-api-key", " k-1 ").finish();
        let c = read(&req).expect("ok").expect("present");
        assert_eq!(c.kind(), "api_key");
        assert_eq!(secret_of(&c), "k-1");

        let req = Request::builder()
            .header(AUTHORIZATION, "")
            .header("x-api-key", "k-1")
            .finish();
        assert_eq!(read(&req).expect("ok").expect("present").kind(), "api_key");

        let req = Request::builder()
            .header(AUTHORIZATION, "Bearer tok")
            .header("x-api-key", "k-1")
            .finish();
        let c = read(&req).expect("ok").expect("present");
        assert_eq!((c.kind(), secret_of(&c).as_str()), ("bearer", "tok"));
    }

    #[test]
    fn repeated_credential_headers_are_refused() {
        for name in ["authorization", "x-api-key"] {
            let mut req = Request::builder().finish();
            for value in ["Bearer a", "Bearer b"] {
                req.headers_mut().append(
                    HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                );
            }
            assert_eq!(read(&req).expect_err(name), AuthError::InvalidCredentials);
        }
    }

    #[test]
    fn context_carries_hint_agent_and_channel() {
        let req = Request::builder()
            .header("user_id", "alice")
            .header(USER_AGENT, "curl/8")
            .finish();
        let cx = context(&req, &HeaderName::from_static("user_id"));
        assert_eq!(cx.channel, Channel::Http);
        assert_eq!(cx.user_id_hint(), Some("alice"));
        assert_eq!(cx.user_agent.as_deref(), Some("curl/8"));
        // The placeholder address of a request that came from no socket is no address.
        assert_eq!(cx.remote_addr, None);

        let cx = context(&Request::default(), &HeaderName::from_static("user_id"));
        assert_eq!(cx.user_id_hint(), None);
        assert_eq!(cx.user_agent, None);
    }
}
