//! Hooks that run around the handlers: before validation (pick keys or
//! handlers) and after it (check custom claims, enrich the principal).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::context::AuthContext;
use crate::credential::Credential;
use crate::error::AuthResult;
use crate::handlers::AuthHandler;
use crate::jwt::KeySet;
use crate::principal::Principal;

use secrecy::ExposeSecret;
use serde_json::{Map, Value};

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a before-authentication hook sees and may change.
///
/// The hook runs after the credential was extracted and before any handler
/// validates it: nothing here has been verified yet. For a JWT, the hook can
/// read the [unverified header](Self::unverified_header) and
/// [claims](Self::unverified_claims) to pick the keys
/// ([`use_keys`](Self::use_keys)) or handlers ([`use_handlers`](Self::use_handlers))
/// that will verify it.
///
/// With `#[before_authentication]` a hook is an `async fn` that borrows it:
///
/// ```
/// use auth_core::{before_authentication, AuthError, AuthResult, BeforeAuth};
///
/// /// Refuses tokens that do not name a key.
/// #[before_authentication]
/// async fn require_kid(cx: &mut BeforeAuth) -> AuthResult<()> {
///     match cx.unverified_header() {
///         Some(header) if !header.contains_key("kid") => Err(AuthError::InvalidCredentials),
///         _ => Ok(()),
///     }
/// }
/// let _ = auth_core::Pipeline::builder().before_authentication(require_kid);
/// ```
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

    /// The JOSE header of a JWT-shaped bearer credential, decoded but **not
    /// verified**: anyone can write anything here. Fit for choosing a key by
    /// `kid`, never for a decision to let a request through.
    ///
    /// `None` when the credential is not a JWT-shaped bearer, is longer than
    /// [`DEFAULT_MAX_TOKEN_LEN`](crate::jwt::DEFAULT_MAX_TOKEN_LEN) (header:
    /// [`DEFAULT_MAX_HEADER_LEN`](crate::jwt::DEFAULT_MAX_HEADER_LEN)), or is
    /// not base64url JSON objects, or repeats a member name in one of them
    /// (which the handlers refuse too).
    ///
    /// ```
    /// use auth_core::{AuthContext, BeforeAuth, Credential};
    ///
    /// // {"alg":"HS256","kid":"2025"} . {"sub":"alice"} . (signature not checked)
    /// let token = "eyJhbGciOiJIUzI1NiIsImtpZCI6IjIwMjUifQ.eyJzdWIiOiJhbGljZSJ9.c2ln";
    /// let cx = BeforeAuth::new(Credential::bearer(token), AuthContext::http());
    /// assert_eq!(cx.unverified_header().unwrap()["kid"], "2025");
    /// assert_eq!(cx.unverified_claims().unwrap()["sub"], "alice");
    /// assert!(BeforeAuth::new(Credential::api_key(token), AuthContext::http()).unverified_claims().is_none());
    /// ```
    pub fn unverified_header(&self) -> Option<Map<String, Value>> {
        let (header, _) = self.unverified_segments()?;
        if header.len() > crate::jwt::DEFAULT_MAX_HEADER_LEN {
            return None;
        }
        decode_segment(header)
    }

    /// The claims of a JWT-shaped bearer credential, decoded but **not
    /// verified**: signature, expiry, issuer and audience are checked later,
    /// by the handler. Fit for routing (which tenant, which issuer), never for
    /// trusting. `None` as for [`unverified_header`](Self::unverified_header).
    pub fn unverified_claims(&self) -> Option<Map<String, Value>> {
        let (_, payload) = self.unverified_segments()?;
        decode_segment(payload)
    }

    /// The header and payload segments of a JWT-shaped bearer of sane length.
    fn unverified_segments(&self) -> Option<(&str, &str)> {
        let Credential::Bearer(token) = &self.credential else {
            return None;
        };
        let token = token.expose_secret();
        if !self.credential.is_jwt_shaped() || token.len() > crate::jwt::DEFAULT_MAX_TOKEN_LEN {
            return None;
        }
        let mut parts = token.split('.');
        Some((parts.next()?, parts.next()?))
    }

    /// A context for `credential`, as the pipeline makes it: for testing
    /// hooks on their own.
    pub fn new(credential: Credential, context: AuthContext) -> Self {
        Self {
            credential,
            context,
            handlers: None,
        }
    }
}

/// One base64url JSON-object segment of a compact JWS, read as the
/// validator reads it: a member name that repeats gives `None`.
fn decode_segment(segment: &str) -> Option<Map<String, Value>> {
    crate::jwt::json::segment(segment).ok()
}

/// What an after-authentication hook sees and may change.
///
/// With `#[after_authentication]` a hook is an `async fn` that borrows it:
///
/// ```
/// use auth_core::{after_authentication, AfterAuth, AuthError, AuthResult};
///
/// /// Only principals with a verified e-mail address get through.
/// #[after_authentication]
/// async fn email_verified(cx: &AfterAuth) -> AuthResult<()> {
///     match cx.principal.extra.get("email_verified") {
///         Some(serde_json::Value::Bool(true)) => Ok(()),
///         _ => Err(AuthError::Forbidden),
///     }
/// }
/// let _ = auth_core::Pipeline::builder().after_authentication(email_verified);
/// ```
pub struct AfterAuth {
    /// The authenticated principal; a hook may enrich it.
    pub principal: Principal,
    /// The credential the principal was authenticated with (verified).
    pub credential: Credential,
    /// The request context.
    pub context: AuthContext,
}

impl AfterAuth {
    /// A context for an authenticated principal, as the pipeline makes it:
    /// for testing hooks on their own.
    pub fn new(principal: Principal, credential: Credential, context: AuthContext) -> Self {
        Self {
            principal,
            credential,
            context,
        }
    }
}

/// A hook run before validation. Any `Err` denies the request.
///
/// `#[before_authentication]` on `async fn name(cx: &mut BeforeAuth) -> AuthResult<()>`
/// makes a unit struct `name` that implements it (see [`BeforeAuth`]). It is
/// also implemented for every `Fn(BeforeAuth) -> impl Future<Output = AuthResult<BeforeAuth>>`,
/// so an `async fn` that takes and gives back the context registers as it is:
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
/// `#[after_authentication]` on `async fn name(cx: &AfterAuth) -> AuthResult<()>`
/// (or `&mut AfterAuth`, to enrich the principal) makes a unit struct `name`
/// that implements it (see [`AfterAuth`]); a closure or an `async fn` that
/// takes and gives back the context works too:
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

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn cx(credential: Credential) -> BeforeAuth {
        BeforeAuth::new(credential, AuthContext::http())
    }

    fn segment(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn unverified_parts_of_a_jwt_shaped_bearer_are_decoded() {
        let token = format!(
            "{}.{}.c2ln",
            segment(r#"{"alg":"RS256","kid":"k1"}"#),
            segment(r#"{"sub":"alice","tenant":"t2"}"#)
        );
        let cx = cx(Credential::bearer(token));
        assert_eq!(cx.unverified_header().expect("header")["kid"], "k1");
        assert_eq!(cx.unverified_claims().expect("claims")["tenant"], "t2");
    }

    #[test]
    fn other_credentials_have_no_unverified_parts() {
        let jwt = format!("{}.{}.c2ln", segment("{}"), segment("{}"));
        for credential in [
            Credential::api_key(jwt.clone()),
            Credential::basic("alice", jwt),
            Credential::bearer("plain-api-key"),
        ] {
            let cx = cx(credential);
            assert!(cx.unverified_header().is_none());
            assert!(cx.unverified_claims().is_none());
        }
    }

    #[test]
    fn malformed_or_oversized_tokens_have_no_unverified_parts() {
        let not_json = format!("{}.{}.c2ln", segment("nope"), segment("[1]"));
        let cx1 = cx(Credential::bearer(not_json));
        assert!(cx1.unverified_header().is_none());
        assert!(
            cx1.unverified_claims().is_none(),
            "claims must be an object"
        );

        let big_header = segment(&format!(r#"{{"kid":"{}"}}"#, "k".repeat(2000)));
        let token = format!("{big_header}.{}.c2ln", segment("{}"));
        let cx2 = cx(Credential::bearer(token));
        assert!(cx2.unverified_header().is_none());
        assert!(cx2.unverified_claims().is_some());

        let huge = format!("{}.{}.c2ln", segment("{}"), "A".repeat(9000));
        assert!(cx(Credential::bearer(huge)).unverified_claims().is_none());
    }
    #[test]
    fn unverified_parts_repeating_a_member_name_are_none() {
        // What a hook reads is what the handler verifies: a repeated name,
        // which the handler refuses, gives a hook nothing to route on.
        let token = format!(
            "{}.{}.c2ln",
            segment(r#"{"alg":"RS256","kid":"k1","kid":"k2"}"#),
            segment(r#"{"sub":"alice","tenant":"t1","tenant":"t2"}"#)
        );
        let cx = cx(Credential::bearer(token));
        assert!(cx.unverified_header().is_none());
        assert!(cx.unverified_claims().is_none());
    }
}
