//! Token validation: structure, header, signature, then claims.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::cache::{Entry, VerifiedCache};
use super::json::{self, JsonError};
use super::key::{Algorithm, JwtKey, KeySet};
use crate::clock::{Clock, SystemClock};

mod options;

pub use options::{
    DEFAULT_LEEWAY, DEFAULT_MAX_HEADER_LEN, DEFAULT_MAX_LIFETIME, DEFAULT_MAX_TOKEN_LEN, Validation,
};

/// Why a token was refused. Only for debug logs and tests: callers always
/// get the same [`AuthError::InvalidCredentials`](crate::AuthError::InvalidCredentials).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtRejection {
    /// Longer than the configured cap.
    #[error("token too long")]
    TooLong,
    /// Header longer than the configured cap.
    #[error("header too long")]
    HeaderTooLong,
    /// Not three segments, bad base64url, or bad JSON.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// A member name repeats in the header or the claims (in one object,
    /// at any depth): readers that keep the first and readers that keep the
    /// last would read two different tokens.
    #[error("a member name repeats in the header or the claims")]
    RepeatedName,
    /// `alg: none`, in any spelling.
    #[error("unsigned token (alg none)")]
    AlgNone,
    /// An algorithm name this crate does not verify.
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,
    /// The header's `alg` is not the selected key's.
    #[error("algorithm does not match the key")]
    AlgorithmMismatch,
    /// A `crit` header: no extension is understood.
    #[error("critical header extension")]
    CriticalHeader,
    /// The `typ` header is missing or not the expected one.
    #[error("unexpected typ")]
    BadType,
    /// No key for the token's `kid`.
    #[error("unknown key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// A required claim is missing.
    #[error("missing claim `{0}`")]
    MissingClaim(String),
    /// A registered claim has the wrong JSON type.
    #[error("claim `{0}` has the wrong type")]
    WrongClaimType(&'static str),
    /// Past `exp`.
    #[error("expired")]
    Expired,
    /// Before `nbf`.
    #[error("not yet valid")]
    NotYetValid,
    /// `iat` in the future.
    #[error("issued in the future")]
    IssuedInFuture,
    /// Lifetime over the configured maximum.
    #[error("lifetime too long")]
    LifetimeTooLong,
    /// `aud` does not name an accepted audience (or no audience is configured).
    #[error("audience not accepted")]
    BadAudience,
    /// `iss` is not an accepted issuer.
    #[error("issuer not accepted")]
    BadIssuer,
}

/// A token that passed validation: its header facts and claims.
#[derive(Debug, Clone)]
pub struct ValidToken {
    /// The header's `kid`.
    pub kid: Option<String>,
    /// The claims.
    pub claims: Map<String, Value>,
}

/// Validates compact JWS tokens against a [`KeySet`] and a [`Validation`].
#[derive(Debug, Clone)]
pub struct JwtValidator {
    keys: Arc<KeySet>,
    validation: Validation,
    clock: Arc<dyn Clock>,
    cache: Option<Arc<VerifiedCache>>,
}

/// A validated token, owned or shared with the verified-token cache.
pub(super) enum Checked {
    Owned(ValidToken),
    Shared(Arc<Entry>),
}

impl Checked {
    pub(super) fn token(&self) -> &ValidToken {
        match self {
            Self::Owned(t) => t,
            Self::Shared(e) => &e.token,
        }
    }

    fn into_owned(self) -> ValidToken {
        match self {
            Self::Owned(t) => t,
            Self::Shared(e) => e.token.clone(),
        }
    }
}

impl JwtValidator {
    /// A validator on the system clock.
    pub fn new(keys: impl Into<Arc<KeySet>>, validation: Validation) -> Self {
        Self {
            keys: keys.into(),
            validation,
            clock: Arc::new(SystemClock),
            cache: None,
        }
    }

    /// Remembers up to `capacity` verified tokens, so a token seen before
    /// skips the signature check, the parsing and the checks that depend on
    /// the token alone; the clock checks run each time. See
    /// [`VerifiedCache`] for what a hit still checks.
    /// Off for a bare validator; on in a [`JwtHandler::new`](super::JwtHandler::new).
    #[must_use]
    pub fn with_verified_cache(mut self, capacity: usize) -> Self {
        self.cache = Some(Arc::new(VerifiedCache::new(capacity)));
        self
    }

    /// Turns the verified-token cache off.
    #[must_use]
    pub fn without_verified_cache(mut self) -> Self {
        self.cache = None;
        self
    }

    /// The verified-token cache, when one is on.
    pub fn verified_cache(&self) -> Option<&VerifiedCache> {
        self.cache.as_deref()
    }

    /// Replaces the clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The key set.
    pub fn keys(&self) -> &Arc<KeySet> {
        &self.keys
    }

    /// The validation options.
    pub fn validation(&self) -> &Validation {
        &self.validation
    }

    /// Validates against the validator's own keys.
    pub fn validate(&self, token: &str) -> Result<ValidToken, JwtRejection> {
        self.validate_with(token, &self.keys)
    }

    /// Validates against `keys` (e.g. keys a before-authentication hook chose).
    pub fn validate_with(&self, token: &str, keys: &KeySet) -> Result<ValidToken, JwtRejection> {
        self.checked(token, keys).map(Checked::into_owned)
    }

    /// Validates through the verified-token cache when it is on.
    pub(super) fn checked(&self, token: &str, keys: &KeySet) -> Result<Checked, JwtRejection> {
        let cache = match &self.cache {
            Some(cache) if self.validation.verify_signature => cache,
            _ => return self.verify(token, keys).map(|(_, t, _)| Checked::Owned(t)),
        };
        if token.len() > self.validation.max_token_len {
            return Err(JwtRejection::TooLong);
        }
        let hash = cache.hash(token);
        if let Some(entry) = cache.get(hash, token, keys) {
            self.check_times(entry.times)?;
            return Ok(Checked::Shared(entry));
        }
        let (key, valid, times) = self.verify(token, keys)?;
        Ok(Checked::Shared(cache.insert(
            hash,
            token,
            key,
            valid,
            times,
            self.clock.now(),
        )))
    }

    /// Every check, and the key that verified the token.
    fn verify(
        &self,
        token: &str,
        keys: &KeySet,
    ) -> Result<(Arc<JwtKey>, ValidToken, Times), JwtRejection> {
        let v = &self.validation;
        if token.len() > v.max_token_len {
            return Err(JwtRejection::TooLong);
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(sig_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtRejection::Malformed("not three segments"));
        };
        if header_b64.len() > v.max_header_len {
            return Err(JwtRejection::HeaderTooLong);
        }
        let header_json = b64(header_b64, "header")?;
        let header = json::header(&header_json).map_err(|e| refused(e, "header JSON"))?;
        let alg = header.alg.ok_or(JwtRejection::Malformed("no alg"))?;
        if alg.eq_ignore_ascii_case("none") {
            return Err(JwtRejection::AlgNone);
        }
        let alg = Algorithm::from_name(&alg).ok_or(JwtRejection::UnsupportedAlgorithm)?;
        if header.crit {
            return Err(JwtRejection::CriticalHeader);
        }
        if let Some(want) = &v.typ {
            let got = header.typ.as_deref().ok_or(JwtRejection::BadType)?;
            let got = strip_prefix_ci(got, "application/").unwrap_or(got);
            let want = strip_prefix_ci(want, "application/").unwrap_or(want);
            if !got.eq_ignore_ascii_case(want) {
                return Err(JwtRejection::BadType);
            }
        }
        let key = keys
            .select(header.kid.as_deref())
            .ok_or(JwtRejection::UnknownKey)?;
        if key.algorithm() != alg {
            return Err(JwtRejection::AlgorithmMismatch);
        }
        if v.verify_signature {
            let signature = b64(sig_b64, "signature")?;
            let signed_len = header_b64.len() + 1 + payload_b64.len();
            if !key.verify(&token.as_bytes()[..signed_len], &signature) {
                return Err(JwtRejection::BadSignature);
            }
        }
        let payload = b64(payload_b64, "payload")?;
        let claims =
            json::object(&payload).map_err(|e| refused(e, "claims are not a JSON object"))?;
        let times = self.check_claims(&claims)?;
        Ok((
            key.clone(),
            ValidToken {
                kid: header.kid,
                claims,
            },
            times,
        ))
    }

    fn check_claims(&self, claims: &Map<String, Value>) -> Result<Times, JwtRejection> {
        let v = &self.validation;
        for name in &v.required {
            if !claims.contains_key(name) {
                return Err(JwtRejection::MissingClaim(name.clone()));
            }
        }
        let times = Times::of(claims)?;
        for name in ["sub", "jti"] {
            if claims.get(name).is_some_and(|c| !c.is_string()) {
                return Err(JwtRejection::WrongClaimType(if name == "sub" {
                    "sub"
                } else {
                    "jti"
                }));
            }
        }
        self.check_times(times)?;

        let iss = match claims.get("iss") {
            None => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => return Err(JwtRejection::WrongClaimType("iss")),
        };
        if v.verify_iss && !v.issuer.is_empty() {
            let iss = iss.ok_or_else(|| JwtRejection::MissingClaim("iss".into()))?;
            if !v.issuer.contains(iss) {
                return Err(JwtRejection::BadIssuer);
            }
        }

        let aud: Option<Vec<&str>> = match claims.get("aud") {
            None => None,
            Some(Value::String(s)) => Some(vec![s.as_str()]),
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|i| i.as_str().ok_or(JwtRejection::WrongClaimType("aud")))
                    .collect::<Result<_, _>>()?,
            ),
            Some(_) => return Err(JwtRejection::WrongClaimType("aud")),
        };
        if v.verify_aud {
            match (aud, v.audience.is_empty()) {
                (None, false) => return Err(JwtRejection::MissingClaim("aud".into())),
                (Some(aud), false) if !aud.iter().any(|a| v.audience.contains(*a)) => {
                    return Err(JwtRejection::BadAudience);
                }
                // A token addressed to an audience, checked by a service that
                // has none configured, is not for us (RFC 7519 §4.1.3).
                (Some(_), true) => return Err(JwtRejection::BadAudience),
                _ => {}
            }
        }
        Ok(times)
    }

    /// The checks that depend on the clock, against the clock of now: all a
    /// hit of the verified-token cache has left to check (the others depend
    /// on the token and the options alone, and both are fixed for an entry).
    pub(super) fn check_times(&self, t: Times) -> Result<(), JwtRejection> {
        let v = &self.validation;
        let now = self.clock.now();
        if let Some(exp) = t.exp
            && v.verify_exp
            && exp <= now - v.leeway
        {
            return Err(JwtRejection::Expired);
        }
        if let Some(nbf) = t.nbf
            && v.verify_nbf
            && nbf > now + v.leeway
        {
            return Err(JwtRejection::NotYetValid);
        }
        if let Some(iat) = t.iat
            && v.verify_iat
            && iat > now + v.leeway
        {
            return Err(JwtRejection::IssuedInFuture);
        }
        if let (Some(max), Some(exp)) = (v.max_lifetime, t.exp)
            && exp.saturating_sub(t.iat.unwrap_or(now)) > max
        {
            return Err(JwtRejection::LifetimeTooLong);
        }
        Ok(())
    }
}

/// The NumericDate claims of a token, read once.
#[derive(Debug, Clone, Copy)]
pub(super) struct Times {
    /// `exp`.
    pub(super) exp: Option<i64>,
    /// `nbf`.
    pub(super) nbf: Option<i64>,
    /// `iat`.
    pub(super) iat: Option<i64>,
}

impl Times {
    /// Reads them; a claim of the wrong type is refused.
    pub(super) fn of(claims: &Map<String, Value>) -> Result<Self, JwtRejection> {
        Ok(Self {
            exp: numeric(claims, "exp")?,
            nbf: numeric(claims, "nbf")?,
            iat: numeric(claims, "iat")?,
        })
    }
}

/// `s` without `prefix`, compared ASCII case-insensitively; `None` when `s`
/// does not start with it. It never splits a character, whatever `s` holds.
pub(crate) fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let (head, rest) = s.split_at_checked(prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then_some(rest)
}

/// The rejection of a header or claims that [`json`] refused.
fn refused(e: JsonError, malformed: &'static str) -> JwtRejection {
    match e {
        JsonError::RepeatedName => JwtRejection::RepeatedName,
        JsonError::Malformed => JwtRejection::Malformed(malformed),
    }
}

fn b64(segment: &str, what: &'static str) -> Result<Vec<u8>, JwtRejection> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| JwtRejection::Malformed(what))
}

/// A NumericDate claim: a JSON number (fractions truncated), or absent.
fn numeric(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, JwtRejection> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map(Some)
            .ok_or(JwtRejection::WrongClaimType(name)),
        Some(_) => Err(JwtRejection::WrongClaimType(name)),
    }
}
