//! The ordered pipeline: before-hooks, handlers (first answer wins), after-hooks.

use std::sync::Arc;

use crate::context::AuthContext;
use crate::credential::Credential;
use crate::error::{AuthError, AuthResult};
use crate::handlers::AuthHandler;
use crate::hooks::{AfterAuth, AfterHook, BeforeAuth, BeforeHook};
use crate::principal::{Principal, Requirement, RoleMap};

/// Runs a credential through hooks and handlers, failing closed.
///
/// Built once (see [`Pipeline::builder`]) and shared: it is cheap to clone
/// and holds no lock.
///
/// ```
/// # tokio_test_block_on(async {
/// use auth_core::{ApiKeyHandler, AuthContext, Credential, Pipeline};
///
/// let pipeline = Pipeline::builder()
///     .handler(ApiKeyHandler::builder().http_key("k-123456").build())
///     .build()
///     .unwrap();
/// let p = pipeline.authenticate(Some(Credential::bearer("k-123456")), AuthContext::http()).await.unwrap();
/// assert_eq!(p.id, "user");
/// assert!(pipeline.authenticate(Some(Credential::bearer("nope")), AuthContext::http()).await.is_err());
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

struct Inner {
    handlers: Vec<Arc<dyn AuthHandler>>,
    before: Vec<Box<dyn BeforeHook>>,
    after: Vec<Box<dyn AfterHook>>,
    roles: RoleMap,
    anonymous: Option<Box<AnonymousFn>>,
}

/// Decides whether a request that presented no credential may go on, and as whom.
type AnonymousFn = dyn Fn(&AuthContext) -> Option<Principal> + Send + Sync;

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field(
                "handlers",
                &self
                    .inner
                    .handlers
                    .iter()
                    .map(|h| h.name())
                    .collect::<Vec<_>>(),
            )
            .field("before_hooks", &self.inner.before.len())
            .field("after_hooks", &self.inner.after.len())
            .field("roles", &self.inner.roles)
            .field("anonymous", &self.inner.anonymous.is_some())
            .finish()
    }
}

/// Builds a [`Pipeline`].
#[derive(Default)]
#[must_use]
pub struct PipelineBuilder {
    handlers: Vec<Arc<dyn AuthHandler>>,
    before: Vec<Box<dyn BeforeHook>>,
    after: Vec<Box<dyn AfterHook>>,
    roles: RoleMap,
    anonymous: Option<Box<AnonymousFn>>,
}

impl PipelineBuilder {
    /// Adds a handler; handlers are tried in the order they were added.
    pub fn handler(mut self, handler: impl AuthHandler) -> Self {
        self.handlers.push(Arc::new(handler));
        self
    }

    /// Adds a shared handler.
    pub fn handler_arc(mut self, handler: Arc<dyn AuthHandler>) -> Self {
        self.handlers.push(handler);
        self
    }

    /// Adds a hook that runs before validation, in the order added.
    pub fn before_authentication(mut self, hook: impl BeforeHook) -> Self {
        self.before.push(Box::new(hook));
        self
    }

    /// Adds a hook that runs after validation, in the order added.
    pub fn after_authentication(mut self, hook: impl AfterHook) -> Self {
        self.after.push(Box::new(hook));
        self
    }

    /// Sets the roles that principals' role names expand to.
    pub fn roles(mut self, roles: RoleMap) -> Self {
        self.roles = roles;
        self
    }

    /// Lets requests that present no credential through when `decide`
    /// answers a principal for their context (an open channel), instead of
    /// refusing them with [`AuthError::MissingCredentials`].
    ///
    /// Only the absence of a credential reaches `decide`: a credential that
    /// is presented and refused is refused, open channel or not. The
    /// principal's role names are expanded; after-hooks do not run, as
    /// there is no credential to show them. Give the principal
    /// [`AuthMethod::Anonymous`](crate::AuthMethod::Anonymous) so that logs
    /// and handlers can tell.
    ///
    /// ```
    /// use auth_core::{AuthContext, AuthMethod, ApiKeyHandler, Channel, PermissionSet, Pipeline, Principal};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// // WebSocket is locked by a key; plain HTTP runs open.
    /// let keys = ApiKeyHandler::builder().ws_key("ws-key").build();
    /// let open_http = !keys.locks(Channel::Http);
    /// let pipeline = Pipeline::builder()
    ///     .handler(keys)
    ///     .anonymous(move |cx: &AuthContext| {
    ///         (open_http && cx.channel == Channel::Http)
    ///             .then(|| Principal::new("user", AuthMethod::Anonymous).with_permissions(PermissionSet::full()))
    ///     })
    ///     .build()?;
    /// assert!(pipeline.authenticate(None, AuthContext::http()).await.is_ok());
    /// assert!(pipeline.authenticate(None, AuthContext::websocket()).await.is_err());
    /// # Ok::<_, auth_core::AuthError>(()) }).unwrap();
    /// ```
    pub fn anonymous(
        mut self,
        decide: impl Fn(&AuthContext) -> Option<Principal> + Send + Sync + 'static,
    ) -> Self {
        self.anonymous = Some(Box::new(decide));
        self
    }

    /// Builds the pipeline; a pipeline without handlers would deny everything
    /// and is refused as a configuration error.
    pub fn build(self) -> AuthResult<Pipeline> {
        if self.handlers.is_empty() {
            return Err(AuthError::Misconfigured(
                "the auth pipeline has no handler: add at least one".into(),
            ));
        }
        Ok(Pipeline {
            inner: Arc::new(Inner {
                handlers: self.handlers,
                before: self.before,
                after: self.after,
                roles: self.roles,
                anonymous: self.anonymous,
            }),
        })
    }
}

impl Pipeline {
    /// Starts building a pipeline.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder::default()
    }

    /// The role table.
    pub fn roles(&self) -> &RoleMap {
        &self.inner.roles
    }

    /// Names of the handlers, in order.
    pub fn handler_names(&self) -> impl Iterator<Item = &str> {
        self.inner.handlers.iter().map(|h| h.name())
    }

    /// Each handler that verifies JWTs with keys of its own, by name, with
    /// what it verifies them with (see [`AuthHandler::jwt_verification`]).
    pub fn jwt_verifications(
        &self,
    ) -> impl Iterator<Item = (&str, crate::handlers::JwtVerification<'_>)> {
        self.inner
            .handlers
            .iter()
            .filter_map(|h| Some((h.name(), h.jwt_verification()?)))
    }

    /// Authenticates a credential.
    ///
    /// No credential gives [`AuthError::MissingCredentials`]; a credential no
    /// handler recognizes gives [`AuthError::InvalidCredentials`]; any error
    /// from a hook or handler is returned as it is. Every outcome other than
    /// `Ok` denies.
    pub async fn authenticate(
        &self,
        credential: Option<Credential>,
        context: AuthContext,
    ) -> AuthResult<Principal> {
        let Some(credential) = credential else {
            let open = self.inner.anonymous.as_ref().and_then(|f| f(&context));
            return match open {
                Some(mut principal) => {
                    self.inner.roles.expand(&mut principal);
                    Ok(principal)
                }
                None => Err(AuthError::MissingCredentials),
            };
        };
        // Without hooks, nothing is wrapped and moved around for them: this
        // is the path of every request of most services.
        let (credential, context, handlers) = if self.inner.before.is_empty() {
            (credential, context, None)
        } else {
            let mut before = BeforeAuth::new(credential, context);
            for hook in &self.inner.before {
                before = hook.call(before).await.inspect_err(|e| {
                    tracing::debug!(error = %e, "before-authentication hook denied the request");
                })?;
            }
            (before.credential, before.context, before.handlers)
        };
        let handlers = handlers.as_deref().unwrap_or(&self.inner.handlers);

        let mut found = None;
        for handler in handlers {
            let answer = match handler.authorize_now(&credential, &context) {
                Some(answer) => answer,
                None => handler.authorize(&credential, &context).await,
            };
            match answer {
                Ok(Some(principal)) => {
                    found = Some(principal);
                    break;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!(handler = handler.name(), error = %e, "handler denied the credential");
                    return Err(e);
                }
            }
        }
        let Some(mut principal) = found else {
            tracing::debug!(
                kind = credential.kind(),
                "no handler recognized the credential"
            );
            return Err(AuthError::InvalidCredentials);
        };
        self.inner.roles.expand(&mut principal);
        if self.inner.after.is_empty() {
            return Ok(principal);
        }

        let mut after = AfterAuth::new(principal, credential, context);
        for hook in &self.inner.after {
            after = hook.call(after).await.inspect_err(|e| {
                tracing::debug!(error = %e, "after-authentication hook denied the request");
            })?;
        }
        Ok(after.principal)
    }

    /// Authenticates, then checks a requirement: [`AuthError::Forbidden`] when
    /// the principal does not satisfy it.
    pub async fn authorize(
        &self,
        credential: Option<Credential>,
        context: AuthContext,
        requirement: &Requirement,
    ) -> AuthResult<Principal> {
        let principal = self.authenticate(credential, context).await?;
        if principal.satisfies(requirement) {
            Ok(principal)
        } else {
            tracing::debug!(principal = %principal.id, %requirement, "permission denied");
            Err(AuthError::Forbidden)
        }
    }
}
