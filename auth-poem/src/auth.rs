//! [`PoemAuth`]: a pipeline plus the poem-side options.

use std::fmt;
use std::sync::Arc;

use auth_core::{AuthError, AuthResult, Credential, Pipeline, Principal, Requirement};
use poem::Request;
use poem::http::header::AUTHORIZATION;
use poem::http::{HeaderName, StatusCode};

use crate::extract;
use crate::middleware::AuthLayer;
use crate::openapi::{self, SchemeConfig, SchemeNames};
use crate::rejection::{AuthRejection, Responses, default_body};

/// The default header an API key is read from.
pub const DEFAULT_API_KEY_HEADER: &str = "x-api-key";

/// The default header the user-id hint is read from.
pub const DEFAULT_USER_ID_HEADER: &str = "user_id";

/// An [`auth_core::Pipeline`] set up for poem: where credentials are read
/// from and what refusals look like.
///
/// Cheap to clone (an [`Arc`] inside). Use it as middleware with
/// [`layer`](Self::layer), or attach it with `.data(auth)` so the
/// [`Authenticated`](crate::Authenticated) extractor can authenticate by
/// itself.
///
/// ```
/// use auth_core::{ApiKeyHandler, Pipeline};
/// use auth_poem::PoemAuth;
///
/// let pipeline = Pipeline::builder()
///     .handler(ApiKeyHandler::builder().http_key("k-123").build())
///     .build()?;
/// let auth = PoemAuth::builder(pipeline)
///     .api_key_header("x-service-key")
///     .unauthorized_body(serde_json::json!({"error": "who are you?"}))
///     .build()?;
/// assert_eq!(auth.api_key_header(), "x-service-key");
/// # Ok::<_, auth_core::AuthError>(())
/// ```
#[derive(Clone)]
pub struct PoemAuth {
    inner: Arc<Inner>,
}

struct Inner {
    pipeline: Pipeline,
    api_key_header: HeaderName,
    user_id_header: HeaderName,
    responses: Arc<Responses>,
    openapi: SchemeConfig,
}

impl fmt::Debug for PoemAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoemAuth")
            .field("pipeline", &self.inner.pipeline)
            .field("api_key_header", &self.inner.api_key_header)
            .field("user_id_header", &self.inner.user_id_header)
            .field(
                "unauthorized_status",
                &self.inner.responses.unauthorized_status,
            )
            .field("forbidden_status", &self.inner.responses.forbidden_status)
            .finish()
    }
}

impl PoemAuth {
    /// Wraps `pipeline` with the default options: API key in `x-api-key`,
    /// user-id hint in `user_id`, 401 and 403 answering
    /// `{"detail": {"error": "Invalid Credentials"}}`, OpenAPI schemes as
    /// the [`openapi`](crate::openapi) module describes, which this call
    /// publishes.
    pub fn new(pipeline: Pipeline) -> Self {
        let api_key_header = HeaderName::from_static(DEFAULT_API_KEY_HEADER);
        let openapi = openapi::Options::default().config(&pipeline, &api_key_header);
        openapi::publish(openapi);
        Self {
            inner: Arc::new(Inner {
                pipeline,
                api_key_header,
                user_id_header: HeaderName::from_static(DEFAULT_USER_ID_HEADER),
                responses: Arc::new(Responses::default()),
                openapi,
            }),
        }
    }

    /// Starts building with options other than the defaults.
    pub fn builder(pipeline: Pipeline) -> PoemAuthBuilder {
        PoemAuthBuilder {
            pipeline,
            api_key_header: DEFAULT_API_KEY_HEADER.to_owned(),
            user_id_header: DEFAULT_USER_ID_HEADER.to_owned(),
            unauthorized_status: StatusCode::UNAUTHORIZED,
            unauthorized_body: default_body(),
            forbidden_status: StatusCode::FORBIDDEN,
            forbidden_body: default_body(),
            openapi: openapi::Options::default(),
        }
    }

    /// The pipeline.
    pub fn pipeline(&self) -> &Pipeline {
        &self.inner.pipeline
    }

    /// The header an API key is read from.
    pub fn api_key_header(&self) -> &str {
        self.inner.api_key_header.as_str()
    }

    /// The header the user-id hint is read from.
    pub fn user_id_header(&self) -> &str {
        self.inner.user_id_header.as_str()
    }

    /// Middleware that authenticates every request it wraps.
    ///
    /// See [`AuthLayer`].
    pub fn layer(&self) -> AuthLayer {
        AuthLayer::new(self.clone())
    }

    /// Reads the credential of a request.
    ///
    /// `Authorization: Bearer <token>` gives [`Credential::Bearer`],
    /// `Authorization: Basic <base64>` gives [`Credential::Basic`], and the
    /// API-key header [`Credential::ApiKey`]; `Authorization` wins when both
    /// are there. An empty value counts as absent (`Ok(None)`). A value that
    /// is there but cannot be read (an unknown scheme, bad base64, no colon
    /// in Basic, a credential header sent twice) is refused with
    /// [`AuthError::InvalidCredentials`].
    ///
    /// ```
    /// # let pipeline = auth_core::Pipeline::builder()
    /// #     .handler(auth_core::ApiKeyHandler::builder().http_key("k").build())
    /// #     .build()?;
    /// let auth = auth_poem::PoemAuth::new(pipeline);
    /// let req = poem::Request::builder().header("x-api-key", "k-123").finish();
    /// assert_eq!(auth.credential(&req)?.map(|c| c.kind()), Some("api_key"));
    /// let req = poem::Request::builder().header("authorization", "Basic ???").finish();
    /// assert!(auth.credential(&req).is_err());
    /// # Ok::<_, auth_core::AuthError>(())
    /// ```
    pub fn credential(&self, req: &Request) -> AuthResult<Option<Credential>> {
        extract::credential(req, &self.inner.api_key_header)
    }

    /// The request facts handed to the handlers: the HTTP channel, the
    /// user-id hint, the peer address and the user agent.
    pub fn context(&self, req: &Request) -> auth_core::AuthContext {
        extract::context(req, &self.inner.user_id_header)
    }

    /// Authenticates a request: reads its credential and runs the pipeline.
    ///
    /// Misconfiguration is logged as an error and an unavailable backend as
    /// a warning; the refusal sent to the client says nothing of either.
    pub async fn authenticate(&self, req: &Request) -> Result<Principal, AuthRejection> {
        // A value that cannot be read was still presented: it is refused,
        // not missing.
        let credential = self.credential(req).map_err(|e| self.reject(e, true))?;
        let presented = credential.is_some();
        let context = self.context(req);
        self.inner
            .pipeline
            .authenticate(credential, context)
            .await
            .map_err(|e| self.reject(e, presented))
    }

    /// Checks a requirement on an authenticated principal: a refusal with
    /// the configured 403 answer when it is not met.
    ///
    /// ```
    /// use auth_core::{AuthMethod, AuthPermission as P, AuthResource as R, PermissionSet, Principal, Requirement};
    /// # let pipeline = auth_core::Pipeline::builder()
    /// #     .handler(auth_core::ApiKeyHandler::builder().http_key("k").build())
    /// #     .build()?;
    /// let auth = auth_poem::PoemAuth::new(pipeline);
    /// let user = Principal::new("u", AuthMethod::Jwt).with_permissions(PermissionSet::base());
    /// assert!(auth.check(&user, &Requirement::permission(R::Conversation, P::Read)).is_ok());
    /// assert!(auth.check(&user, &Requirement::permission(R::Users, P::Read)).is_err());
    /// # Ok::<_, auth_core::AuthError>(())
    /// ```
    pub fn check(
        &self,
        principal: &Principal,
        requirement: &Requirement,
    ) -> Result<(), AuthRejection> {
        check(principal, requirement, &self.inner.responses)
    }

    pub(crate) fn responses(&self) -> &Arc<Responses> {
        &self.inner.responses
    }

    pub(crate) fn scheme_config(&self) -> SchemeConfig {
        self.inner.openapi
    }

    fn reject(&self, error: AuthError, presented: bool) -> AuthRejection {
        log_refusal(&error);
        AuthRejection::new(error, presented, self.inner.responses.clone())
    }
}

/// Checks `requirement`, refusing with `responses`' 403 answer.
pub(crate) fn check(
    principal: &Principal,
    requirement: &Requirement,
    responses: &Arc<Responses>,
) -> Result<(), AuthRejection> {
    if principal.satisfies(requirement) {
        Ok(())
    } else {
        tracing::debug!(principal = %principal.id, %requirement, "permission denied");
        Err(AuthRejection::new(
            AuthError::Forbidden,
            true,
            responses.clone(),
        ))
    }
}

/// Logs a refusal at the level its cause deserves.
pub(crate) fn log_refusal(error: &AuthError) {
    match error {
        AuthError::Misconfigured(detail) => {
            tracing::error!(%detail, "authentication is misconfigured; answering 500");
        }
        AuthError::Unavailable(detail) => {
            tracing::warn!(%detail, "authentication backend unavailable; answering 503");
        }
        other => tracing::debug!(outcome = %other, "request refused"),
    }
}

/// Builds a [`PoemAuth`] with options other than the defaults.
#[must_use]
pub struct PoemAuthBuilder {
    pipeline: Pipeline,
    api_key_header: String,
    user_id_header: String,
    unauthorized_status: StatusCode,
    unauthorized_body: serde_json::Value,
    forbidden_status: StatusCode,
    forbidden_body: serde_json::Value,
    openapi: openapi::Options,
}

impl fmt::Debug for PoemAuthBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoemAuthBuilder")
            .field("pipeline", &self.pipeline)
            .field("api_key_header", &self.api_key_header)
            .field("user_id_header", &self.user_id_header)
            .field("unauthorized_status", &self.unauthorized_status)
            .field("forbidden_status", &self.forbidden_status)
            .field("openapi", &self.openapi)
            .finish_non_exhaustive()
    }
}

impl PoemAuthBuilder {
    /// The header an API key is read from (default `x-api-key`; names are
    /// case-insensitive).
    pub fn api_key_header(mut self, name: impl Into<String>) -> Self {
        self.api_key_header = name.into();
        self
    }

    /// The header the user-id hint is read from (default `user_id`).
    pub fn user_id_header(mut self, name: impl Into<String>) -> Self {
        self.user_id_header = name.into();
        self
    }

    /// The status of "who are you?" refusals (default 401); a 4xx status.
    pub fn unauthorized_status(mut self, status: StatusCode) -> Self {
        self.unauthorized_status = status;
        self
    }

    /// The JSON body of "who are you?" refusals.
    pub fn unauthorized_body(mut self, body: serde_json::Value) -> Self {
        self.unauthorized_body = body;
        self
    }

    /// The status of "you may not" refusals (default 403); a 4xx status.
    pub fn forbidden_status(mut self, status: StatusCode) -> Self {
        self.forbidden_status = status;
        self
    }

    /// The JSON body of "you may not" refusals.
    pub fn forbidden_body(mut self, body: serde_json::Value) -> Self {
        self.forbidden_body = body;
        self
    }

    /// The token URL of the OAuth2 password flow in the OpenAPI document,
    /// also its refresh URL (default `/auth/token`): where Swagger UI's
    /// *Authorize* dialog posts the username and password.
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.openapi.token_url = url.into();
        self
    }

    /// Whether the OpenAPI document lists HTTP Basic among the schemes.
    ///
    /// By default it does when the pipeline has a handler named `basic`
    /// (the name of [`BasicHandler`](auth_core::BasicHandler)); say so
    /// here for a handler of your own that takes Basic credentials.
    pub fn basic(mut self, documented: bool) -> Self {
        self.openapi.basic = Some(documented);
        self
    }

    /// The names of the OpenAPI security schemes (default `bearer`,
    /// `api_key`, `basic` and `oauth2`).
    pub fn scheme_names(mut self, names: SchemeNames) -> Self {
        self.openapi.names = names;
        self
    }

    /// Checks the options and builds, then publishes the OpenAPI schemes
    /// (see the [`openapi`](crate::openapi) module).
    ///
    /// A header name that is not a valid HTTP header name, the API-key
    /// header set to `authorization`, a status outside 4xx, a scheme name
    /// that is empty, used twice or not an OpenAPI component name, or a
    /// blank token URL is refused with [`AuthError::Misconfigured`].
    pub fn build(self) -> AuthResult<PoemAuth> {
        let header = |what: &str, name: &str| {
            HeaderName::try_from(name.trim()).map_err(|_| {
                AuthError::Misconfigured(format!("{what} `{name}` is not a valid header name"))
            })
        };
        let api_key_header = header("the API-key header", &self.api_key_header)?;
        if api_key_header == AUTHORIZATION {
            return Err(AuthError::Misconfigured(
                "the API-key header cannot be `authorization`: that header carries Bearer and \
                 Basic credentials, and bearer API keys are read from it already"
                    .into(),
            ));
        }
        let user_id_header = header("the user-id header", &self.user_id_header)?;
        for (what, status) in [
            ("unauthorized", self.unauthorized_status),
            ("forbidden", self.forbidden_status),
        ] {
            if !status.is_client_error() {
                return Err(AuthError::Misconfigured(format!(
                    "the {what} status must be a 4xx status, not {status}"
                )));
            }
        }
        let openapi = self.openapi.resolve(&self.pipeline, &api_key_header)?;
        openapi::publish(openapi);
        Ok(PoemAuth {
            inner: Arc::new(Inner {
                pipeline: self.pipeline,
                api_key_header,
                user_id_header,
                responses: Arc::new(Responses {
                    unauthorized_status: self.unauthorized_status,
                    unauthorized_body: self.unauthorized_body.to_string(),
                    forbidden_status: self.forbidden_status,
                    forbidden_body: self.forbidden_body.to_string(),
                }),
                openapi,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use auth_core::ApiKeyHandler;

    use super::*;

    fn pipeline() -> Pipeline {
        Pipeline::builder()
            .handler(ApiKeyHandler::builder().http_key("k-1").build())
            .build()
            .expect("pipeline")
    }

    #[test]
    fn builder_refuses_bad_header_names_and_non_4xx_statuses() {
        for bad in [
            PoemAuth::builder(pipeline()).api_key_header("x api key"),
            PoemAuth::builder(pipeline()).api_key_header(""),
            PoemAuth::builder(pipeline()).api_key_header("Authorization"),
            PoemAuth::builder(pipeline()).user_id_header("user:id"),
            PoemAuth::builder(pipeline()).unauthorized_status(StatusCode::OK),
            PoemAuth::builder(pipeline()).forbidden_status(StatusCode::INTERNAL_SERVER_ERROR),
        ] {
            assert!(matches!(bad.build(), Err(AuthError::Misconfigured(_))));
        }
    }

    #[test]
    fn header_names_are_normalized_to_lower_case() {
        let auth = PoemAuth::builder(pipeline())
            .api_key_header("X-Service-Key")
            .build()
            .expect("valid");
        assert_eq!(auth.api_key_header(), "x-service-key");
        assert_eq!(auth.user_id_header(), DEFAULT_USER_ID_HEADER);
    }

    #[tokio::test]
    async fn malformed_credential_is_refused_as_presented() {
        let auth = PoemAuth::new(pipeline());
        let req = Request::builder()
            .header(AUTHORIZATION, "Basic %%%")
            .finish();
        let refusal = auth.authenticate(&req).await.expect_err("refused");
        assert_eq!(refusal.error(), &AuthError::InvalidCredentials);
        assert!(refusal.credential_presented());
    }

    #[tokio::test]
    async fn blank_credential_is_missing_not_presented() {
        let auth = PoemAuth::new(pipeline());
        for authorization in [" ", "Bearer ", "Basic"] {
            let req = Request::builder()
                .header(AUTHORIZATION, authorization)
                .header(DEFAULT_API_KEY_HEADER, "")
                .finish();
            let refusal = auth.authenticate(&req).await.expect_err("refused");
            assert_eq!(refusal.error(), &AuthError::MissingCredentials);
            assert!(!refusal.credential_presented(), "{authorization:?}");
        }
    }

    #[tokio::test]
    async fn configured_key_header_opens_and_default_one_is_ignored() {
        let auth = PoemAuth::builder(pipeline())
            .api_key_header("x-service-key")
            .build()
            .expect("valid");
        let req = Request::builder().header("x-service-key", "k-1").finish();
        assert_eq!(auth.authenticate(&req).await.expect("accepted").id, "user");
        let req = Request::builder()
            .header(DEFAULT_API_KEY_HEADER, "k-1")
            .finish();
        assert_eq!(
            auth.authenticate(&req).await.expect_err("refused").error(),
            &AuthError::MissingCredentials
        );
    }

    #[test]
    fn debug_shows_no_body_or_secret() {
        let dbg = format!("{:?}", PoemAuth::new(pipeline()));
        assert!(dbg.contains("x-api-key"), "{dbg}");
        assert!(!dbg.contains("k-1"), "{dbg}");
    }
}
