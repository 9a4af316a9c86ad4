//! Credentials as extracted from a request, with secrets redacted.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// A credential presented with a request.
///
/// Secrets are held in [`SecretString`]: `Debug` never shows them.
///
/// ```
/// use auth_core::Credential;
///
/// let c = Credential::bearer("s3cr3t-token");
/// assert!(!format!("{c:?}").contains("s3cr3t"));
/// ```
#[derive(Clone)]
pub enum Credential {
    /// `Authorization: Bearer <token>`: a JWT or an API key.
    Bearer(SecretString),
    /// An API key from a header, query parameter or cookie.
    ApiKey(SecretString),
    /// `Authorization: Basic`.
    Basic {
        /// The username (not secret).
        username: String,
        /// The password.
        password: SecretString,
    },
}

impl Credential {
    /// A bearer credential.
    pub fn bearer(token: impl Into<String>) -> Self {
        Self::Bearer(SecretString::from(token.into()))
    }

    /// An API-key credential.
    pub fn api_key(key: impl Into<String>) -> Self {
        Self::ApiKey(SecretString::from(key.into()))
    }

    /// A Basic credential.
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self::Basic {
            username: username.into(),
            password: SecretString::from(password.into()),
        }
    }

    /// The kind of credential, for logs: `"bearer"`, `"api_key"` or `"basic"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Bearer(_) => "bearer",
            Self::ApiKey(_) => "api_key",
            Self::Basic { .. } => "basic",
        }
    }

    /// Whether this is a bearer token shaped like a compact JWS (three
    /// base64url segments separated by dots).
    pub fn is_jwt_shaped(&self) -> bool {
        matches!(self, Self::Bearer(t) if looks_like_jwt(t.expose_secret()))
    }
}

/// Whether a string has the shape of a compact JWS: three non-empty-header
/// base64url segments separated by two dots.
pub fn looks_like_jwt(token: &str) -> bool {
    // One pass over every byte in plain arithmetic, without an early exit,
    // so that the loop compiles to vector instructions: tokens run to
    // kilobytes. The dots of a block are counted in a byte, which a block
    // of 64 cannot overflow.
    let mut bad = 0u8;
    let mut dots = 0usize;
    for block in token.as_bytes().chunks(64) {
        let mut block_dots = 0u8;
        for &b in block {
            let letter = (b | 0x20).wrapping_sub(b'a') < 26;
            let digit = b.wrapping_sub(b'0') < 10;
            let dot = b == b'.';
            let ok = letter | digit | (b == b'-') | (b == b'_') | (b == b'=') | dot;
            bad |= u8::from(!ok);
            block_dots += u8::from(dot);
        }
        dots += usize::from(block_dots);
    }
    bad == 0 && dots == 2 && !token.starts_with('.')
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bearer(_) => f.write_str("Credential::Bearer([REDACTED])"),
            Self::ApiKey(_) => f.write_str("Credential::ApiKey([REDACTED])"),
            Self::Basic { username, .. } => {
                write!(
                    f,
                    "Credential::Basic {{ username: {username:?}, password: [REDACTED] }}"
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_like_jwt_wants_two_dots_a_header_and_base64url_only() {
        for jwt in ["a.b.c", "eyJ.eyJ.sig", "h..", "h.p.", "h..s", "aA0-_=.x.y"] {
            assert!(looks_like_jwt(jwt), "{jwt}");
        }
        for not in [
            "", ".", "..", ".p.s", "h.p", "h.p.s.x", "h.p.s.", "abc", "h.p.s+", "h.p/.s",
            "h p.q.s", "h.p.s\n", "é.p.s",
        ] {
            assert!(!looks_like_jwt(not), "{not:?}");
        }
    }

    #[test]
    fn debug_never_shows_secrets() {
        for c in [
            Credential::bearer("tok-SECRET"),
            Credential::api_key("key-SECRET"),
            Credential::basic("alice", "pw-SECRET"),
        ] {
            let dbg = format!("{c:?}");
            assert!(!dbg.contains("SECRET"), "{dbg}");
            assert!(dbg.contains("REDACTED"), "{dbg}");
        }
        assert!(format!("{:?}", Credential::basic("alice", "x")).contains("alice"));
    }

    #[test]
    fn jwt_shape_is_three_base64url_segments() {
        assert!(Credential::bearer("eyJh.eyJz.c2ln").is_jwt_shaped());
        assert!(Credential::bearer("eyJh.eyJz.").is_jwt_shaped());
        assert!(!Credential::bearer("plain-api-key").is_jwt_shaped());
        assert!(!Credential::bearer("a.b.c.d").is_jwt_shaped());
        assert!(!Credential::bearer(".b.c").is_jwt_shaped());
        assert!(!Credential::bearer("a b.c.d").is_jwt_shaped());
        assert!(!Credential::api_key("eyJh.eyJz.c2ln").is_jwt_shaped());
    }
}
