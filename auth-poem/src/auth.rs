//! [`PoemAuth`]: a pipeline plus the poem-side options.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use auth_core::dyn_provider::DynProvider;
use auth_core::handler_settings::HandlerSettings;
use auth_core::session::TokenService;
use auth_core::{
    AuthContext, AuthError, AuthResult, Channel, Credential, PermissionSet, Pipeline, Principal,
    Requirement,
};
use poem::Request;
use poem::http::header::AUTHORIZATION;
use poem::http::{HeaderName, HeaderValue, StatusCode, Uri};

use crate::extract::{self, Sources};
use crate::manage_handlers::HandlerSettingsApi;
use crate::manage_tokens::TokenAdminApi;
use crate::middleware::AuthLayer;
use crate::openapi::{self, SchemeConfig, SchemeNames};
use crate::rejection::{AuthRejection, Responses, default_body};
use crate::routes::TokenApi;
use crate::trace::MaskedTracing;

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
    sources: Sources,
    user_id_header: HeaderName,
    responses: Arc<Responses>,
    tokens: Option<Arc<TokenService>>,
    provider: Option<Arc<dyn DynProvider>>,
    permissions: PermissionSet,
    openapi: SchemeConfig,
    handler_settings: Option<Arc<HandlerSettings>>,
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
        let api_key_header = HeaderName::from_static(DEFAULT_API_KEY_HEADER);
        let openapi = openapi::Options::default().config(&pipeline, &api_key_header);
        openapi::publish(openapi);
        Self {
            inner: Arc::new(Inner {
                pipeline,
                sources: Sources {
                    api_key_header,
                    api_key_cookie: None,
                    api_key_query: None,
                    ws_token_query: DEFAULT_WS_TOKEN_QUERY.to_owned(),
                },
                user_id_header: HeaderName::from_static(DEFAULT_USER_ID_HEADER),
                responses: Arc::new(Responses::default()),
                tokens: None,
                provider: None,
                permissions: PermissionSet::full(),
                openapi,
                handler_settings: None,
                trusted_proxies: Arc::new([]),
            }),
        }
    }

    /// Starts building with options other than the defaults.
    pub fn builder(pipeline: Pipeline) -> PoemAuthBuilder {
        PoemAuthBuilder {
            pipeline,
            api_key_header: DEFAULT_API_KEY_HEADER.to_owned(),
            api_key_cookie: None,
            api_key_query: None,
            ws_token_query: DEFAULT_WS_TOKEN_QUERY.to_owned(),
            user_id_header: DEFAULT_USER_ID_HEADER.to_owned(),
            unauthorized_status: StatusCode::UNAUTHORIZED,
            unauthorized_body: default_body(),
            forbidden_status: StatusCode::FORBIDDEN,
            forbidden_body: default_body(),
            tokens: None,
            handler_settings: None,
            provider: None,
            permissions: PermissionSet::full(),
            ws_refused_status: StatusCode::FORBIDDEN,
            basic_realm: None,
            openapi: openapi::Options::default(),
            trusted_proxies: Vec::new(),
        }
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
    /// let auth = auth_poem::PoemAuth::builder(pipeline).api_key_query("api_key").build()?;
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
    /// | `/tokens...` | my tokens; the token registry (administrators), see [`manage_tokens`](crate::manage_tokens) |
    /// | `/auth_handler/settings...` | handler settings, see [`manage_handlers`](crate::manage_handlers) |
    /// | `/users`, `/register`, `/login` | user management on the identity provider (see [`users`](crate::users)) |
    /// | `GET /.well-known/openid-configuration` | OIDC discovery metadata, when the issuer is a URL |
    ///
    /// Without a token service ([`PoemAuthBuilder::token_service`]) the
    /// token, revoke and logout routes answer 501.
    pub fn routes(&self) -> poem::Route {
        let api = (
            self.token_api(),
            self.token_admin_api(),
            self.handler_settings_api(),
            self.users_api(),
        );
        let service = poem_openapi::OpenApiService::new(api, "auth", env!("CARGO_PKG_VERSION"));
        poem::Route::new().nest("/", service)
    }

    /// The token-registry routes (`/tokens...`, see
    /// [`manage_tokens`](crate::manage_tokens)) as a poem-openapi API, to
    /// include in your `OpenApiService`; [`routes`](Self::routes) serves them.
    pub fn token_admin_api(&self) -> TokenAdminApi {
        TokenAdminApi::new(self.inner.tokens.clone())
    }

    /// The handler-settings routes (`/auth_handler/settings...`, see
    /// [`manage_handlers`](crate::manage_handlers)) as a poem-openapi API.
    pub fn handler_settings_api(&self) -> HandlerSettingsApi {
        HandlerSettingsApi::new(self.inner.handler_settings.clone())
    }

    /// The handler-settings routes on their own, to mount at the root so
    /// they answer at `/auth_handler/settings` and
    /// `/auth_handler/settings/:id`: `Route::new().nest("/", auth.handler_settings_routes())`.
    /// [`routes`](Self::routes) serves them too, under its own prefix.
    pub fn handler_settings_routes(&self) -> poem::Route {
        let service = poem_openapi::OpenApiService::new(
            self.handler_settings_api(),
            "auth handler settings",
            env!("CARGO_PKG_VERSION"),
        );
        poem::Route::new().nest("/", service)
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

    pub(crate) fn scheme_config(&self) -> SchemeConfig {
        self.inner.openapi
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
        tracing::debug!(principal = %principal.id, %requirement, "permission denied");
        Err(AuthRejection::new(
            AuthError::Forbidden,
            true,
            responses.clone(),
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

/// Builds a [`PoemAuth`] with options other than the defaults.
#[must_use]
pub struct PoemAuthBuilder {
    pipeline: Pipeline,
    api_key_header: String,
    api_key_cookie: Option<String>,
    api_key_query: Option<String>,
    ws_token_query: String,
    user_id_header: String,
    unauthorized_status: StatusCode,
    unauthorized_body: serde_json::Value,
    forbidden_status: StatusCode,
    forbidden_body: serde_json::Value,
    tokens: Option<Arc<TokenService>>,
    handler_settings: Option<Arc<HandlerSettings>>,
    provider: Option<Arc<dyn DynProvider>>,
    permissions: PermissionSet,
    ws_refused_status: StatusCode,
    basic_realm: Option<String>,
    openapi: openapi::Options,
    trusted_proxies: Vec<IpAddr>,
}

impl fmt::Debug for PoemAuthBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoemAuthBuilder")
            .field("pipeline", &self.pipeline)
            .field("api_key_header", &self.api_key_header)
            .field("api_key_cookie", &self.api_key_cookie)
            .field("api_key_query", &self.api_key_query)
            .field("ws_token_query", &self.ws_token_query)
            .field("user_id_header", &self.user_id_header)
            .field("unauthorized_status", &self.unauthorized_status)
            .field("forbidden_status", &self.forbidden_status)
            .field("ws_refused_status", &self.ws_refused_status)
            .field("basic_realm", &self.basic_realm)
            .field("openapi", &self.openapi)
            .field("trusted_proxies", &self.trusted_proxies)
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

    /// Also reads an API key from the cookie `name` (off by default), after
    /// `Authorization` and the API-key header, on HTTP and WebSocket alike.
    ///
    /// A browser sends cookies with cross-site requests and cross-site
    /// WebSocket upgrades: set the cookie `SameSite=Strict` (and `HttpOnly`,
    /// `Secure`), and check `Origin` on WebSocket routes that accept it.
    ///
    /// ```
    /// # let pipeline = auth_core::Pipeline::builder()
    /// #     .handler(auth_core::ApiKeyHandler::builder().http_key("k").build())
    /// #     .build()?;
    /// let auth = auth_poem::PoemAuth::builder(pipeline).api_key_cookie("api_key").build()?;
    /// let req = poem::Request::builder().header("cookie", "api_key=k-123").finish();
    /// assert_eq!(auth.credential(&req)?.map(|c| c.kind()), Some("api_key"));
    /// # Ok::<_, auth_core::AuthError>(())
    /// ```
    pub fn api_key_cookie(mut self, name: impl Into<String>) -> Self {
        self.api_key_cookie = Some(name.into());
        self
    }

    /// Also reads an API key from the query parameter `name`, on HTTP and
    /// WebSocket alike, after every other source. Off by default: a key in
    /// a URL ends up in proxy and access logs, browser history and
    /// `Referer` headers. This crate's own log lines mask it (see
    /// [`PoemAuth::masked_uri`]); poem's `Tracing` middleware does not (see
    /// [`PoemAuth::masked_tracing`]).
    ///
    /// ```
    /// # let pipeline = auth_core::Pipeline::builder()
    /// #     .handler(auth_core::ApiKeyHandler::builder().http_key("k").build())
    /// #     .build()?;
    /// let auth = auth_poem::PoemAuth::builder(pipeline).api_key_query("api_key").build()?;
    /// let req = poem::Request::builder().uri_str("/items?api_key=k-123").finish();
    /// assert_eq!(auth.credential(&req)?.map(|c| c.kind()), Some("api_key"));
    /// # Ok::<_, auth_core::AuthError>(())
    /// ```
    pub fn api_key_query(mut self, name: impl Into<String>) -> Self {
        self.api_key_query = Some(name.into());
        self
    }

    /// The query parameter a WebSocket upgrade carries its token in
    /// (default `token`). It is always read on WebSocket upgrades, never on
    /// plain HTTP requests.
    pub fn ws_token_query(mut self, name: impl Into<String>) -> Self {
        self.ws_token_query = name.into();
        self
    }

    /// The status of a WebSocket upgrade refused for a missing or bad
    /// credential (default 403, as the chat servers this mimics answer); a
    /// 4xx status. The body is the unauthorized body; the
    /// `WWW-Authenticate` challenges are sent only if this is 401.
    pub fn ws_refused_status(mut self, status: StatusCode) -> Self {
        self.ws_refused_status = status;
        self
    }

    /// Sends `WWW-Authenticate: Basic realm="<realm>"` beside the Bearer
    /// challenge on 401 answers (two header values, Bearer first), so
    /// browsers and tools offer a login for Basic. Off by default. The realm
    /// is visible ASCII without `"` or `\`.
    ///
    /// ```
    /// use poem::{get, handler, test::TestClient, EndpointExt, Route};
    ///
    /// #[handler]
    /// fn index() {}
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let pipeline = auth_core::Pipeline::builder()
    /// #     .handler(auth_core::ApiKeyHandler::builder().http_key("k").build())
    /// #     .build()?;
    /// let auth = auth_poem::PoemAuth::builder(pipeline).basic_realm("chat").build()?;
    /// let cli = TestClient::new(Route::new().at("/", get(index)).with(auth.layer()));
    /// let resp = cli.get("/").send().await;
    /// let challenges: Vec<_> = resp.0.headers().get_all("www-authenticate").iter().collect();
    /// assert_eq!(challenges, ["Bearer", r#"Basic realm="chat""#]);
    /// # Ok::<_, auth_core::AuthError>(())
    /// # }).unwrap();
    /// ```
    pub fn basic_realm(mut self, realm: impl Into<String>) -> Self {
        self.basic_realm = Some(realm.into());
        self
    }

    /// The reverse proxies whose `X-Forwarded-For` header is believed
    /// (default: none, so the client address is always the socket peer's).
    ///
    /// The client address is [`client_addr`](crate::client_addr) with these
    /// proxies: the login routes (`POST /token`, `POST /login`) throttle
    /// failed logins by it, and [`PoemAuth::masked_tracing`] logs it. Behind
    /// a proxy that is not listed, every client shares the proxy's address
    /// (and its throttle); list only proxies that set the header themselves,
    /// since a listed address is believed about the hops before it.
    ///
    /// ```
    /// # let pipeline = auth_core::Pipeline::builder()
    /// #     .handler(auth_core::ApiKeyHandler::builder().http_key("k").build())
    /// #     .build()?;
    /// let proxy = "10.0.0.1".parse().expect("an address");
    /// let auth = auth_poem::PoemAuth::builder(pipeline).trusted_proxies([proxy]).build()?;
    /// assert_eq!(auth.trusted_proxies(), [proxy]);
    /// # Ok::<_, auth_core::AuthError>(())
    /// ```
    pub fn trusted_proxies(mut self, proxies: impl IntoIterator<Item = IpAddr>) -> Self {
        self.trusted_proxies = proxies.into_iter().collect();
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
    /// The token service behind [`PoemAuth::routes`]: logins, refresh,
    /// revocation. Hand its revocation list to the JWT handler
    /// ([`JwtHandler::with_revocations`](auth_core::JwtHandler::with_revocations))
    /// so revoked tokens are refused at once.
    pub fn token_service(mut self, tokens: Arc<TokenService>) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// The handler-settings service behind `/auth_handler/settings` (see
    /// [`PoemAuth::handler_settings_routes`]); put its
    /// [`SwitchableHandler`](auth_core::handler_settings::SwitchableHandler)
    /// in the pipeline.
    pub fn handler_settings(mut self, settings: Arc<HandlerSettings>) -> Self {
        self.handler_settings = Some(settings);
        self
    }

    /// The identity provider behind the user-management routes (see
    /// [`users`](crate::users)) and behind the username/password login of
    /// `POST /token`, which then checks credentials with the provider
    /// instead of the token service's user store.
    pub fn provider(mut self, provider: Arc<dyn DynProvider>) -> Self {
        self.provider = Some(provider);
        self
    }

    /// What `GET /available-permissions` lists (default: every default
    /// permission on every default resource).
    pub fn available_permissions(mut self, permissions: PermissionSet) -> Self {
        self.permissions = permissions;
        self
    }

    /// A header name that is not a valid HTTP header name, the API-key
    /// header set to `authorization`, a cookie name that is not an RFC 6265
    /// token, an empty query parameter name, a realm that cannot be quoted,
    /// a status outside 4xx, a scheme name that is empty, used twice or not
    /// an OpenAPI component name, or a blank token URL is refused with
    /// [`AuthError::Misconfigured`].
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
        let api_key_cookie = self
            .api_key_cookie
            .map(|name| cookie_name(name.trim()))
            .transpose()?;
        let query_name = |what: &str, name: &str| {
            let name = name.trim();
            if name.is_empty() {
                return Err(AuthError::Misconfigured(format!(
                    "the {what} query parameter name is empty"
                )));
            }
            Ok(name.to_owned())
        };
        let api_key_query = self
            .api_key_query
            .map(|name| query_name("API-key", &name))
            .transpose()?;
        let ws_token_query = query_name("WebSocket token", &self.ws_token_query)?;
        let basic_challenge = self
            .basic_realm
            .as_deref()
            .map(basic_challenge)
            .transpose()?;
        for (what, status) in [
            ("unauthorized", self.unauthorized_status),
            ("forbidden", self.forbidden_status),
            ("WebSocket refused", self.ws_refused_status),
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
                sources: Sources {
                    api_key_header,
                    api_key_cookie,
                    api_key_query,
                    ws_token_query,
                },
                user_id_header,
                tokens: self.tokens,
                handler_settings: self.handler_settings,
                provider: self.provider,
                permissions: self.permissions,
                responses: Arc::new(Responses {
                    unauthorized_status: self.unauthorized_status,
                    unauthorized_body: self.unauthorized_body.to_string(),
                    forbidden_status: self.forbidden_status,
                    forbidden_body: self.forbidden_body.to_string(),
                    ws_refused_status: self.ws_refused_status,
                    basic_challenge,
                }),
                openapi,
                trusted_proxies: self.trusted_proxies.into(),
            }),
        })
    }
}

/// Checks a cookie name: an RFC 6265 token (visible ASCII, no separators).
fn cookie_name(name: &str) -> AuthResult<String> {
    let separator = |c: char| "()<>@,;:\\\"/[]?={} \t".contains(c);
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_graphic() && !separator(c)) {
        return Err(AuthError::Misconfigured(format!(
            "the API-key cookie name `{name}` is not a valid cookie name"
        )));
    }
    Ok(name.to_owned())
}

/// `Basic realm="<realm>"`; a realm that would need escaping is refused.
fn basic_challenge(realm: &str) -> AuthResult<HeaderValue> {
    let bad = realm.is_empty()
        || !realm
            .chars()
            .all(|c| (c.is_ascii_graphic() || c == ' ') && c != '"' && c != '\\');
    if bad {
        return Err(AuthError::Misconfigured(format!(
            "the Basic realm {realm:?} must be non-empty visible ASCII without `\"` or `\\`"
        )));
    }
    HeaderValue::try_from(format!("Basic realm=\"{realm}\"")).map_err(|_| {
        AuthError::Misconfigured(format!(
            "the Basic realm {realm:?} is not a valid header value"
        ))
    })
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
            PoemAuth::builder(pipeline()).ws_refused_status(StatusCode::SWITCHING_PROTOCOLS),
            PoemAuth::builder(pipeline()).api_key_cookie(""),
            PoemAuth::builder(pipeline()).api_key_cookie("api key"),
            PoemAuth::builder(pipeline()).api_key_cookie("a=b"),
            PoemAuth::builder(pipeline()).api_key_query(" "),
            PoemAuth::builder(pipeline()).ws_token_query(""),
            PoemAuth::builder(pipeline()).basic_realm(""),
            PoemAuth::builder(pipeline()).basic_realm("say \"hi\""),
            PoemAuth::builder(pipeline()).basic_realm("back\\slash"),
            PoemAuth::builder(pipeline()).basic_realm("caf\u{e9}"),
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
