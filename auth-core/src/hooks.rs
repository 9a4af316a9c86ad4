//! Hooks that run around the handlers: before validation (pick keys or
//! handlers) and after it (check custom claims, enrich the principal).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::context::AuthContext;
use crate::credential::Credential;
use crate::error::AuthResult;
use crate::handler::AuthHandler;
use crate::jwt::KeySet;
use crate::principal::Principal;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a before-authentication hook sees and may change.
///
/// The hook runs after the credential was extracted and before any handler
/// validates it.
pub struct BeforeAuth {
    /// The credential; a hook may replace it (e.g. unwrap a custom header format).
    pub credential: Credential,
    /// The request context.
    pub context: AuthContext,
    pub(crate) handlers: Option<Vec<Arc<dyn AuthHandler>>>,
}

impl BeforeAuth {
    /// Validates JWTs of this request against `keys` instead of the handler's
    /// own key set (key rotation, per-tenant keys).
    pub fn use_keys(&mut self, keys: Arc<KeySet>) {
        self.context.key_override = Some(keys);
    }

    /// Validates this credential with these handlers only, in order, instead
    /// of the pipeline's.
    pub fn use_handlers(&mut self, handlers: Vec<Arc<dyn AuthHandler>>) {
        self.handlers = Some(handlers);
    }
}

/// What an after-authentication hook sees and may change.
pub struct AfterAuth {
    /// The authenticated principal; a hook may enrich it.
    pub principal: Principal,
    /// The request context.
    pub context: AuthContext,
}

/// A hook run before validation. Any `Err` denies the request.
///
/// Implemented for every `Fn(BeforeAuth) -> impl Future<Output = AuthResult<BeforeAuth>>`,
/// so a plain `async fn` registers as it is:
///
/// ```
/// use auth_core::{AuthResult, BeforeAuth};
///
/// async fn tag(cx: BeforeAuth) -> AuthResult<BeforeAuth> {
///     tracing::debug!(kind = cx.credential.kind(), "credential seen");
///     Ok(cx)
/// }
/// let _ = auth_core::Pipeline::builder().before_authentication(tag);
/// ```
pub trait BeforeHook: Send + Sync + 'static {
    /// Runs the hook.
    fn call(&self, cx: BeforeAuth) -> BoxFuture<'static, AuthResult<BeforeAuth>>;
}

impl<F, Fut> BeforeHook for F
where
    F: Fn(BeforeAuth) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = AuthResult<BeforeAuth>> + Send + 'static,
{
    fn call(&self, cx: BeforeAuth) -> BoxFuture<'static, AuthResult<BeforeAuth>> {
        Box::pin(self(cx))
    }
}

/// A hook run after validation. Any `Err` denies the request.
///
/// ```
/// use auth_core::{AfterAuth, AuthError, AuthResult};
///
/// async fn only_verified(cx: AfterAuth) -> AuthResult<AfterAuth> {
///     match cx.principal.extra.get("email_verified") {
///         Some(serde_json::Value::Bool(true)) => Ok(cx),
///         _ => Err(AuthError::InvalidCredentials),
///     }
/// }
/// let _ = auth_core::Pipeline::builder().after_authentication(only_verified);
/// ```
pub trait AfterHook: Send + Sync + 'static {
    /// Runs the hook.
    fn call(&self, cx: AfterAuth) -> BoxFuture<'static, AuthResult<AfterAuth>>;
}

impl<F, Fut> AfterHook for F
where
    F: Fn(AfterAuth) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = AuthResult<AfterAuth>> + Send + 'static,
{
    fn call(&self, cx: AfterAuth) -> BoxFuture<'static, AuthResult<AfterAuth>> {
        Box::pin(self(cx))
    }
}
