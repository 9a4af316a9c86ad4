//! [`PoemAuthBuilder`]: the one place a service's authentication is
//! wired, from what the service has (keys or settings, API keys, users,
//! roles) to the token service, revocation check and pipeline.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use auth_core::handlers::live::LiveHandlers;
use auth_core::jwt::{KeySet, Validation};
use auth_core::password::PasswordHasher;
use auth_core::provider::dynamic::DynProvider;
use auth_core::provider::store::StoreProvider;
use auth_core::store::UserAdmin;
use auth_core::tokens::{RefreshLifetimes, TokenService};
use auth_core::{
    AfterHook, ApiKeyHandler, AuthContext, AuthError, AuthHandler, AuthResult, BeforeHook,
    PermissionSet, Pipeline, Principal, RoleMap, Settings,
};
use poem::http::header::AUTHORIZATION;
use poem::http::{HeaderName, HeaderValue, StatusCode};

use super::hub::{Hub, Source, check_revocation_wiring, placeholder};
use super::{Inner, PoemAuth};
use crate::extract::credential::Sources;
use crate::openapi;
use crate::rejection::{Responses, default_body};

/// Builds a [`PoemAuth`]: from the parts a service has, through
/// [`PoemAuth::builder`] (or [`PoemAuth::from_settings`]), or around a
/// pipeline built by hand, through [`PoemAuth::from_pipeline`].
///
/// Given signing keys and a user store, the builder makes the token service,
/// the store-backed identity provider, the JWT handler and the pipeline once,
/// each wired to the others: the JWT handler checks the token service's
/// revocations, logins use the roles and hasher the users are managed
/// with. The pipeline tries, in order: the API keys, the JWT handler, then
/// each [`handler`](Self::handler) added.
///
/// ```
/// use auth_core::{MemoryUserStore, RoleMap, Settings};
/// use auth_poem::PoemAuth;
///
/// let settings = Settings::from_vars("AUTH_", [("AUTH_DEV_MODE", "true")])?;
/// let auth = PoemAuth::from_settings(&settings)
///     .users(MemoryUserStore::default())
///     .roles(RoleMap::new().superuser("admin"))
///     .build()?;
/// assert!(auth.token_service().is_some());
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub struct PoemAuthBuilder {
    pub(super) source: Source,
    pub(super) api_key_header: String,
    pub(super) api_key_cookie: Option<String>,
    pub(super) api_key_query: Option<String>,
    pub(super) ws_token_query: String,
    pub(super) user_id_header: String,
    pub(super) unauthorized_status: StatusCode,
    pub(super) unauthorized_body: serde_json::Value,
    pub(super) forbidden_status: StatusCode,
    pub(super) forbidden_body: serde_json::Value,
    pub(super) tokens: Option<Arc<TokenService>>,
    pub(super) live_handlers: Option<Arc<LiveHandlers>>,
    pub(super) provider: Option<Arc<dyn DynProvider>>,
    pub(super) permissions: PermissionSet,
    pub(super) ws_refused_status: StatusCode,
    pub(super) basic_realm: Option<String>,
    pub(super) openapi: openapi::Options,
    pub(super) trusted_proxies: Vec<IpAddr>,
    /// The first hub-only option called on a [`PoemAuth::from_pipeline`] builder.
    pub(super) misuse: Option<&'static str>,
}

impl fmt::Debug for PoemAuthBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoemAuthBuilder")
            .field(
                "pipeline",
                match &self.source {
                    Source::Hub(_) => &"built from parts" as &dyn fmt::Debug,
                    Source::Pipeline(pipeline) => pipeline as &dyn fmt::Debug,
                },
            )
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
    /// A builder with the default options and `source` for its pipeline.
    pub(super) fn with_source(source: Source) -> Self {
        Self {
            source,
            api_key_header: crate::auth::DEFAULT_API_KEY_HEADER.to_owned(),
            api_key_cookie: None,
            api_key_query: None,
            ws_token_query: crate::auth::DEFAULT_WS_TOKEN_QUERY.to_owned(),
            user_id_header: crate::auth::DEFAULT_USER_ID_HEADER.to_owned(),
            unauthorized_status: StatusCode::UNAUTHORIZED,
            unauthorized_body: default_body(),
            forbidden_status: StatusCode::FORBIDDEN,
            forbidden_body: default_body(),
            tokens: None,
            live_handlers: None,
            provider: None,
            permissions: PermissionSet::full(),
            ws_refused_status: StatusCode::FORBIDDEN,
            basic_realm: None,
            openapi: openapi::Options::default(),
            trusted_proxies: Vec::new(),
            misuse: None,
        }
    }

    /// A builder of the hub ([`PoemAuth::builder`]).
    pub(super) fn hub() -> Self {
        Self::with_source(Source::Hub(Box::new(Hub {
            settings: None,
            keys: None,
            validation: None,
            lifetime_minutes: None,
            refresh_policy: None,
            verified_cache: None,
            api_keys: None,
            handlers: Vec::new(),
            hooks: Pipeline::builder(),
            users: None,
            roles: RoleMap::new(),
            hasher: PasswordHasher::owasp(),
            tokens_with: Vec::new(),
            provider_with: Vec::new(),
        })))
    }

    /// The hub's parts; a misuse on a [`PoemAuth::from_pipeline`] builder
    /// is remembered and refused by [`build`](Self::build).
    fn parts(&mut self, what: &'static str) -> Option<&mut Hub> {
        match &mut self.source {
            Source::Hub(hub) => Some(hub),
            Source::Pipeline(_) => {
                self.misuse.get_or_insert(what);
                None
            }
        }
    }

    /// Takes keys, the API keys, token lifetime, issuer, audience and
    /// validation from `settings` (`AUTH_*` variables or TOML; see
    /// [`Settings`]), and the OIDC handler they name, placed after the JWT
    /// handler. What is set on the builder besides wins.
    pub fn settings(mut self, settings: &Settings) -> Self {
        if let Some(hub) = self.parts("settings") {
            hub.settings = Some(settings.clone());
        }
        self
    }

    /// The keys tokens are signed and verified with (instead of the
    /// settings' `jwt_secret` or key files).
    pub fn jwt_keys(mut self, keys: Arc<KeySet>) -> Self {
        if let Some(hub) = self.parts("jwt_keys") {
            hub.keys = Some(keys);
        }
        self
    }

    /// How the JWT handler validates tokens (default: the settings', else
    /// [`Validation::new`] with the issuer and audience the tokens carry).
    pub fn validation(mut self, validation: Validation) -> Self {
        if let Some(hub) = self.parts("validation") {
            hub.validation = Some(validation);
        }
        self
    }

    /// How long an access token lives (default: the settings', else 30).
    pub fn token_lifetime_minutes(mut self, minutes: u64) -> Self {
        if let Some(hub) = self.parts("token_lifetime_minutes") {
            hub.lifetime_minutes = Some(minutes);
        }
        self
    }

    /// The refresh-token lifetimes (default [`RefreshLifetimes::default`]).
    pub fn refresh_policy(mut self, policy: RefreshLifetimes) -> Self {
        if let Some(hub) = self.parts("refresh_policy") {
            hub.refresh_policy = Some(policy);
        }
        self
    }

    /// Keeps up to `capacity` verified tokens, so a token seen again skips
    /// its signature check (see [`JwtHandler::with_verified_cache`](auth_core::JwtHandler::with_verified_cache));
    /// revocation and expiry are still checked on every request.
    pub fn verified_cache(mut self, capacity: usize) -> Self {
        if let Some(hub) = self.parts("verified_cache") {
            hub.verified_cache = Some(capacity);
        }
        self
    }

    /// The API keys, tried first (instead of the settings' `api_key` and
    /// `ws_api_key`).
    pub fn api_keys(mut self, keys: ApiKeyHandler) -> Self {
        if let Some(hub) = self.parts("api_keys") {
            hub.api_keys = Some(keys);
        }
        self
    }

    /// Adds a handler, tried after the API keys and the JWT handler, in
    /// the order added.
    pub fn handler(self, handler: impl AuthHandler) -> Self {
        self.handler_arc(Arc::new(handler))
    }

    /// Adds a shared handler (a [`SwitchableHandler`](auth_core::handlers::live::SwitchableHandler),
    /// say), as [`handler`](Self::handler) does.
    pub fn handler_arc(mut self, handler: Arc<dyn AuthHandler>) -> Self {
        if let Some(hub) = self.parts("handler") {
            hub.handlers.push(handler);
        }
        self
    }

    /// Adds a before-authentication hook (see [`PipelineBuilder::before_authentication`](auth_core::PipelineBuilder::before_authentication)).
    pub fn before_authentication(mut self, hook: impl BeforeHook) -> Self {
        if let Some(hub) = self.parts("before_authentication") {
            hub.hooks = std::mem::take(&mut hub.hooks).before_authentication(hook);
        }
        self
    }

    /// Adds an after-authentication hook (see [`PipelineBuilder::after_authentication`](auth_core::PipelineBuilder::after_authentication)).
    pub fn after_authentication(mut self, hook: impl AfterHook) -> Self {
        if let Some(hub) = self.parts("after_authentication") {
            hub.hooks = std::mem::take(&mut hub.hooks).after_authentication(hook);
        }
        self
    }

    /// Lets a request without credential through as the principal `decide`
    /// answers (see [`PipelineBuilder::anonymous`](auth_core::PipelineBuilder::anonymous)).
    pub fn anonymous(
        mut self,
        decide: impl Fn(&AuthContext) -> Option<Principal> + Send + Sync + 'static,
    ) -> Self {
        if let Some(hub) = self.parts("anonymous") {
            hub.hooks = std::mem::take(&mut hub.hooks).anonymous(decide);
        }
        self
    }

    /// The users: logins at `POST /token` check them, and the user routes
    /// manage them through a [`StoreProvider`] over the same store. Needs
    /// signing keys (from the settings or [`jwt_keys`](Self::jwt_keys)).
    pub fn users(self, users: impl UserAdmin) -> Self {
        self.users_arc(Arc::new(users))
    }

    /// [`users`](Self::users) for a store that is shared already.
    pub fn users_arc(mut self, users: Arc<dyn UserAdmin>) -> Self {
        if let Some(hub) = self.parts("users") {
            hub.users = Some(users);
        }
        self
    }

    /// What each role name expands to, for the pipeline, logins and the
    /// grant rule of the user routes alike (default: no roles).
    pub fn roles(mut self, roles: RoleMap) -> Self {
        if let Some(hub) = self.parts("roles") {
            hub.roles = roles;
        }
        self
    }

    /// The hasher of logins and of the passwords the user routes set
    /// (default [`PasswordHasher::owasp`]); make the user store with the same.
    pub fn hasher(mut self, hasher: PasswordHasher) -> Self {
        if let Some(hub) = self.parts("hasher") {
            hub.hasher = hasher;
        }
        self
    }

    /// Changes the token service before it is wired: its stores
    /// (refresh tokens, the token registry, a shared revocation list), its
    /// throttle or clock. The JWT handler checks the revocations of the
    /// service `change` answers.
    ///
    /// ```
    /// # use auth_core::{MemoryUserStore, Settings};
    /// use auth_core::throttle::{LoginThrottle, ThrottlePolicy};
    /// # let settings = Settings::from_vars("AUTH_", [("AUTH_DEV_MODE", "true")])?;
    /// let auth = auth_poem::PoemAuth::from_settings(&settings)
    ///     .users(MemoryUserStore::default())
    ///     .tokens_with(|tokens| tokens.with_throttle(LoginThrottle::new(ThrottlePolicy::default())))
    ///     .build()?;
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn tokens_with(
        mut self,
        change: impl FnOnce(TokenService) -> TokenService + Send + 'static,
    ) -> Self {
        if let Some(hub) = self.parts("tokens_with") {
            hub.tokens_with.push(Box::new(change));
        }
        self
    }

    /// Changes the store provider behind the user routes before it is
    /// wired: self-registration, default permissions, password length.
    pub fn provider_with(
        mut self,
        change: impl FnOnce(StoreProvider) -> StoreProvider + Send + 'static,
    ) -> Self {
        if let Some(hub) = self.parts("provider_with") {
            hub.provider_with.push(Box::new(change));
        }
        self
    }

    /// The token service behind [`PoemAuth::routes`]: logins, refresh,
    /// revocation, made by hand. On the hub, the JWT handler is made for it
    /// and checks its revocations. Around a pipeline given whole, every JWT
    /// handler of the pipeline that accepts its tokens must check its
    /// revocations ([`JwtHandler::with_revocations`](auth_core::JwtHandler::with_revocations)
    /// with [`TokenService::revocations`]), or [`build`](Self::build)
    /// refuses: logged-out and revoked tokens would still be accepted.
    pub fn token_service(mut self, tokens: Arc<TokenService>) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// The handler-settings service behind `/auth_handler/settings` (see
    /// [`PoemAuth::live_handlers_routes`]); put its
    /// [`SwitchableHandler`](auth_core::handlers::live::SwitchableHandler)
    /// in the pipeline.
    pub fn live_handlers(mut self, settings: Arc<LiveHandlers>) -> Self {
        self.live_handlers = Some(settings);
        self
    }

    /// The identity provider behind the user-management routes (see
    /// [`users`](crate::routes::users)) and behind the username/password login of
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
    ///
    /// The hub refuses a user store without signing keys, and any builder
    /// refuses a pipeline that would accept the token service's tokens
    /// without checking its revocations, or a hub-only option (users, keys,
    /// roles, ...) on a builder around a pipeline given whole.
    pub fn build(mut self) -> AuthResult<PoemAuth> {
        if let Some(what) = self.misuse {
            return Err(AuthError::Misconfigured(format!(
                "`{what}` is an option of PoemAuth::builder(), which builds the pipeline; a \
                 builder from PoemAuth::from_pipeline takes the pipeline as it is"
            )));
        }
        let mut store_provider = None;
        let pipeline = match std::mem::replace(&mut self.source, Source::Pipeline(placeholder()?)) {
            Source::Pipeline(pipeline) => pipeline,
            Source::Hub(hub) => {
                let built = (*hub).build(self.tokens.take(), self.provider.is_some())?;
                self.tokens = built.tokens;
                if let Some(provider) = built.provider {
                    store_provider = Some(provider.clone());
                    self.provider.get_or_insert(provider);
                }
                built.pipeline
            }
        };
        if let Some(tokens) = &self.tokens {
            check_revocation_wiring(&pipeline, tokens)?;
        }
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
        let openapi = self.openapi.resolve(&pipeline, &api_key_header)?;
        Ok(PoemAuth {
            inner: Arc::new(Inner {
                pipeline,
                store_provider,
                sources: Sources {
                    api_key_header,
                    api_key_cookie,
                    api_key_query,
                    ws_token_query,
                },
                user_id_header,
                tokens: self.tokens,
                live_handlers: self.live_handlers,
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
