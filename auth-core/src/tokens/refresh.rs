//! How long refresh tokens live, and how a new one is made.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;

use crate::error::{AuthError, AuthResult};

/// Refresh-token lifetimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshLifetimes {
    /// Each token's lifetime from its issue (extended by every rotation).
    pub sliding_secs: i64,
    /// The family's lifetime from the login, however often it is rotated.
    pub absolute_secs: i64,
}

impl Default for RefreshLifetimes {
    fn default() -> Self {
        Self {
            sliding_secs: 14 * 24 * 3600,
            absolute_secs: 90 * 24 * 3600,
        }
    }
}

/// 256 random bits, base64url: not JWT-shaped, so it can never pass as an access token.
pub(super) fn new_refresh_token() -> AuthResult<SecretString> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| {
        AuthError::Misconfigured("the system random number generator failed".into())
    })?;
    Ok(SecretString::from(URL_SAFE_NO_PAD.encode(bytes)))
}
