//! The [`Authenticator`] trait: what every way of presenting a credential
//! to another API has in common.

use std::fmt;

use reqwest::{Request, Response, StatusCode};

use crate::error::ClientError;

/// One way of presenting a credential to another API.
///
/// [`AuthMiddleware`](crate::AuthMiddleware) drives it for every request:
///
/// 1. [`authenticate`](Self::authenticate) makes sure a usable credential
///    exists: nothing to do for a static one, a token fetch or refresh for a
///    token one;
/// 2. [`modify_request`](Self::modify_request) applies it to the request;
/// 3. [`check_result`](Self::check_result) looks at the answer. When it says
///    [`Verdict::Reauthenticate`] (the token authenticators do on a 401, after
///    invalidating the cached token), the middleware authenticates again and
///    sends the request once more, once.
///
/// Implementations must keep secrets out of their `Debug` output and logs.
///
/// A custom authenticator that sends a key as a query parameter:
///
/// ```
/// use auth_client::{async_trait, Authenticator, ClientError};
/// use auth_client::secrecy::{ExposeSecret, SecretString};
///
/// #[derive(Debug)] // SecretString's Debug shows `[REDACTED]`
/// struct QueryKey {
///     param: String,
///     key: SecretString,
/// }
///
/// #[async_trait]
/// impl Authenticator for QueryKey {
///     fn name(&self) -> &str {
///         "query_key"
///     }
///     fn description(&self) -> &str {
///         "Sends a key as a query parameter."
///     }
///     fn modify_request(&self, request: &mut reqwest::Request) -> Result<(), ClientError> {
///         request
///             .url_mut()
///             .query_pairs_mut()
///             .append_pair(&self.param, self.key.expose_secret());
///         Ok(())
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait Authenticator: Send + Sync + fmt::Debug + 'static {
    /// The name it is registered under, e.g. `"basic"`.
    fn name(&self) -> &str;

    /// One line for people choosing an authenticator.
    fn description(&self) -> &str;

    /// Makes sure a usable credential exists. The default does nothing,
    /// which suits static credentials.
    async fn authenticate(&self) -> Result<(), ClientError> {
        Ok(())
    }

    /// Applies the credential to an outgoing request.
    fn modify_request(&self, request: &mut Request) -> Result<(), ClientError>;

    /// Looks at the answer to a request this authenticator modified. The
    /// default accepts every answer, which suits static credentials: sending
    /// the same password again would not help.
    ///
    /// The response's extensions hold the [`AppliedGeneration`] the request
    /// was sent with, so a token authenticator invalidates only the token
    /// that failed, not one fetched since by a concurrent request.
    fn check_result(&self, response: &Response) -> Verdict {
        let _ = response;
        Verdict::Accept
    }

    /// Which credential [`modify_request`](Self::modify_request) applies now:
    /// a number that changes whenever the credential does. The default, `0`,
    /// suits credentials that never change.
    fn generation(&self) -> u64 {
        0
    }
}

/// What [`Authenticator::check_result`] decided about an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Hand the answer to the caller.
    Accept,
    /// The credential was refused: authenticate again and send the request
    /// once more (if its body can be cloned).
    Reauthenticate,
}

impl Verdict {
    /// [`Verdict::Reauthenticate`] for a 401, else [`Verdict::Accept`].
    ///
    /// ```
    /// use auth_client::Verdict;
    /// use reqwest::StatusCode;
    ///
    /// assert_eq!(Verdict::for_status(StatusCode::UNAUTHORIZED), Verdict::Reauthenticate);
    /// assert_eq!(Verdict::for_status(StatusCode::FORBIDDEN), Verdict::Accept);
    /// ```
    pub fn for_status(status: StatusCode) -> Self {
        if status == StatusCode::UNAUTHORIZED {
            Self::Reauthenticate
        } else {
            Self::Accept
        }
    }
}

/// The [`Authenticator::generation`] a request was sent with; the
/// middleware puts it into the response's extensions before calling
/// [`Authenticator::check_result`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppliedGeneration(pub u64);
