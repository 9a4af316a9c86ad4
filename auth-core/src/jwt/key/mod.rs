//! Keys: each pinned to exactly one algorithm, checked when loaded.

use std::fmt;

use aws_lc_rs::signature::{self as sig, KeyPair, ParsedPublicKey};
use aws_lc_rs::{hmac, rand as lc_rand};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

mod algorithm;
mod checks;
mod set;

pub use algorithm::Algorithm;
pub use set::KeySet;

use algorithm::{Family, ecdsa_signing, family, hmac_params_for, rsa_encoding, rsa_params};
use checks::{
    check_not_roca, check_rsa_bits, check_rsa_exponent, parse_public, point_jwk, rejected, rsa_jwk,
    strip_leading_zeros,
};

/// The smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// Why a key could not be loaded. Loading happens at start-up, so each of
/// these is a configuration error, never a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// An HMAC secret shorter than the hash output.
    #[error(
        "{alg:?} needs a secret of at least {min} bytes, got {got}; generate one, e.g. with `openssl rand -base64 48`"
    )]
    ShortSecret {
        /// The algorithm.
        alg: Algorithm,
        /// The minimum length in bytes.
        min: usize,
        /// The length given.
        got: usize,
    },
    /// An HMAC secret long enough but guessable: a well-known default
    /// (`secret`, `your-256-bit-secret`, repeated to length), a placeholder
    /// (`changeme`), a short pattern repeated, or too few distinct
    /// characters. The reason says which; the secret is never shown.
    #[error(
        "the HMAC secret is {0}, the first an attacker tries: generate a random one, e.g. with `openssl rand -base64 48`"
    )]
    WeakSecret(&'static str),
    /// An RSA key below [`MIN_RSA_BITS`], with its size when it is known
    /// (a private key the backend refuses as too small does not tell).
    #[error("RSA keys must have at least {MIN_RSA_BITS} bits{}", .0.map(|b| format!(", got {b}")).unwrap_or_default())]
    WeakRsa(Option<usize>),
    /// An RSA modulus with the ROCA fingerprint (CVE-2017-15361): generated
    /// by a flawed library and factorable.
    #[error(
        "the RSA key has the ROCA fingerprint (CVE-2017-15361) and can be factored: replace it"
    )]
    RocaVulnerable,
    /// The key material does not fit the algorithm (wrong family, curve or length).
    #[error("the key does not fit {0:?}: {1}")]
    Mismatch(Algorithm, String),
    /// The key could not be parsed.
    #[error("invalid key: {0}")]
    Invalid(String),
    /// An algorithm or key type this crate does not support.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A JWK whose `use` or `key_ops` forbids verifying signatures.
    #[error("the JWK is not for signature verification ({0})")]
    NotForSignatures(String),
    /// Signing was asked of a key that can only verify.
    #[error("this key can only verify: a private key is needed to sign")]
    VerifyOnly,
}

impl From<KeyError> for crate::AuthError {
    fn from(e: KeyError) -> Self {
        crate::AuthError::Misconfigured(e.to_string())
    }
}

enum Verifier {
    Hmac(Box<hmac::Key>),
    Public(ParsedPublicKey),
}

enum Signer {
    Hmac(Box<hmac::Key>),
    Rsa(sig::RsaKeyPair),
    Ec(sig::EcdsaKeyPair),
    Ed(sig::Ed25519KeyPair),
}

/// A verification key (and, when it has its private half, a signing key),
/// pinned to exactly one algorithm.
///
/// The token's header never chooses the algorithm: a token verifies only
/// when its `alg` is the key's. Keys are checked when loaded (HMAC secrets at
/// least as long as the hash output and not guessable, RSA at least 2048
/// bits, EC points on the algorithm's curve, Ed25519 exactly 32 bytes) and a
/// bad key is a [`KeyError`]. `Debug` shows the algorithm and `kid`, never
/// key material.
///
/// ```
/// use auth_core::jwt::{Algorithm, JwtKey};
///
/// let key = JwtKey::hmac(Algorithm::HS256, b"an-hmac-secret-of-at-least-32-bytes!")
///     .unwrap()
///     .with_kid("2025-01");
/// assert_eq!(key.algorithm(), Algorithm::HS256);
/// assert!(JwtKey::hmac(Algorithm::HS256, b"short").is_err());
/// assert!(JwtKey::hmac(Algorithm::HS256, b"secretsecretsecretsecretsecretse").is_err());
/// ```
pub struct JwtKey {
    kid: Option<String>,
    alg: Algorithm,
    verifier: Verifier,
    signer: Option<Signer>,
    /// The public key as a JWK, for asymmetric keys.
    public_jwk: Option<Value>,
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("can_sign", &self.signer.is_some())
            .finish_non_exhaustive()
    }
}

impl JwtKey {
    /// An HMAC key (`HS256`, `HS384`, `HS512`); the secret must be at least as
    /// long as the hash output (32, 48, 64 bytes) and not guessable (see
    /// [`KeyError::WeakSecret`]). It signs and verifies.
    pub fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Self, KeyError> {
        let (hmac_alg, min) = hmac_params_for(alg, secret)?;
        if let Some(reason) = super::weak::weakness(secret, min) {
            return Err(KeyError::WeakSecret(reason));
        }
        Ok(Self::hmac_unchecked(alg, hmac_alg, secret))
    }

    /// An HMAC key as [`hmac`](Self::hmac) makes it, the length floor
    /// included, but accepting a guessable secret ([`KeyError::WeakSecret`]).
    /// **Never for a service's own secret**: whoever guesses it mints any
    /// token. It exists for published test vectors, such as Wycheproof's
    /// all-zero key. A guessable secret loaded this way is logged (the
    /// secret is not).
    ///
    /// ```
    /// use auth_core::jwt::{Algorithm, JwtKey};
    ///
    /// assert!(JwtKey::hmac(Algorithm::HS256, &[0u8; 32]).is_err());
    /// let vectors_key = JwtKey::insecure_hmac_accepting_guessable_secret(Algorithm::HS256, &[0u8; 32]);
    /// assert!(vectors_key.is_ok());
    /// ```
    pub fn insecure_hmac_accepting_guessable_secret(
        alg: Algorithm,
        secret: &[u8],
    ) -> Result<Self, KeyError> {
        let (hmac_alg, min) = hmac_params_for(alg, secret)?;
        if let Some(reason) = super::weak::weakness(secret, min) {
            tracing::warn!(%alg, reason, "an HMAC key with a guessable secret was loaded: whoever guesses it can forge tokens");
        }
        Ok(Self::hmac_unchecked(alg, hmac_alg, secret))
    }

    fn hmac_unchecked(alg: Algorithm, hmac_alg: hmac::Algorithm, secret: &[u8]) -> Self {
        Self {
            kid: None,
            alg,
            verifier: Verifier::Hmac(Box::new(hmac::Key::new(hmac_alg, secret))),
            signer: Some(Signer::Hmac(Box::new(hmac::Key::new(hmac_alg, secret)))),
            public_jwk: None,
        }
    }

    /// A verification-only key from a PEM public key: `PUBLIC KEY` (SPKI) for
    /// any asymmetric algorithm, or `RSA PUBLIC KEY` (PKCS#1) for RSA.
    pub fn from_public_pem(alg: Algorithm, pem_text: &[u8]) -> Result<Self, KeyError> {
        let block = pem::parse(pem_text).map_err(|e| KeyError::Invalid(e.to_string()))?;
        match (block.tag(), family(alg)) {
            ("PUBLIC KEY", Family::Rsa | Family::Ec | Family::Ed)
            | ("RSA PUBLIC KEY", Family::Rsa) => Self::from_public_der(alg, block.contents()),
            (tag, _) => Err(KeyError::Mismatch(
                alg,
                format!("a `{tag}` PEM block is not a public key for this algorithm"),
            )),
        }
    }

    /// A verification-only key from DER: SPKI, or PKCS#1 `RSAPublicKey` for RSA.
    pub fn from_public_der(alg: Algorithm, der: &[u8]) -> Result<Self, KeyError> {
        let jwk = match family(alg) {
            Family::Hmac => {
                return Err(KeyError::Mismatch(
                    alg,
                    "HMAC keys are secrets, not public keys".into(),
                ));
            }
            Family::Rsa => {
                let public = aws_lc_rs::rsa::PublicKey::from_der(der)
                    .map_err(|e| KeyError::Invalid(e.to_string()))?;
                check_rsa_bits(public.modulus_len() * 8)?;
                check_rsa_exponent(public.exponent().big_endian_without_leading_zero())?;
                check_not_roca(public.modulus().big_endian_without_leading_zero())?;
                rsa_jwk(
                    public.modulus().big_endian_without_leading_zero(),
                    public.exponent().big_endian_without_leading_zero(),
                )
            }
            Family::Ec | Family::Ed => Value::Null,
        };
        let parsed = parse_public(alg, der)?;
        let jwk = if jwk.is_null() {
            point_jwk(alg, &parsed)
        } else {
            jwk
        };
        Ok(Self {
            kid: None,
            alg,
            verifier: Verifier::Public(parsed),
            signer: None,
            public_jwk: Some(jwk),
        })
    }

    /// A signing key from a PEM private key (`PRIVATE KEY` (PKCS#8), `RSA
    /// PRIVATE KEY` or `EC PRIVATE KEY`); it verifies with its public half.
    pub fn from_private_pem(alg: Algorithm, pem_text: &[u8]) -> Result<Self, KeyError> {
        let block = pem::parse(pem_text).map_err(|e| KeyError::Invalid(e.to_string()))?;
        let der = block.contents();
        let bad = rejected;
        let signer = match (block.tag(), family(alg)) {
            ("PRIVATE KEY", Family::Rsa) => {
                Signer::Rsa(sig::RsaKeyPair::from_pkcs8(der).map_err(bad)?)
            }
            ("RSA PRIVATE KEY", Family::Rsa) => {
                Signer::Rsa(sig::RsaKeyPair::from_der(der).map_err(bad)?)
            }
            ("PRIVATE KEY", Family::Ec) => Signer::Ec(
                sig::EcdsaKeyPair::from_pkcs8(
                    ecdsa_signing(alg).ok_or(KeyError::Unsupported(format!("{alg:?}")))?,
                    der,
                )
                .map_err(bad)?,
            ),
            ("EC PRIVATE KEY", Family::Ec) => Signer::Ec(
                sig::EcdsaKeyPair::from_private_key_der(
                    ecdsa_signing(alg).ok_or(KeyError::Unsupported(format!("{alg:?}")))?,
                    der,
                )
                .map_err(bad)?,
            ),
            ("PRIVATE KEY", Family::Ed) => {
                Signer::Ed(sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(bad)?)
            }
            (tag, _) => {
                return Err(KeyError::Mismatch(
                    alg,
                    format!("a `{tag}` PEM block is not a private key for this algorithm"),
                ));
            }
        };
        Self::from_signer(alg, signer)
    }

    /// A new random signing key for `alg`: Ed25519 (`EdDSA`) or ECDSA
    /// (`ES256`, `ES384`); RSA and HMAC keys are made elsewhere (a secret
    /// from settings, an RSA key from a PEM file).
    ///
    /// ```
    /// use auth_core::jwt::{Algorithm, JwtKey};
    ///
    /// let key = JwtKey::generate(Algorithm::ES256).unwrap().with_kid("k1");
    /// assert!(key.can_sign() && key.public_jwk().is_some());
    /// assert!(JwtKey::generate(Algorithm::RS256).is_err());
    /// ```
    pub fn generate(alg: Algorithm) -> Result<Self, KeyError> {
        let rng = lc_rand::SystemRandom::new();
        let failed = |_| KeyError::Invalid("key generation failed".into());
        let pkcs8 = match family(alg) {
            Family::Ed => sig::Ed25519KeyPair::generate_pkcs8(&rng).map_err(failed)?,
            Family::Ec => sig::EcdsaKeyPair::generate_pkcs8(
                ecdsa_signing(alg).ok_or(KeyError::Unsupported(format!("{alg:?}")))?,
                &rng,
            )
            .map_err(failed)?,
            Family::Rsa | Family::Hmac => {
                return Err(KeyError::Unsupported(format!(
                    "generating {alg} keys: load one instead"
                )));
            }
        };
        Self::from_pkcs8_der(alg, pkcs8.as_ref())
    }

    /// A signing key from a PKCS#8 DER document (RSA, EC or Ed25519).
    pub fn from_pkcs8_der(alg: Algorithm, der: &[u8]) -> Result<Self, KeyError> {
        let bad = rejected;
        let signer = match family(alg) {
            Family::Rsa => Signer::Rsa(sig::RsaKeyPair::from_pkcs8(der).map_err(bad)?),
            Family::Ec => Signer::Ec(
                sig::EcdsaKeyPair::from_pkcs8(
                    ecdsa_signing(alg).ok_or(KeyError::Unsupported(format!("{alg:?}")))?,
                    der,
                )
                .map_err(bad)?,
            ),
            Family::Ed => {
                Signer::Ed(sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(bad)?)
            }
            Family::Hmac => return Err(KeyError::Mismatch(alg, "HMAC keys are secrets".into())),
        };
        Self::from_signer(alg, signer)
    }

    fn from_signer(alg: Algorithm, signer: Signer) -> Result<Self, KeyError> {
        let public: Vec<u8> = match &signer {
            Signer::Rsa(k) => {
                check_rsa_bits(k.public_modulus_len() * 8)?;
                k.public_key().as_ref().to_vec()
            }
            Signer::Ec(k) => k.public_key().as_ref().to_vec(),
            Signer::Ed(k) => k.public_key().as_ref().to_vec(),
            Signer::Hmac(_) => return Err(KeyError::Mismatch(alg, "not an asymmetric key".into())),
        };
        let mut key = Self::from_public_der(alg, &public)?;
        key.signer = Some(signer);
        Ok(key)
    }

    /// A key from a JWK (RFC 7517). The JWK must name its `alg` (a key is
    /// pinned to one algorithm); `use` other than `sig`, or `key_ops` without
    /// `verify`, refuse the key. `kid` is taken when present. An `oct` key
    /// gives an HMAC key.
    pub fn from_jwk(jwk: &Value) -> Result<Self, KeyError> {
        let alg = jwk.get("alg").and_then(Value::as_str).ok_or_else(|| {
            KeyError::Invalid("the JWK has no `alg`: a key must be pinned to one algorithm".into())
        })?;
        let alg = Algorithm::from_name(alg)
            .ok_or_else(|| KeyError::Unsupported(format!("algorithm `{alg}`")))?;
        Self::from_jwk_with_alg(jwk, alg)
    }

    /// A key from a JWK, pinned to `alg`; a JWK `alg` that differs is refused.
    pub fn from_jwk_with_alg(jwk: &Value, alg: Algorithm) -> Result<Self, KeyError> {
        let obj = jwk
            .as_object()
            .ok_or_else(|| KeyError::Invalid("a JWK is a JSON object".into()))?;
        let text = |name: &str| -> Result<Option<&str>, KeyError> {
            match obj.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(KeyError::Invalid(format!(
                    "JWK member `{name}` must be a string"
                ))),
            }
        };
        let bytes = |name: &str| -> Result<Vec<u8>, KeyError> {
            let s = text(name)?
                .ok_or_else(|| KeyError::Invalid(format!("JWK member `{name}` is missing")))?;
            URL_SAFE_NO_PAD
                .decode(s)
                .map_err(|_| KeyError::Invalid(format!("JWK member `{name}` is not base64url")))
        };
        if let Some(named) = text("alg")?
            && named != alg.name()
        {
            return Err(KeyError::Mismatch(alg, format!("the JWK is for `{named}`")));
        }
        if let Some(u) = text("use")?
            && u != "sig"
        {
            return Err(KeyError::NotForSignatures(format!("use `{u}`")));
        }
        if let Some(ops) = obj.get("key_ops") {
            let ops = ops
                .as_array()
                .ok_or_else(|| KeyError::Invalid("JWK `key_ops` must be an array".into()))?;
            if !ops.iter().any(|o| o.as_str() == Some("verify")) {
                return Err(KeyError::NotForSignatures("key_ops lacks `verify`".into()));
            }
        }
        let kty = text("kty")?.ok_or_else(|| KeyError::Invalid("the JWK has no `kty`".into()))?;
        if kty != "oct" && obj.contains_key("d") {
            return Err(KeyError::Invalid(
                "the JWK holds a private key (`d`): publish and load only the public part".into(),
            ));
        }
        let mut key = match (kty, family(alg)) {
            ("oct", Family::Hmac) => Self::hmac(alg, &bytes("k")?)?,
            ("RSA", Family::Rsa) => {
                let (n, e) = (bytes("n")?, bytes("e")?);
                let n_trim = strip_leading_zeros(&n);
                check_rsa_bits(n_trim.len() * 8)?;
                check_rsa_exponent(strip_leading_zeros(&e))?;
                check_not_roca(n_trim)?;
                let params = rsa_params(alg).ok_or(KeyError::Unsupported(format!("{alg:?}")))?;
                let parsed = sig::RsaPublicKeyComponents {
                    n: n_trim,
                    e: strip_leading_zeros(&e),
                }
                .to_parsed_public_key(params)
                .map_err(|e| KeyError::Invalid(e.to_string()))?;
                Self {
                    kid: None,
                    alg,
                    verifier: Verifier::Public(parsed),
                    signer: None,
                    public_jwk: Some(rsa_jwk(n_trim, strip_leading_zeros(&e))),
                }
            }
            ("EC", Family::Ec) => {
                let (want_crv, len) = match alg {
                    Algorithm::ES256 => ("P-256", 32),
                    _ => ("P-384", 48),
                };
                let crv = text("crv")?.unwrap_or_default();
                if crv != want_crv {
                    return Err(KeyError::Mismatch(
                        alg,
                        format!("curve `{crv}`, expected `{want_crv}`"),
                    ));
                }
                let (x, y) = (bytes("x")?, bytes("y")?);
                if x.len() != len || y.len() != len {
                    return Err(KeyError::Mismatch(
                        alg,
                        "coordinates of the wrong length".into(),
                    ));
                }
                let mut point = Vec::with_capacity(1 + 2 * len);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                Self::from_public_der(alg, &point)?
            }
            ("OKP", Family::Ed) => {
                let crv = text("crv")?.unwrap_or_default();
                if crv != "Ed25519" {
                    return Err(KeyError::Unsupported(format!("OKP curve `{crv}`")));
                }
                Self::from_public_der(alg, &bytes("x")?)?
            }
            (kty, _) => return Err(KeyError::Mismatch(alg, format!("key type `{kty}`"))),
        };
        key.kid = text("kid")?.map(str::to_owned);
        Ok(key)
    }

    /// Sets the key id.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The key id.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The one algorithm this key verifies (and signs).
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Whether the key can sign.
    pub fn can_sign(&self) -> bool {
        self.signer.is_some()
    }

    /// The public key as a JWK (with `kid`, `alg`, `use: sig`), for
    /// asymmetric keys; `None` for HMAC secrets, which are never published.
    pub fn public_jwk(&self) -> Option<Value> {
        let mut jwk = self.public_jwk.clone()?;
        let obj = jwk.as_object_mut()?;
        obj.insert("alg".into(), self.alg.name().into());
        obj.insert("use".into(), "sig".into());
        if let Some(kid) = &self.kid {
            obj.insert("kid".into(), kid.clone().into());
        }
        Some(jwk)
    }

    /// Verifies `signature` over `message`. HMAC tags are compared in constant time.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.verifier {
            Verifier::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
            Verifier::Public(key) => key.verify_sig(message, signature).is_ok(),
        }
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = lc_rand::SystemRandom::new();
        let failed = |_| KeyError::Invalid("signing failed".into());
        match self.signer.as_ref().ok_or(KeyError::VerifyOnly)? {
            Signer::Hmac(key) => Ok(hmac::sign(key, message).as_ref().to_vec()),
            Signer::Rsa(key) => {
                let encoding = rsa_encoding(self.alg)
                    .ok_or(KeyError::Unsupported(format!("{:?}", self.alg)))?;
                let mut out = vec![0u8; key.public_modulus_len()];
                key.sign(encoding, &rng, message, &mut out)
                    .map_err(failed)?;
                Ok(out)
            }
            Signer::Ec(key) => Ok(key.sign(&rng, message).map_err(failed)?.as_ref().to_vec()),
            Signer::Ed(key) => Ok(key.sign(message).as_ref().to_vec()),
        }
    }
}
