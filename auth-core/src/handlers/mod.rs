//! The [`AuthHandler`] trait: one way of turning a credential into a principal.

pub mod apikey;
pub mod basic;
pub mod config;
pub mod live;

use async_trait::async_trait;
use secrecy::ExposeSecret;

use crate::context::AuthContext;
use crate::credential::Credential;
use crate::error::AuthResult;
use crate::principal::Principal;
use crate::store::RevocationCheck;

/// What a handler that verifies JWTs checks them with, as
/// [`AuthHandler::jwt_verification`] reports it: a service that mints
/// tokens uses it to refuse a pipeline that would accept them without
/// consulting its revocations.
#[derive(Clone, Copy)]
pub struct JwtVerification<'a> {
    /// The keys signatures are verified with.
    pub keys: &'a std::sync::Arc<crate::jwt::KeySet>,
    /// The revocation check consulted for each token, if any.
    pub revocations: Option<&'a std::sync::Arc<dyn RevocationCheck>>,
}

impl std::fmt::Debug for JwtVerification<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerification")
            .field("keys", self.keys)
            .field("checks_revocations", &self.revocations.is_some())
            .finish()
    }
}

/// One way of recognizing a credential: API keys, JWTs, a user store, an
/// outside identity provider.
///
/// Each method answers `Ok(Some(principal))` (recognized and valid),
/// `Ok(None)` (not mine: the [`Pipeline`](crate::Pipeline) tries the next
/// handler) or `Err` (recognized and refused: the request is denied, no other
/// handler is asked).
///
/// ```
/// use auth_core::{async_trait, AuthContext, AuthHandler, AuthMethod, AuthResult, Principal};
///
/// struct Demo;
///
/// #[async_trait]
/// impl AuthHandler for Demo {
///     fn name(&self) -> &str { "demo" }
///     async fn authorize_key(&self, key: &str, _cx: &AuthContext) -> AuthResult<Option<Principal>> {
///         // A real handler compares in constant time; see `ApiKeyHandler`.
///         Ok((key == "letmein").then(|| Principal::new("demo", AuthMethod::Custom { handler: "demo".into() })))
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an auth handler",
    note = "implement `auth_core::AuthHandler` for it (with `#[auth_core::async_trait]`), overriding `authorize_jwt`, `authorize_key` or `authorize_basic`"
)]
#[async_trait]
pub trait AuthHandler: Send + Sync + 'static {
    /// A short stable name, used in logs and in [`AuthMethod::Custom`](crate::AuthMethod::Custom).
    fn name(&self) -> &str;

    /// Checks a JWT-shaped bearer token.
    async fn authorize_jwt(&self, token: &str, cx: &AuthContext) -> AuthResult<Option<Principal>> {
        let _ = (token, cx);
        Ok(None)
    }

    /// Checks an API key, or a bearer token that is not JWT-shaped.
    async fn authorize_key(&self, key: &str, cx: &AuthContext) -> AuthResult<Option<Principal>> {
        let _ = (key, cx);
        Ok(None)
    }

    /// Checks a username and password.
    async fn authorize_basic(
        &self,
        username: &str,
        password: &str,
        cx: &AuthContext,
    ) -> AuthResult<Option<Principal>> {
        let _ = (username, password, cx);
        Ok(None)
    }

    /// The answer of [`authorize`](Self::authorize) given at once, for a
    /// handler that never waits (a key comparison, a signature check):
    /// `Some(answer)` is taken as the handler's answer, without the boxed
    /// future an `async` trait method costs. `None`, the default, sends the
    /// [`Pipeline`](crate::Pipeline) to `authorize`.
    ///
    /// A handler that overrides it answers the same here as in `authorize`;
    /// a wrapper around another handler forwards it.
    fn authorize_now(
        &self,
        credential: &Credential,
        cx: &AuthContext,
    ) -> Option<AuthResult<Option<Principal>>> {
        let _ = (credential, cx);
        None
    }

    /// For a handler that verifies JWTs with keys of its own: those keys
    /// and the revocation check it consults. `None`, the default, for any
    /// other handler.
    ///
    /// [`PoemAuth`](https://docs.rs/auth-poem) reads it when it mounts the
    /// token routes: a handler that accepts the tokens they mint without
    /// checking their revocations would let logged-out tokens through, so
    /// that wiring is refused at build time.
    fn jwt_verification(&self) -> Option<JwtVerification<'_>> {
        None
    }

    /// Dispatches a credential: a JWT-shaped bearer to
    /// [`authorize_jwt`](Self::authorize_jwt), any other bearer or API key to
    /// [`authorize_key`](Self::authorize_key), Basic to
    /// [`authorize_basic`](Self::authorize_basic).
    async fn authorize(
        &self,
        credential: &Credential,
        cx: &AuthContext,
    ) -> AuthResult<Option<Principal>> {
        match credential {
            Credential::Bearer(token) if credential.is_jwt_shaped() => {
                self.authorize_jwt(token.expose_secret(), cx).await
            }
            Credential::Bearer(key) | Credential::ApiKey(key) => {
                self.authorize_key(key.expose_secret(), cx).await
            }
            Credential::Basic { username, password } => {
                self.authorize_basic(username, password.expose_secret(), cx)
                    .await
            }
        }
    }
}
