//! The outcome of a failed authentication or authorization.

/// Why a request was not let through.
///
/// Each variant is one outward outcome. None of them says *which* part of a
/// credential failed: the reason goes to a debug log, never to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credential was presented (401).
    #[error("missing credentials")]
    MissingCredentials,
    /// A credential was presented and refused (401).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Authenticated, but not allowed to do this (403).
    #[error("forbidden")]
    Forbidden,
    /// The server is set up wrongly (500); the message is for the operator.
    #[error("auth misconfigured: {0}")]
    Misconfigured(String),
    /// A backend (store, identity provider) could not be reached (503).
    #[error("auth backend unavailable: {0}")]
    Unavailable(String),
    /// Too many failed password checks: try again in `retry_after` seconds
    /// (429 with `Retry-After`; see [`LoginThrottle`](crate::throttle::LoginThrottle)).
    #[error("too many failed attempts; retry after {retry_after} s")]
    Throttled {
        /// Seconds to wait.
        retry_after: i64,
    },
}

impl AuthError {
    /// The HTTP status this outcome maps to by default.
    ///
    /// ```
    /// assert_eq!(auth_core::AuthError::Forbidden.status(), 403);
    /// ```
    pub fn status(&self) -> u16 {
        match self {
            Self::MissingCredentials | Self::InvalidCredentials => 401,
            Self::Forbidden => 403,
            Self::Misconfigured(_) => 500,
            Self::Unavailable(_) => 503,
            Self::Throttled { .. } => 429,
        }
    }

    /// Whether the caller must (re-)authenticate: a 401 outcome.
    pub fn is_unauthenticated(&self) -> bool {
        self.status() == 401
    }
}

/// Result alias for auth operations.
pub type AuthResult<T> = Result<T, AuthError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_outcome_has_its_status() {
        assert_eq!(AuthError::MissingCredentials.status(), 401);
        assert_eq!(AuthError::InvalidCredentials.status(), 401);
        assert_eq!(AuthError::Forbidden.status(), 403);
        assert_eq!(AuthError::Misconfigured("x".into()).status(), 500);
        assert_eq!(AuthError::Unavailable("db".into()).status(), 503);
        assert!(AuthError::InvalidCredentials.is_unauthenticated());
        assert!(!AuthError::Forbidden.is_unauthenticated());
    }
}
