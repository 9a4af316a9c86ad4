//! The hub of [`PoemAuth::builder`](super::PoemAuth::builder): what it
//! builds the token service, identity provider, JWT handler and pipeline
//! from, and the build that wires each to the others.

use std::sync::Arc;

use auth_core::jwt::{KeySet, TokenIssuer, Validation};
use auth_core::password::PasswordHasher;
use auth_core::provider::store::StoreProvider;
use auth_core::store::UserAdmin;
use auth_core::tokens::{RefreshLifetimes, TokenService};
use auth_core::{
    ApiKeyHandler, AuthError, AuthHandler, AuthResult, JwtHandler, Pipeline, PipelineBuilder,
    RoleMap, Settings,
};

/// A change made to the [`TokenService`] the builder makes (stores,
/// throttle, clock), before it is wired to the rest.
pub(super) type TokensWith = Box<dyn FnOnce(TokenService) -> TokenService + Send>;
/// A change made to the [`StoreProvider`] the builder makes.
pub(super) type ProviderWith = Box<dyn FnOnce(StoreProvider) -> StoreProvider + Send>;

/// Where the pipeline comes from.
pub(super) enum Source {
    /// Built here from the parts the service gave ([`PoemAuth::builder`]).
    Hub(Box<Hub>),
    /// Given whole ([`PoemAuth::from_pipeline`]).
    Pipeline(Pipeline),
}

/// What [`PoemAuth::builder`] builds the pipeline and token service from.
pub(super) struct Hub {
    pub(super) settings: Option<Settings>,
    pub(super) keys: Option<Arc<KeySet>>,
    pub(super) validation: Option<Validation>,
    pub(super) lifetime_minutes: Option<u64>,
    pub(super) refresh_policy: Option<RefreshLifetimes>,
    pub(super) verified_cache: Option<usize>,
    pub(super) api_keys: Option<ApiKeyHandler>,
    pub(super) handlers: Vec<Arc<dyn AuthHandler>>,
    pub(super) hooks: PipelineBuilder,
    pub(super) users: Option<Arc<dyn UserAdmin>>,
    pub(super) roles: RoleMap,
    pub(super) hasher: PasswordHasher,
    pub(super) tokens_with: Vec<TokensWith>,
    pub(super) provider_with: Vec<ProviderWith>,
}

/// A pipeline that stands in for the one taken out of the builder.
pub(super) fn placeholder() -> AuthResult<Pipeline> {
    Pipeline::builder()
        .handler(ApiKeyHandler::builder().build())
        .build()
}

/// Refuses `pipeline` when one of its JWT handlers accepts the tokens of
/// `tokens` without checking their revocations.
pub(super) fn check_revocation_wiring(
    pipeline: &Pipeline,
    tokens: &TokenService,
) -> AuthResult<()> {
    for (name, verification) in pipeline.jwt_verifications() {
        let checked = verification
            .revocations
            .is_some_and(|check| tokens.is_own_revocations(check));
        if !checked && tokens.is_verified_by(verification.keys) {
            return Err(AuthError::Misconfigured(format!(
                "the handler `{name}` accepts the token service's tokens without checking its \
                 revocations, so logged-out and revoked tokens would still be accepted: build it \
                 with `.with_revocations(tokens.revocations())`, or let PoemAuth::builder() make \
                 it"
            )));
        }
    }
    Ok(())
}

/// What the hub made.
pub(super) struct Built {
    pub(super) pipeline: Pipeline,
    pub(super) tokens: Option<Arc<TokenService>>,
    pub(super) provider: Option<Arc<StoreProvider>>,
}

impl Hub {
    /// Makes the token service (unless `tokens` was given), the store
    /// provider, the JWT handler and the pipeline, each wired to the others.
    /// `external_provider`: an identity provider was given, so logins go to
    /// it and the token service needs no users of its own.
    pub(super) fn build(
        self,
        tokens: Option<Arc<TokenService>>,
        external_provider: bool,
    ) -> AuthResult<Built> {
        let settings = self.settings.as_ref();
        let keys = match (&self.keys, settings) {
            (Some(keys), _) => Some(keys.clone()),
            (None, Some(settings)) if tokens.is_none() => Some(
                settings
                    .jwt_keys()
                    .map_err(|e| AuthError::Misconfigured(e.to_string()))?,
            ),
            _ => None,
        };
        let issuer = match (&keys, &tokens) {
            (_, Some(_)) | (None, None) => None,
            (Some(keys), None) => {
                let mut issuer = match settings {
                    Some(settings) => settings
                        .token_issuer(keys.clone())
                        .map_err(|e| AuthError::Misconfigured(e.to_string()))?,
                    None => TokenIssuer::new(keys.clone(), None)?,
                };
                if let Some(minutes) = self.lifetime_minutes {
                    issuer = issuer.lifetime_minutes(minutes);
                }
                Some(issuer)
            }
        };
        let validation = self.validation.clone().unwrap_or_else(|| match settings {
            Some(settings) => settings.validation(),
            None => {
                let mut validation = Validation::new();
                if let Some(iss) = issuer.as_ref().and_then(TokenIssuer::issuer_id) {
                    validation = validation.issuer(iss);
                }
                validation
            }
        });

        let mut provider = None;
        let tokens = match (tokens, issuer) {
            (Some(tokens), _) => Some(tokens),
            (None, Some(issuer)) if self.users.is_some() || external_provider => {
                let users: Arc<dyn auth_core::UserStore> = match &self.users {
                    Some(users) => users.clone(),
                    None => Arc::new(auth_core::MemoryUserStore::new(self.hasher.clone())),
                };
                let mut tokens = TokenService::new(issuer, users)
                    .with_roles(self.roles.clone())
                    .with_hasher(self.hasher.clone());
                if let Some(policy) = self.refresh_policy {
                    tokens = tokens.with_policy(policy);
                }
                for change in self.tokens_with {
                    tokens = change(tokens);
                }
                Some(Arc::new(tokens))
            }
            (None, _) if self.users.is_some() => {
                return Err(AuthError::Misconfigured(
                    "a user store needs signing keys for its logins: set AUTH_JWT_SECRET (or \
                     key files) in the settings, or call jwt_keys"
                        .into(),
                ));
            }
            (None, _) => None,
        };
        if let (Some(users), Some(tokens)) = (self.users, &tokens) {
            let mut made =
                StoreProvider::new(users, self.hasher.clone()).with_sessions(tokens.clone());
            for change in self.provider_with {
                made = change(made);
            }
            provider = Some(Arc::new(made));
        }

        let mut pipeline = self.hooks.roles(self.roles);
        let api_keys = self
            .api_keys
            .or_else(|| settings.and_then(Settings::api_key_handler));
        if let Some(api_keys) = api_keys {
            pipeline = pipeline.handler(api_keys);
        }
        let jwt = match (&tokens, &keys) {
            (Some(tokens), _) => Some(
                JwtHandler::for_issuer(tokens.issuer(), validation)
                    .with_revocations(tokens.revocations()),
            ),
            (None, Some(keys)) => Some(JwtHandler::new(keys.clone(), validation)),
            (None, None) => None,
        };
        if let Some(mut jwt) = jwt {
            if let Some(capacity) = self.verified_cache {
                jwt = jwt.with_verified_cache(capacity);
            }
            pipeline = pipeline.handler(jwt);
        }
        if let Some(oidc) = settings
            .map(Settings::oidc_handler)
            .transpose()
            .map_err(|e| AuthError::Misconfigured(e.to_string()))?
            .flatten()
        {
            pipeline = pipeline.handler(oidc);
        }
        for handler in self.handlers {
            pipeline = pipeline.handler_arc(handler);
        }
        Ok(Built {
            pipeline: pipeline.build()?,
            tokens,
            provider,
        })
    }
}
