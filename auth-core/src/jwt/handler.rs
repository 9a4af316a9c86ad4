//! [`JwtHandler`]: bearer JWTs checked against a key set, then revocations.

use std::sync::Arc;

use async_trait::async_trait;
use secrecy::ExposeSecret;
use serde_json::Value;

use super::validate::Checked;
use super::{
    ClaimsMapper, DefaultClaimsMapper, JwtRejection, JwtValidator, KeySet, TokenIssuer, Validation,
};
use crate::clock::Clock;
use crate::context::AuthContext;
use crate::credential::Credential;
use crate::error::{AuthError, AuthResult};
use crate::handlers::AuthHandler;
use crate::principal::Principal;
use crate::store::RevocationCheck;

/// Authenticates bearer JWTs.
///
/// A token whose `kid` names no key of this handler is "not mine" (the
/// pipeline asks the next handler, e.g. an outside identity provider's);
/// every other failure denies with [`AuthError::InvalidCredentials`], the
/// reason going to a debug log only. A before-authentication hook may swap
/// the key set for one request ([`BeforeAuth::use_keys`](crate::BeforeAuth::use_keys)).
#[derive(Clone)]
pub struct JwtHandler {
    validator: JwtValidator,
    live: Option<TokenIssuer>,
    mapper: Arc<dyn ClaimsMapper>,
    /// Whether `mapper` is the [`DefaultClaimsMapper`], whose answer depends
    /// on the claims alone (so a cached token may keep its principal).
    default_mapper: bool,
    revocations: Option<Arc<dyn RevocationCheck>>,
}

impl std::fmt::Debug for JwtHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtHandler")
            .field("validator", &self.validator)
            .finish_non_exhaustive()
    }
}

/// How many verified tokens a [`JwtHandler::new`] handler remembers: at
/// most a few MiB, enough for the active clients of most services.
pub const DEFAULT_VERIFIED_CACHE: usize = 1_024;

impl JwtHandler {
    /// A handler with the default claims mapping and a verified-token cache
    /// of [`DEFAULT_VERIFIED_CACHE`] entries: a client sends the same token
    /// on request after request, and a token seen before is not verified
    /// or parsed again. The clock checks (`exp`, `nbf`, `iat`, lifetime)
    /// and the revocation check still run on each request; see [`VerifiedCache`]
    /// for what a hit checks, [`with_verified_cache`](Self::with_verified_cache)
    /// to size it and [`without_verified_cache`](Self::without_verified_cache)
    /// to turn it off.
    pub fn new(keys: impl Into<Arc<KeySet>>, validation: Validation) -> Self {
        Self::from_validator(
            JwtValidator::new(keys, validation).with_verified_cache(DEFAULT_VERIFIED_CACHE),
        )
    }

    /// A handler around a configured validator, with the validator's
    /// cache setting (a bare [`JwtValidator`] has none).
    pub fn from_validator(validator: JwtValidator) -> Self {
        if !validator.validation().verifies_signature() {
            tracing::warn!("JWT signature validation is DISABLED: any caller can forge any token");
        }
        Self {
            validator,
            live: None,
            mapper: Arc::new(DefaultClaimsMapper),
            default_mapper: true,
            revocations: None,
        }
    }

    /// A handler for the tokens of `issuer`, verifying with the keys it
    /// publishes at each moment, so a [rotation](TokenIssuer::rotate_to)
    /// takes effect without rebuilding the handler.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use auth_core::jwt::{Algorithm, JwtHandler, JwtKey, KeySet, TokenIssuer, Validation};
    ///
    /// let key = JwtKey::generate(Algorithm::EdDSA).unwrap().with_kid("a");
    /// let issuer = TokenIssuer::new(Arc::new(KeySet::single(key)), None).unwrap().issuer("me");
    /// let handler = JwtHandler::for_issuer(&issuer, Validation::new().issuer("me"));
    /// issuer.rotate_to(JwtKey::generate(Algorithm::ES256).unwrap().with_kid("b"), 0).unwrap();
    /// # let _ = handler;
    /// ```
    pub fn for_issuer(issuer: &TokenIssuer, validation: Validation) -> Self {
        let mut handler = Self::new(issuer.keys(), validation).with_clock(issuer.clock.clone());
        handler.live = Some(issuer.clone());
        handler
    }

    /// Refuses tokens this check reports revoked (by `jti`, or by a user's cut-off time).
    #[must_use]
    pub fn with_revocations(mut self, revocations: Arc<dyn RevocationCheck>) -> Self {
        self.revocations = Some(revocations);
        self
    }

    /// Replaces the claims mapping.
    #[must_use]
    pub fn with_mapper(mut self, mapper: impl ClaimsMapper) -> Self {
        self.mapper = Arc::new(mapper);
        self.default_mapper = false;
        self
    }

    /// Replaces the clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.validator = self.validator.with_clock(clock);
        self
    }

    /// Remembers up to `capacity` verified tokens so a token seen before
    /// skips the signature check (see [`VerifiedCache`]); revocation and
    /// the clock checks still run on each request.
    #[must_use]
    pub fn with_verified_cache(mut self, capacity: usize) -> Self {
        self.validator = self.validator.with_verified_cache(capacity);
        self
    }

    /// Verifies and parses every token on every request, remembering none.
    #[must_use]
    pub fn without_verified_cache(mut self) -> Self {
        self.validator = self.validator.without_verified_cache();
        self
    }

    /// The validator.
    pub fn validator(&self) -> &JwtValidator {
        &self.validator
    }
}

#[async_trait]
impl AuthHandler for JwtHandler {
    fn name(&self) -> &str {
        "jwt"
    }

    async fn authorize_jwt(&self, token: &str, cx: &AuthContext) -> AuthResult<Option<Principal>> {
        self.check_token(token, cx)
    }

    async fn authorize(
        &self,
        credential: &Credential,
        cx: &AuthContext,
    ) -> AuthResult<Option<Principal>> {
        self.answer(credential, cx)
    }

    /// Verification never waits: always answered at once.
    fn authorize_now(
        &self,
        credential: &Credential,
        cx: &AuthContext,
    ) -> Option<AuthResult<Option<Principal>>> {
        Some(self.answer(credential, cx))
    }

    fn jwt_verification(&self) -> Option<crate::handlers::JwtVerification<'_>> {
        Some(crate::handlers::JwtVerification {
            keys: self.validator.keys(),
            revocations: self.revocations.as_ref(),
        })
    }
}

impl JwtHandler {
    /// The answer to a JWT-shaped bearer token; anything else is not ours.
    fn answer(&self, credential: &Credential, cx: &AuthContext) -> AuthResult<Option<Principal>> {
        match credential {
            Credential::Bearer(token) if credential.is_jwt_shaped() => {
                self.check_token(token.expose_secret(), cx)
            }
            _ => Ok(None),
        }
    }

    /// The whole check of one token, synchronous.
    fn check_token(&self, token: &str, cx: &AuthContext) -> AuthResult<Option<Principal>> {
        let live;
        let keys = match (cx.key_override(), &self.live) {
            (Some(keys), _) => keys,
            (None, Some(issuer)) => {
                live = issuer.keys();
                &live
            }
            (None, None) => self.validator.keys(),
        };
        match self.validator.checked(token, keys) {
            Ok(checked) => {
                let valid = checked.token();
                if let Some(revocations) = &self.revocations {
                    let c = &valid.claims;
                    let sub = c.get("sub").and_then(Value::as_str).unwrap_or_default();
                    let jti = c.get("jti").and_then(Value::as_str);
                    let sid = c.get("sid").and_then(Value::as_str);
                    let iat = c.get("iat").and_then(Value::as_i64);
                    if revocations.is_revoked(jti, sid, sub, iat) {
                        tracing::debug!("JWT refused: revoked");
                        return Err(AuthError::InvalidCredentials);
                    }
                }
                match checked {
                    Checked::Shared(entry) if self.default_mapper => {
                        if let Some(p) = entry.mapped.get() {
                            return Ok(Some(p.clone()));
                        }
                        let p = self.mapper.map(&entry.token.claims)?;
                        let _ = entry.mapped.set(p.clone());
                        Ok(Some(p))
                    }
                    Checked::Shared(entry) => self.mapper.map(&entry.token.claims).map(Some),
                    // A token verified for this request alone: its claims
                    // are moved into the principal rather than copied.
                    Checked::Owned(valid) if self.default_mapper => {
                        DefaultClaimsMapper::map_owned(valid.claims).map(Some)
                    }
                    Checked::Owned(valid) => self.mapper.map(&valid.claims).map(Some),
                }
            }
            Err(JwtRejection::UnknownKey) => {
                tracing::debug!("JWT names no key of this handler; passing it on");
                Ok(None)
            }
            Err(reason) => {
                tracing::debug!(%reason, "JWT refused");
                Err(AuthError::InvalidCredentials)
            }
        }
    }
}
