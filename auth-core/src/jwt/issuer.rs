//! [`TokenIssuer`]: minting access tokens, and rotating its signing keys.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use super::{DEFAULT_LEEWAY, JwtKey, KeyError, KeySet};
use crate::clock::{Clock, SystemClock};
use crate::error::{AuthError, AuthResult};
use crate::principal::Principal;
use crate::random::random_id;

/// A freshly minted token.
pub struct IssuedToken {
    token: SecretString,
    /// Its `jti`.
    pub jti: String,
    /// `iat`, seconds since the epoch.
    pub issued_at: i64,
    /// `exp`, seconds since the epoch.
    pub expires_at: i64,
}

impl IssuedToken {
    /// The compact token, to hand to the client.
    pub fn expose(&self) -> &str {
        self.token.expose_secret()
    }

    /// Seconds from issue to expiry (OAuth2 `expires_in`).
    pub fn expires_in(&self) -> i64 {
        self.expires_at - self.issued_at
    }
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"[REDACTED]")
            .field("jti", &self.jti)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The default access-token lifetime: 1440 minutes.
pub const DEFAULT_TOKEN_MINUTES: u64 = 1440;

/// Mints access tokens: `sub`, `username`, `permissions`, `roles`, `iat`,
/// `exp`, `jti`, and `iss`/`aud` when configured, signed with the current
/// signing key (its `kid` in the header).
///
/// Signing keys rotate without breaking anyone: [`rotate_to`](Self::rotate_to)
/// publishes the new key at once (in [`keys`](Self::keys), hence in
/// `/.well-known/jwks.json`) and signs with it only after `publish_ahead`, so
/// verifiers that cache the key set see it before its first token; the old
/// key stays published until the last token it signed has expired, then
/// leaves the set. Clones share the same keys.
///
/// ```
/// use std::sync::Arc;
/// use auth_core::clock::{Clock, ManualClock};
/// use auth_core::jwt::{Algorithm, JwtKey, KeySet, TokenIssuer};
///
/// let clock = ManualClock::new(1_000_000);
/// let old = JwtKey::generate(Algorithm::EdDSA).unwrap().with_kid("2025-01");
/// let issuer = TokenIssuer::new(Arc::new(KeySet::single(old)), None).unwrap()
///     .lifetime_minutes(60)
///     .with_clock(Arc::new(clock.clone()));
/// issuer.rotate_to(JwtKey::generate(Algorithm::EdDSA).unwrap().with_kid("2025-02"), 300).unwrap();
/// assert!(issuer.keys().select(Some("2025-02")).is_some());   // published at once
/// assert_eq!(issuer.signing_kid().as_deref(), Some("2025-01")); // not signing yet
/// clock.advance(300);
/// assert_eq!(issuer.signing_kid().as_deref(), Some("2025-02"));
/// clock.advance(3600 + 60);
/// assert!(issuer.keys().select(Some("2025-01")).is_none());   // retired
/// ```
#[derive(Debug, Clone)]
pub struct TokenIssuer {
    ring: Arc<KeyRing>,
    issuer: Option<String>,
    audience: Option<String>,
    lifetime_secs: i64,
    pub(super) clock: Arc<dyn Clock>,
}

/// The issuer's keys over time: the signing key of each period and the
/// published (verification) keys.
struct KeyRing {
    state: std::sync::Mutex<RingState>,
    snapshot: arc_swap::ArcSwap<RingSnapshot>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let snapshot = self.snapshot.load();
        f.debug_struct("KeyRing")
            .field("signing", &snapshot.signing)
            .field("published", &snapshot.keys)
            .finish()
    }
}

#[derive(Clone)]
struct RingEntry {
    key: Arc<JwtKey>,
    /// Signs from this time on (until a later entry's time).
    signs_from: i64,
    /// Leaves the published set at this time.
    retire_at: Option<i64>,
}

struct RingState {
    /// Verification-only keys given at construction.
    others: Vec<Arc<JwtKey>>,
    /// Signing keys, by `signs_from`.
    entries: Vec<RingEntry>,
}

struct RingSnapshot {
    keys: Arc<KeySet>,
    signing: Option<Arc<JwtKey>>,
    valid_from: i64,
    valid_until: i64,
}

impl RingState {
    fn snapshot(&self, now: i64) -> RingSnapshot {
        let live = |e: &&RingEntry| e.retire_at.is_none_or(|r| now < r);
        let mut keys = KeySet::new();
        for k in &self.others {
            keys.insert_arc(k.clone());
        }
        for e in self.entries.iter().filter(live) {
            keys.insert_arc(e.key.clone());
        }
        let current = self
            .entries
            .iter()
            .filter(|e| e.signs_from <= now)
            .max_by_key(|e| e.signs_from)
            .or_else(|| self.entries.first());
        let valid_from = self
            .entries
            .iter()
            .flat_map(|e| [Some(e.signs_from), e.retire_at])
            .flatten()
            .filter(|t| *t <= now)
            .max()
            .unwrap_or(i64::MIN);
        let valid_until = self
            .entries
            .iter()
            .flat_map(|e| [Some(e.signs_from), e.retire_at])
            .flatten()
            .filter(|t| *t > now)
            .min()
            .unwrap_or(i64::MAX);
        RingSnapshot {
            keys: Arc::new(keys),
            signing: current.map(|e| e.key.clone()),
            valid_from,
            valid_until,
        }
    }
}

impl KeyRing {
    fn current(&self, now: i64) -> Arc<RingSnapshot> {
        let snapshot = self.snapshot.load_full();
        if snapshot.valid_from <= now && now < snapshot.valid_until {
            return snapshot;
        }
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = Arc::new(state.snapshot(now));
        self.snapshot.store(fresh.clone());
        fresh
    }
}

impl TokenIssuer {
    /// An issuer signing with the key of `kid` in `keys` (or, with `None`, the
    /// set's only signing key). Fails when that key cannot sign. The other
    /// keys of the set stay published for verification.
    pub fn new(keys: Arc<KeySet>, kid: Option<&str>) -> Result<Self, KeyError> {
        let signing = match kid {
            Some(kid) => keys.select(Some(kid)).cloned(),
            None => {
                let mut signers = keys.keys().filter(|k| k.can_sign());
                match (signers.next(), signers.next()) {
                    (Some(k), None) => Some(k.clone()),
                    _ => None,
                }
            }
        }
        .ok_or(KeyError::VerifyOnly)?;
        if !signing.can_sign() {
            return Err(KeyError::VerifyOnly);
        }
        let state = RingState {
            others: keys
                .keys()
                .filter(|k| !Arc::ptr_eq(k, &signing))
                .cloned()
                .collect(),
            entries: vec![RingEntry {
                key: signing,
                signs_from: i64::MIN,
                retire_at: None,
            }],
        };
        let snapshot = state.snapshot(0);
        Ok(Self {
            ring: Arc::new(KeyRing {
                state: std::sync::Mutex::new(state),
                snapshot: arc_swap::ArcSwap::from_pointee(snapshot),
            }),
            issuer: None,
            audience: None,
            lifetime_secs: i64::try_from(DEFAULT_TOKEN_MINUTES * 60).unwrap_or(i64::MAX),
            clock: Arc::new(SystemClock),
        })
    }

    /// Rotates to `key`: published now, signing `publish_ahead_secs` from
    /// now (give verifiers time to refetch the key set: at least their
    /// cache lifetime). Every key signing until then stays published until
    /// its last token has expired (the token lifetime plus
    /// [`DEFAULT_LEEWAY`]), then leaves the set.
    ///
    /// The new key must be able to sign and have a `kid` no published key
    /// has; the current signing key must have a `kid` too, so verifiers can
    /// tell them apart.
    pub fn rotate_to(&self, key: JwtKey, publish_ahead_secs: u64) -> Result<(), KeyError> {
        if !key.can_sign() {
            return Err(KeyError::VerifyOnly);
        }
        let kid = key.kid().map(str::to_owned).ok_or_else(|| {
            KeyError::Invalid("a rotated-in key needs a kid, to be told from the old one".into())
        })?;
        let now = self.clock.now();
        let mut state = self.ring.state.lock().unwrap_or_else(|e| e.into_inner());
        let published = state.snapshot(now).keys;
        if published.select(Some(&kid)).is_some() {
            return Err(KeyError::Invalid(format!(
                "a published key already has kid `{kid}`"
            )));
        }
        if published.keys().any(|k| k.kid().is_none()) {
            return Err(KeyError::Invalid(
                "the current keys need kids before a rotation, or tokens could not name theirs"
                    .into(),
            ));
        }
        let switch = now.saturating_add(i64::try_from(publish_ahead_secs).unwrap_or(i64::MAX));
        let retire = switch
            .saturating_add(self.lifetime_secs)
            .saturating_add(DEFAULT_LEEWAY);
        for e in &mut state.entries {
            if e.retire_at.is_none() && e.signs_from < switch {
                e.retire_at = Some(retire);
            }
        }
        state.entries.push(RingEntry {
            key: Arc::new(key),
            signs_from: switch,
            retire_at: None,
        });
        state.entries.sort_by_key(|e| e.signs_from);
        self.ring.snapshot.store(Arc::new(state.snapshot(now)));
        Ok(())
    }

    /// Withdraws the key `kid` at once (a compromised key): it neither signs
    /// nor verifies from now on. The key signing now cannot be retired this
    /// way; rotate away from it first. Answers whether a key was withdrawn.
    pub fn retire(&self, kid: &str) -> Result<bool, KeyError> {
        let now = self.clock.now();
        let mut state = self.ring.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.snapshot(now).signing.as_ref().and_then(|k| k.kid()) == Some(kid) {
            return Err(KeyError::Invalid(format!(
                "`{kid}` is the signing key: rotate to another key first"
            )));
        }
        let before = state.others.len() + state.entries.len();
        state.others.retain(|k| k.kid() != Some(kid));
        state.entries.retain(|e| e.key.kid() != Some(kid));
        let withdrawn = before != state.others.len() + state.entries.len();
        self.ring.snapshot.store(Arc::new(state.snapshot(now)));
        Ok(withdrawn)
    }

    /// The `kid` of the key signing now.
    pub fn signing_kid(&self) -> Option<String> {
        self.ring
            .current(self.clock.now())
            .signing
            .as_ref()
            .and_then(|k| k.kid())
            .map(str::to_owned)
    }

    /// The configured `iss`, when there is one.
    pub fn issuer_id(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The lifetime of minted tokens, in seconds.
    pub fn lifetime_secs(&self) -> i64 {
        self.lifetime_secs
    }

    /// Sets `iss`.
    #[must_use]
    pub fn issuer(mut self, iss: impl Into<String>) -> Self {
        self.issuer = Some(iss.into());
        self
    }

    /// Sets `aud`.
    #[must_use]
    pub fn audience(mut self, aud: impl Into<String>) -> Self {
        self.audience = Some(aud.into());
        self
    }

    /// Sets the lifetime in minutes (default 1440).
    #[must_use]
    pub fn lifetime_minutes(mut self, minutes: u64) -> Self {
        self.lifetime_secs = i64::try_from(minutes.saturating_mul(60)).unwrap_or(i64::MAX);
        self
    }

    /// Replaces the clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The keys published now, to verify tokens with: the signing key,
    /// keys rotated in ahead of signing, and old keys whose tokens may not
    /// have expired yet.
    pub fn keys(&self) -> Arc<KeySet> {
        self.ring.current(self.clock.now()).keys.clone()
    }

    /// Mints a token for `principal`.
    pub fn issue(&self, principal: &Principal) -> AuthResult<IssuedToken> {
        let mut claims = Map::new();
        claims.insert("sub".into(), principal.id.clone().into());
        claims.insert("username".into(), principal.name.clone().into());
        claims.insert(
            "permissions".into(),
            serde_json::to_value(&principal.permissions)
                .map_err(|e| AuthError::Misconfigured(e.to_string()))?,
        );
        claims.insert(
            "roles".into(),
            principal.roles.iter().cloned().collect::<Vec<_>>().into(),
        );
        self.issue_claims(claims)
    }

    /// Mints a token with these claims plus `iat`, `exp`, `jti`, `iss`, `aud`
    /// (the issuer's values replace any given).
    pub fn issue_claims(&self, claims: Map<String, Value>) -> AuthResult<IssuedToken> {
        self.issue_claims_for(claims, self.lifetime_secs)
    }

    /// As [`issue_claims`](Self::issue_claims), with a lifetime of
    /// `lifetime_secs` instead of the issuer's.
    pub fn issue_claims_for(
        &self,
        mut claims: Map<String, Value>,
        lifetime_secs: i64,
    ) -> AuthResult<IssuedToken> {
        let now = self.clock.now();
        let exp = now.saturating_add(lifetime_secs);
        let jti = random_id()?;
        claims.insert("iat".into(), now.into());
        claims.insert("exp".into(), exp.into());
        claims.insert("jti".into(), jti.clone().into());
        if let Some(iss) = &self.issuer {
            claims.insert("iss".into(), iss.clone().into());
        }
        if let Some(aud) = &self.audience {
            claims.insert("aud".into(), aud.clone().into());
        }
        let signing = self.ring.current(now).signing.clone().ok_or_else(|| {
            AuthError::Misconfigured("the token issuer has no signing key".into())
        })?;
        let mut header = Map::new();
        header.insert("alg".into(), signing.algorithm().name().into());
        header.insert("typ".into(), "JWT".into());
        if let Some(kid) = signing.kid() {
            header.insert("kid".into(), kid.into());
        }
        let token = sign_compact(&signing, &Value::Object(header), &Value::Object(claims))?;
        Ok(IssuedToken {
            token: SecretString::from(token),
            jti,
            issued_at: now,
            expires_at: exp,
        })
    }
}

/// Signs a header and claims into a compact JWS with `key`.
pub fn sign_compact(key: &JwtKey, header: &Value, claims: &Value) -> AuthResult<String> {
    let enc = |v: &Value| serde_json::to_vec(v).map(|b| URL_SAFE_NO_PAD.encode(b));
    let misconfigured = |e: serde_json::Error| AuthError::Misconfigured(e.to_string());
    let mut token = enc(header).map_err(misconfigured)?;
    token.push('.');
    token.push_str(&enc(claims).map_err(misconfigured)?);
    let sig = key.sign(token.as_bytes())?;
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(sig));
    Ok(token)
}
