//! How database failures become the outcomes callers see.

use auth_core::AuthError;
use auth_core::store::ManageError;

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The settings are wrong: an unknown URL scheme, a backend this build
    /// lacks, a path that cannot be created.
    #[error("invalid store settings: {0}")]
    Invalid(String),
    /// The database could not be reached or opened.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The migrations could not be applied.
    #[error("store migration failed: {0}")]
    Migration(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Self::Migration(e.to_string())
    }
}

/// What a failed query means to the caller.
pub(crate) enum Failure {
    /// A unique constraint refused the write.
    Conflict,
    /// Anything else: the store could not answer.
    Unavailable,
    /// The stored data could not be read back: a bug or a foreign schema.
    Corrupt,
}

pub(crate) fn classify(e: &sqlx::Error) -> Failure {
    match e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Failure::Conflict,
        sqlx::Error::Decode(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::TypeNotFound { .. } => Failure::Corrupt,
        _ => Failure::Unavailable,
    }
}

const UNAVAILABLE: &str = "the auth store could not be reached";

/// A failed query as a management outcome; `conflict` names what already exists.
pub(crate) fn manage(e: sqlx::Error, conflict: &str) -> ManageError {
    match classify(&e) {
        Failure::Conflict => ManageError::Conflict(conflict.to_owned()),
        Failure::Corrupt => {
            tracing::error!(error = %e, "auth store returned unreadable data");
            ManageError::Misconfigured("the auth store holds unreadable data".into())
        }
        Failure::Unavailable => {
            tracing::warn!(error = %e, "auth store query failed");
            ManageError::Unavailable(UNAVAILABLE.into())
        }
    }
}

/// A failed query on the request path: it denies the request.
pub(crate) fn auth(e: sqlx::Error) -> AuthError {
    match classify(&e) {
        Failure::Corrupt => {
            tracing::error!(error = %e, "auth store returned unreadable data");
            AuthError::Misconfigured("the auth store holds unreadable data".into())
        }
        Failure::Conflict | Failure::Unavailable => {
            tracing::warn!(error = %e, "auth store query failed");
            AuthError::Unavailable(UNAVAILABLE.into())
        }
    }
}

/// Stored JSON that does not parse.
pub(crate) fn corrupt(what: &str, e: &serde_json::Error) -> AuthError {
    tracing::error!(error = %e, column = what, "auth store holds invalid JSON");
    AuthError::Misconfigured(format!("the auth store holds invalid {what}"))
}
