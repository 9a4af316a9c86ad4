//! How the management routes answer a failed operation: the status of the
//! [`ManageError`] and a JSON body `{"error": "...", "detail": "..."}`.

use auth_core::handlers::live::SwitchError;
use auth_core::store::ManageError;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};

/// One invalid field of a submitted config.
#[derive(Debug, Clone, Object)]
pub struct FieldErrorBody {
    /// The field, as a JSON Pointer (`/server_url`).
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

/// The body of a failed management operation.
///
/// `error` is a stable code (`invalid`, `forbidden`, `not_found`,
/// `conflict`, `build_failed`, `unsupported`, `unavailable`, `internal`); `detail` says
/// what happened, except on 500 and 503 answers, whose cause is logged and
/// not sent.
#[derive(Debug, Clone, Object)]
pub struct ErrorBody {
    /// A stable code.
    pub error: String,
    /// What happened.
    pub detail: String,
    /// The invalid fields, for an invalid handler config.
    #[oai(skip_serializing_if_is_none)]
    pub fields: Option<Vec<FieldErrorBody>>,
}

/// A failed management operation.
#[derive(Debug, ApiResponse)]
pub enum ManageFailure {
    /// The input is invalid.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Not allowed.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// No such item.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// It exists already.
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// The server is set up wrongly.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// This server does not offer the operation.
    #[oai(status = 501)]
    NotImplemented(Json<ErrorBody>),
    /// Too many failed password checks; retry after `Retry-After` seconds.
    #[oai(status = 429)]
    TooManyRequests(Json<ErrorBody>, #[oai(header = "Retry-After")] i64),
    /// The store could not be reached; nothing was changed.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

fn body(error: &str, detail: impl Into<String>) -> Json<ErrorBody> {
    Json(ErrorBody {
        error: error.to_owned(),
        detail: detail.into(),
        fields: None,
    })
}

impl ManageFailure {
    /// A 403 saying why.
    pub(crate) fn forbidden(detail: impl Into<String>) -> Self {
        Self::Forbidden(body("forbidden", detail))
    }

    /// A 400 saying why.
    pub(crate) fn invalid(detail: impl Into<String>) -> Self {
        Self::BadRequest(body("invalid", detail))
    }
}

impl From<ManageError> for ManageFailure {
    fn from(err: ManageError) -> Self {
        let detail = err.to_string();
        match err {
            ManageError::Unauthenticated | ManageError::Forbidden | ManageError::Refused(_) => {
                Self::Forbidden(body("forbidden", detail))
            }
            ManageError::NotFound(_) => Self::NotFound(body("not_found", detail)),
            ManageError::Conflict(_) => Self::Conflict(body("conflict", detail)),
            ManageError::Invalid(_) => Self::BadRequest(body("invalid", detail)),
            ManageError::Unsupported(_) => Self::NotImplemented(body("unsupported", detail)),
            ManageError::Unavailable(cause) => {
                tracing::warn!(%cause, "management store unavailable; answering 503");
                Self::Unavailable(body("unavailable", "Service Unavailable"))
            }
            ManageError::Misconfigured(cause) => {
                tracing::error!(%cause, "management is misconfigured; answering 500");
                Self::Internal(body("internal", "Internal Server Error"))
            }
            ManageError::Throttled { retry_after } => {
                Self::TooManyRequests(body("slow_down", detail), retry_after.max(1))
            }
        }
    }
}

impl From<SwitchError> for ManageFailure {
    fn from(err: SwitchError) -> Self {
        let detail = err.to_string();
        match err {
            SwitchError::NotFound(_) => Self::NotFound(body("not_found", detail)),
            SwitchError::Invalid(fields) => Self::BadRequest(Json(ErrorBody {
                error: "invalid".into(),
                detail,
                fields: Some(
                    fields
                        .into_iter()
                        .map(|f| FieldErrorBody {
                            path: f.path,
                            message: f.message,
                        })
                        .collect(),
                ),
            })),
            SwitchError::Build(_) => Self::BadRequest(body("build_failed", detail)),
            SwitchError::Store(e) => e.into(),
        }
    }
}
