//! What a login answers: a token pair, or why there is none.

use secrecy::{ExposeSecret, SecretString};

use crate::error::AuthError;
use crate::jwt::IssuedToken;

/// An access token and its refresh token.
pub struct TokenPair {
    /// The access token.
    pub access: IssuedToken,
    pub(super) refresh: SecretString,
    /// When the refresh token expires.
    pub refresh_expires_at: i64,
}

impl TokenPair {
    /// The opaque refresh token, to hand to the client.
    pub fn refresh_token(&self) -> &str {
        self.refresh.expose_secret()
    }
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair")
            .field("access", &self.access)
            .field("refresh", &"[REDACTED]")
            .field("refresh_expires_at", &self.refresh_expires_at)
            .finish()
    }
}

/// Why a login did not give tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// Wrong username or password, or a disabled user: one outcome for all.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many failures from this (username, address): retry later.
    #[error("too many failed logins; retry in {retry_after} s")]
    Throttled {
        /// Seconds to wait.
        retry_after: i64,
    },
    /// Something else failed (store, hashing).
    #[error(transparent)]
    Other(AuthError),
}

impl From<AuthError> for LoginError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidCredentials | AuthError::MissingCredentials => {
                Self::InvalidCredentials
            }
            AuthError::Throttled { retry_after } => Self::Throttled { retry_after },
            other => Self::Other(other),
        }
    }
}
