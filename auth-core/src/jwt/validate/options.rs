//! [`Validation`]: what a token must satisfy beyond its signature, and
//! the defaults of each option.

use std::collections::BTreeSet;

/// The default cap on a token's total length, in bytes.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;
/// The default cap on the encoded header's length, in bytes.
pub const DEFAULT_MAX_HEADER_LEN: usize = 1024;
/// The default maximum lifetime (`exp - iat`): 30 days.
pub const DEFAULT_MAX_LIFETIME: i64 = 30 * 24 * 3600;
/// The default clock leeway, in seconds.
pub const DEFAULT_LEEWAY: i64 = 30;

/// What a token must satisfy, beyond its signature. Strict by default.
///
/// | option | default |
/// |---|---|
/// | verify `exp` / `nbf` / `iat` (not in the future) | on |
/// | required claims | `exp` (plus `aud`, `iss` when configured) |
/// | leeway | 30 s |
/// | maximum lifetime (`exp - iat`, or `exp - now`) | 30 days |
/// | token / header length caps | 8 KiB / 1 KiB |
/// | a token with `aud` when no audience is configured | refused (RFC 7519 §4.1.3) |
///
/// ```
/// use auth_core::jwt::Validation;
///
/// let v = Validation::new().issuer("https://issuer.example").audience("api").leeway(5);
/// # let _ = v;
/// ```
#[derive(Debug, Clone)]
pub struct Validation {
    pub(super) verify_signature: bool,
    pub(super) verify_exp: bool,
    pub(super) verify_nbf: bool,
    pub(super) verify_iat: bool,
    pub(super) verify_aud: bool,
    pub(super) verify_iss: bool,
    pub(super) required: BTreeSet<String>,
    pub(super) audience: BTreeSet<String>,
    pub(super) issuer: BTreeSet<String>,
    pub(super) leeway: i64,
    pub(super) typ: Option<String>,
    pub(super) max_lifetime: Option<i64>,
    pub(super) max_token_len: usize,
    pub(super) max_header_len: usize,
}

impl Default for Validation {
    fn default() -> Self {
        Self::new()
    }
}

impl Validation {
    /// The strict defaults.
    pub fn new() -> Self {
        Self {
            verify_signature: true,
            verify_exp: true,
            verify_nbf: true,
            verify_iat: true,
            verify_aud: true,
            verify_iss: true,
            required: BTreeSet::from(["exp".to_owned()]),
            audience: BTreeSet::new(),
            issuer: BTreeSet::new(),
            leeway: DEFAULT_LEEWAY,
            typ: None,
            max_lifetime: Some(DEFAULT_MAX_LIFETIME),
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            max_header_len: DEFAULT_MAX_HEADER_LEN,
        }
    }

    /// Accepts this audience (may be called several times: any of them matches).
    /// Once one is configured, `aud` is required.
    #[must_use]
    pub fn audience(mut self, aud: impl Into<String>) -> Self {
        self.audience.insert(aud.into());
        self
    }

    /// Accepts this issuer (may be called several times). Once one is configured, `iss` is required.
    #[must_use]
    pub fn issuer(mut self, iss: impl Into<String>) -> Self {
        self.issuer.insert(iss.into());
        self
    }

    /// Requires these claims to be present (replacing the default `exp`).
    #[must_use]
    pub fn required_claims<I, S>(mut self, claims: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required = claims.into_iter().map(Into::into).collect();
        self
    }

    /// Clock leeway in seconds for `exp`, `nbf` and `iat`.
    #[must_use]
    pub fn leeway(mut self, secs: u32) -> Self {
        self.leeway = i64::from(secs);
        self
    }

    /// Whether `exp` is checked (when present).
    #[must_use]
    pub fn verify_exp(mut self, on: bool) -> Self {
        self.verify_exp = on;
        self
    }

    /// Whether `nbf` is checked (when present).
    #[must_use]
    pub fn verify_nbf(mut self, on: bool) -> Self {
        self.verify_nbf = on;
        self
    }

    /// Whether an `iat` in the future is refused.
    #[must_use]
    pub fn verify_iat(mut self, on: bool) -> Self {
        self.verify_iat = on;
        self
    }

    /// Whether `aud` is checked against the configured audiences.
    #[must_use]
    pub fn verify_aud(mut self, on: bool) -> Self {
        self.verify_aud = on;
        self
    }

    /// Whether `iss` is checked against the configured issuers.
    #[must_use]
    pub fn verify_iss(mut self, on: bool) -> Self {
        self.verify_iss = on;
        self
    }

    /// Requires the header's `typ` to be this (case-insensitive; an
    /// `application/` prefix is allowed, per RFC 7515 §4.1.9).
    #[must_use]
    pub fn typ(mut self, typ: impl Into<String>) -> Self {
        self.typ = Some(typ.into());
        self
    }

    /// The longest lifetime accepted (`exp - iat`, or `exp - now` without
    /// `iat`), in seconds; `None` for no limit.
    #[must_use]
    pub fn max_lifetime(mut self, secs: Option<u64>) -> Self {
        self.max_lifetime = secs.map(|s| i64::try_from(s).unwrap_or(i64::MAX));
        self
    }

    /// Caps the token's total length.
    #[must_use]
    pub fn max_token_len(mut self, bytes: usize) -> Self {
        self.max_token_len = bytes;
        self
    }

    /// Caps the encoded header's length.
    #[must_use]
    pub fn max_header_len(mut self, bytes: usize) -> Self {
        self.max_header_len = bytes;
        self
    }

    /// Turns off signature verification. **Never do this for tokens from a
    /// request**: anyone can then forge any claim. It exists for tokens
    /// already verified elsewhere (e.g. by a gateway on a trusted hop).
    #[must_use]
    pub fn insecure_disable_signature_validation(mut self) -> Self {
        self.verify_signature = false;
        self
    }

    /// Turns off every claim check and requirement, leaving structure,
    /// header and signature checks; for verifying bare JWS payloads.
    #[must_use]
    pub fn signature_only(mut self) -> Self {
        self.verify_exp = false;
        self.verify_nbf = false;
        self.verify_iat = false;
        self.verify_aud = false;
        self.verify_iss = false;
        self.required.clear();
        self.max_lifetime = None;
        self
    }

    /// Whether signatures are verified.
    pub fn verifies_signature(&self) -> bool {
        self.verify_signature
    }
}
