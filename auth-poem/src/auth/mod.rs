//! [`PoemAuth`]: a pipeline plus the poem-side options.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use auth_core::handlers::live::LiveHandlers;
use auth_core::provider::dynamic::DynProvider;
use auth_core::provider::store::{AdminSeed, StoreProvider};
use auth_core::store::{ManageError, ManageResult};
use auth_core::tokens::TokenService;
use auth_core::{
    AuthContext, AuthError, AuthResult, Channel, Credential, PermissionSet, Pipeline, Principal,
    Requirement, Settings,
};
use poem::http::{HeaderName, Uri};
use poem::{EndpointExt as _, IntoEndpoint as _, Request};

use crate::extract::credential::{self as extract, Sources};

mod answers;
mod builder;
mod hub;

use crate::middleware::AuthLayer;
use crate::openapi::SchemeConfig;
use crate::rejection::{AuthRejection, Responses};
use crate::routes::TokenApi;
use crate::routes::handlers::LiveHandlersApi;
use crate::routes::tokens::TokenAdminApi;
use crate::trace::MaskedTracing;
pub use builder::PoemAuthBuilder;

/// The default header an API key is read from.
pub const DEFAULT_API_KEY_HEADER: &str = "x-api-key";

/// The default header the user-id hint is read from.
pub const DEFAULT_USER_ID_HEADER: &str = "user_id";

/// The default query parameter a WebSocket upgrade carries its token in
/// (browsers cannot set headers on a WebSocket).
pub const DEFAULT_WS_TOKEN_QUERY: &str = "token";

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
/// let auth = PoemAuth::from_pipeline(pipeline)
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
    store_provider: Option<Arc<StoreProvider>>,
    sources: Sources,
    user_id_header: HeaderName,
    responses: Arc<Responses>,
    tokens: Option<Arc<TokenService>>,
    provider: Option<Arc<dyn DynProvider>>,
    permissions: PermissionSet,
    openapi: SchemeConfig,
    live_handlers: Option<Arc<LiveHandlers>>,
    trusted_proxies: Arc<[IpAddr]>,
}

impl fmt::Debug for PoemAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoemAuth")
            .field("pipeline", &self.inner.pipeline)
            .field("api_key_header", &self.inner.sources.api_key_header)
            .field("api_key_cookie", &self.inner.sources.api_key_cookie)
            .field("api_key_query", &self.inner.sources.api_key_query)
            .field("ws_token_query", &self.inner.sources.ws_token_query)
            .field("user_id_header", &self.inner.user_id_header)
            .field(
                "unauthorized_status",
                &self.inner.responses.unauthorized_status,
            )
            .field("forbidden_status", &self.inner.responses.forbidden_status)
            .field("ws_refused_status", &self.inner.responses.ws_refused_status)
            .field("basic_challenge", &self.inner.responses.basic_challenge)
            .field("trusted_proxies", &self.inner.trusted_proxies)
            .finish()
    }
}

impl PoemAuth {
    /// Wraps `pipeline` with the default options: API key in `x-api-key`
    /// (not in a cookie nor in the query), WebSocket token in `?token=`,
    /// user-id hint in `user_id`, 401 and 403 answering
    /// `{"detail": {"error": "Invalid Credentials"}}`, a refused WebSocket
    /// upgrade answered 403, no Basic realm, no trusted proxy, and OpenAPI
    /// schemes as the [`openapi`](crate::openapi) module describes, which
    /// this call publishes.
    pub fn new(pipeline: Pipeline) -> Self {
        match Self::from_pipeline(pipeline).build() {
            Ok(auth) => auth,
            // The defaults are valid options and a bare pipeline has no
            // token service to check against: building cannot fail.
            Err(error) => unreachable!("the default options are valid: {error}"),
        }
    }

    /// Starts the hub: give it what the service has (settings or keys, API
    /// keys, users, roles, lifetimes) and it builds the token service, the
    /// revocation check, the identity provider and the pipeline once, each
    /// wired to the others. See [`PoemAuthBuilder`].
    pub fn builder() -> PoemAuthBuilder {
        PoemAuthBuilder::hub()
    }

    /// The hub, starting from `settings` (`AUTH_*` variables or TOML):
    /// `PoemAuth::builder().settings(settings)`.
    pub fn from_settings(settings: &Settings) -> PoemAuthBuilder {
        Self::builder().settings(settings)
    }

    /// Starts building around a pipeline made by hand with
    /// [`Pipeline::builder`], for handler chains the hub does not cover.
    pub fn from_pipeline(pipeline: Pipeline) -> PoemAuthBuilder {
        PoemAuthBuilder::with_source(hub::Source::Pipeline(pipeline))
    }

    /// Creates the user `admin` with every permission and the superuser
    /// role when the hub's user store has no users, with `password`, else
    /// the password in the environment variable `env_var`, else a generated
    /// one printed once to stderr (see [`StoreProvider::seed_admin`]).
    /// Refused when the hub was given no user store.
    pub async fn seed_admin(
        &self,
        env_var: &str,
        password: Option<String>,
    ) -> ManageResult<AdminSeed> {
        let Some(provider) = &self.inner.store_provider else {
            return Err(ManageError::Misconfigured(
                "seed_admin needs the user store of PoemAuth::builder().users(..)".into(),
            ));
        };
        match password {
            Some(password) => provider.seed_admin_with(env_var, Some(password)).await,
            None => provider.seed_admin(env_var).await,
        }
    }

    /// The store provider the hub made over its user store, when it had one.
    pub fn store_provider(&self) -> Option<&Arc<StoreProvider>> {
        self.inner.store_provider.as_ref()
    }

    /// The pipeline.
    pub fn pipeline(&self) -> &Pipeline {
        &self.inner.pipeline
    }

    /// The header an API key is read from.
    pub fn api_key_header(&self) -> &str {
        self.inner.sources.api_key_header.as_str()
    }

    /// The cookie an API key is read from, if that is enabled.
    pub fn api_key_cookie(&self) -> Option<&str> {
        self.inner.sources.api_key_cookie.as_deref()
    }

    /// The query parameter an API key is read from, if that is enabled.
    pub fn api_key_query(&self) -> Option<&str> {
        self.inner.sources.api_key_query.as_deref()
    }

    /// The query parameter a WebSocket upgrade carries its token in.
    pub fn ws_token_query(&self) -> &str {
        &self.inner.sources.ws_token_query
    }

    /// The header the user-id hint is read from.
    pub fn user_id_header(&self) -> &str {
        self.inner.user_id_header.as_str()
    }

    /// The proxies whose `X-Forwarded-For` header is believed (see
    /// [`PoemAuthBuilder::trusted_proxies`]); none by default.
    pub fn trusted_proxies(&self) -> &[IpAddr] {
        &self.inner.trusted_proxies
    }

    /// Middleware that authenticates every request it wraps.
    ///
    /// See [`AuthLayer`].
    pub fn layer(&self) -> AuthLayer {
        AuthLayer::new(self.clone())
    }

    /// `endpoint`, carrying this auth, for WebSocket routes: their
    /// [`WsAuthenticated`](crate::WsAuthenticated) extractor (and
    /// `#[requires]`) authenticate the upgrade on the WebSocket channel, so
    /// only WebSocket keys open them.
    ///
    /// `Route::new().at("/ws", auth.websocket(get(chat)))`
    pub fn websocket<E: poem::Endpoint>(
        &self,
        endpoint: E,
    ) -> impl poem::Endpoint<Output = E::Output> + use<E> {
        use poem::EndpointExt as _;
        endpoint.data(self.clone())
    }

    /// Reads the credential of a plain HTTP request.
    ///
    /// `Authorization: Bearer <token>` gives [`Credential::Bearer`],
    /// `Authorization: Basic <base64>` gives [`Credential::Basic`], and the
    /// API-key header, cookie or query parameter [`Credential::ApiKey`] (the
    /// cookie and the query parameter only when enabled in the builder). The
    /// first of `Authorization`, header, cookie, query that holds a value
    /// wins. An empty value counts as absent (`Ok(None)`). A value that is
    /// there but cannot be read (an unknown scheme, bad base64, no colon in
    /// Basic, a credential header or query parameter sent twice) is refused
    /// with [`AuthError::InvalidCredentials`].
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
        extract::credential(req, &self.inner.sources, Channel::Http)
    }

    /// Reads the credential of a WebSocket upgrade request.
    ///
    /// As [`credential`](Self::credential), and then, after the cookie and
    /// before the API-key query parameter, the token query parameter
    /// (default `?token=`), which browsers use since they cannot set headers
    /// on a WebSocket. Its value is a [`Credential::Bearer`]: a JWT goes to
    /// the JWT handler, anything else to the API-key handler.
    ///
    /// ```
    /// # let pipeline = auth_core::Pipeline::builder()
    /// #     .handler(auth_core::ApiKeyHandler::builder().ws_key("k").build())
    /// #     .build()?;
    /// let auth = auth_poem::PoemAuth::new(pipeline);
    /// let req = poem::Request::builder().uri_str("/ws?token=k-123").finish();
    /// assert_eq!(auth.websocket_credential(&req)?.map(|c| c.kind()), Some("bearer"));
    /// assert!(auth.credential(&req)?.is_none());
    /// # Ok::<_, auth_core::AuthError>(())
    /// ```
    pub fn websocket_credential(&self, req: &Request) -> AuthResult<Option<Credential>> {
        extract::credential(req, &self.inner.sources, Channel::WebSocket)
    }

    /// The request facts handed to the handlers: the HTTP channel, the
    /// user-id hint, the peer address and the user agent.
    pub fn context(&self, req: &Request) -> AuthContext {
        extract::context(
            req,
            &self.inner.user_id_header,
            &self.inner.trusted_proxies,
            Channel::Http,
        )
    }

    /// The request facts of a WebSocket upgrade: the WebSocket channel, the
    /// user-id hint from the route's `user_id` path parameter
    /// (`/ws/:user_id`, see [`WS_USER_ID_PARAM`](crate::WS_USER_ID_PARAM))
    /// or, when the route has none, from the user-id header; the peer
    /// address and the user agent.
    pub fn websocket_context(&self, req: &Request) -> AuthContext {
        extract::context(
            req,
            &self.inner.user_id_header,
            &self.inner.trusted_proxies,
            Channel::WebSocket,
        )
    }

    /// `uri` fit for a log line: the values of the WebSocket token parameter
    /// and of the API-key query parameter (when enabled) replaced by `***`.
    /// See [`masked_uri`](crate::masked_uri).
    ///
    /// ```
    /// # let pipeline = auth_core::Pipeline::builder()
    /// #     .handler(auth_core::ApiKeyHandler::builder().ws_key("k").build())
    /// #     .build()?;
    /// let auth = auth_poem::PoemAuth::from_pipeline(pipeline).api_key_query("api_key").build()?;
    /// let uri = "/ws?token=t-1&api_key=k-1&room=2".parse().expect("uri");
    /// assert_eq!(auth.masked_uri(&uri), "/ws?token=***&api_key=***&room=2");
    /// # Ok::<_, auth_core::AuthError>(())
    /// ```
    pub fn masked_uri(&self, uri: &Uri) -> String {
        extract::masked_uri(uri, &self.inner.sources.secret_query_names())
    }

    /// Request-logging middleware like poem's `Tracing`, but logging the URI
    /// through [`masked_uri`](Self::masked_uri), and the client address
    /// with the [`trusted_proxies`](Self::trusted_proxies). poem's own
    /// `Tracing` logs the raw URI, token and API key included, and believes
    /// any client's `X-Forwarded-For`: use this one instead.
    pub fn masked_tracing(&self) -> MaskedTracing {
        MaskedTracing::new(
            self.inner
                .sources
                .secret_query_names()
                .into_iter()
                .map(str::to_owned),
        )
        .trusted_proxies(self.inner.trusted_proxies.iter().copied())
    }

    /// Authenticates a request: reads its credential and runs the pipeline.
    ///
    /// Misconfiguration is logged as an error and an unavailable backend as
    /// a warning; the refusal sent to the client says nothing of either.
    pub async fn authenticate(&self, req: &Request) -> Result<Principal, AuthRejection> {
        self.authenticate_on(req, Channel::Http).await
    }

    /// Authenticates a WebSocket upgrade request on the WebSocket channel
    /// (see [`websocket_credential`](Self::websocket_credential) and
    /// [`websocket_context`](Self::websocket_context)). A refusal for want
    /// of a good credential is answered with the
    /// [`ws_refused_status`](PoemAuthBuilder::ws_refused_status) (default
    /// 403) and the configured unauthorized body.
    ///
    /// [`WsAuthenticated`](crate::WsAuthenticated) calls this before the
    /// upgrade.
    pub async fn authenticate_websocket(&self, req: &Request) -> Result<Principal, AuthRejection> {
        self.authenticate_on(req, Channel::WebSocket).await
    }

    async fn authenticate_on(
        &self,
        req: &Request,
        channel: Channel,
    ) -> Result<Principal, AuthRejection> {
        // A value that cannot be read was still presented: it is refused,
        // not missing.
        let credential = extract::credential(req, &self.inner.sources, channel)
            .map_err(|e| self.reject(e, true, req, channel))?;
        let presented = credential.is_some();
        let context = extract::context(
            req,
            &self.inner.user_id_header,
            &self.inner.trusted_proxies,
            channel,
        );
        let principal = self
            .inner
            .pipeline
            .authenticate(credential, context)
            .await
            .map_err(|e| self.reject(e, presented, req, channel))?;
        crate::request_log::record(req, &principal);
        Ok(principal)
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

    /// The token service, when one is configured.
    pub fn token_service(&self) -> Option<&Arc<TokenService>> {
        self.inner.tokens.as_ref()
    }

    /// The identity provider, when one is configured.
    pub fn provider(&self) -> Option<&Arc<dyn DynProvider>> {
        self.inner.provider.as_ref()
    }

    /// The token routes as a poem-openapi API, to include in your
    /// `OpenApiService` so the spec documents them.
    pub fn token_api(&self) -> TokenApi {
        TokenApi::new(
            self.clone(),
            self.inner.tokens.clone(),
            self.inner.permissions.clone(),
        )
    }

    /// The token routes, ready to mount under any prefix:
    /// `Route::new().nest("/auth", auth.routes())`.
    ///
    /// | route | |
    /// |---|---|
    /// | `POST /token` | log in (JSON or OAuth2 password form) or refresh |
    /// | `POST /revoke` | revoke an access or refresh token (RFC 7009) |
    /// | `POST /logout` | end the caller's session |
    /// | `GET /me` | the caller's principal |
    /// | `GET /available-permissions` | every resource and its permissions |
    /// | `GET /.well-known/jwks.json` | the public signing keys |
    /// | `/tokens...` | my tokens; the token registry (administrators), see [`routes::tokens`](crate::routes::tokens) |
    /// | `/auth_handler/settings...` | handler settings, see [`routes::handlers`](crate::routes::handlers) |
    /// | `/users`, `/register`, `/login` | user management on the identity provider (see [`users`](crate::routes::users)) |
    /// | `GET /.well-known/openid-configuration` | OIDC discovery metadata, when the issuer is a URL |
    ///
    /// Without a token service ([`PoemAuthBuilder::token_service`]) the
    /// token, revoke and logout routes answer 501.
    pub fn routes(&self) -> poem::Route {
        let api = (
            self.token_api(),
            self.token_admin_api(),
            self.live_handlers_api(),
            self.users_api(),
        );
        let service = poem_openapi::OpenApiService::new(api, "auth", env!("CARGO_PKG_VERSION"));
        poem::Route::new().nest("/", service.into_endpoint().data(self.clone()))
    }

    /// The token-registry routes (`/tokens...`, see
    /// [`routes::tokens`](crate::routes::tokens)) as a poem-openapi API, to
    /// include in your `OpenApiService`; [`routes`](Self::routes) serves them.
    pub fn token_admin_api(&self) -> TokenAdminApi {
        TokenAdminApi::new(self.inner.tokens.clone())
    }

    /// The handler-settings routes (`/auth_handler/settings...`, see
    /// [`routes::handlers`](crate::routes::handlers)) as a poem-openapi API.
    pub fn live_handlers_api(&self) -> LiveHandlersApi {
        LiveHandlersApi::new(self.inner.live_handlers.clone())
    }

    /// The handler-settings routes on their own, to mount at the root so
    /// they answer at `/auth_handler/settings` and
    /// `/auth_handler/settings/:id`: `Route::new().nest("/", auth.live_handlers_routes())`.
    /// [`routes`](Self::routes) serves them too, under its own prefix.
    pub fn live_handlers_routes(&self) -> poem::Route {
        let service = poem_openapi::OpenApiService::new(
            self.live_handlers_api(),
            "auth handler settings",
            env!("CARGO_PKG_VERSION"),
        );
        poem::Route::new().nest("/", service.into_endpoint().data(self.clone()))
    }

    /// A refusal on an HTTP route that has no request URI worth logging.
    pub(crate) fn refuse(&self, error: AuthError, presented: bool) -> AuthRejection {
        log_refusal(&error, None);
        AuthRejection::new(error, presented, self.inner.responses.clone())
    }

    /// The client of `req` as the login throttle keys on it: its
    /// [`client_addr`](crate::client_addr) with the trusted proxies.
    pub(crate) fn client_label(&self, req: &Request) -> String {
        crate::client::client_label(req, &self.inner.trusted_proxies)
    }

    pub(crate) fn scheme_config(&self) -> &SchemeConfig {
        &self.inner.openapi
    }

    fn reject(
        &self,
        error: AuthError,
        presented: bool,
        req: &Request,
        channel: Channel,
    ) -> AuthRejection {
        log_refusal(&error, Some(&self.masked_uri(req.original_uri())));
        AuthRejection::new(error, presented, self.inner.responses.clone()).on_channel(channel)
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
        Err(AuthRejection::forbidden(
            &principal.id,
            requirement,
            responses,
        ))
    }
}

/// Logs a refusal at the level its cause deserves. `uri` must already be
/// masked (see [`PoemAuth::masked_uri`]).
pub(crate) fn log_refusal(error: &AuthError, uri: Option<&str>) {
    let uri = uri.unwrap_or("-");
    match error {
        AuthError::Misconfigured(detail) => {
            tracing::error!(%detail, uri, "authentication is misconfigured; answering 500");
        }
        AuthError::Unavailable(detail) => {
            tracing::warn!(%detail, uri, "authentication backend unavailable; answering 503");
        }
        other => tracing::debug!(outcome = %other, uri, "request refused"),
    }
}

#[cfg(test)]
mod tests;
