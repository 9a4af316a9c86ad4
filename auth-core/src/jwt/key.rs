//! Keys: each pinned to exactly one algorithm, checked when loaded.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use aws_lc_rs::signature::{self as sig, KeyPair, ParsedPublicKey, VerificationAlgorithm};
use aws_lc_rs::{hmac, rand as lc_rand};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

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

/// A JWS signature algorithm this crate verifies and signs.
///
/// Serialized with its JOSE name (`"RS256"`). `none` is not one of them, and
/// neither is ES512 (P-521), which the crypto backend used here does not offer
/// with fixed-length signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Algorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// Ed25519.
    EdDSA,
}

impl Algorithm {
    /// Every algorithm.
    pub const ALL: [Algorithm; 12] = [
        Self::HS256,
        Self::HS384,
        Self::HS512,
        Self::RS256,
        Self::RS384,
        Self::RS512,
        Self::PS256,
        Self::PS384,
        Self::PS512,
        Self::ES256,
        Self::ES384,
        Self::EdDSA,
    ];

    /// The JOSE name.
    pub fn name(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::HS384 => "HS384",
            Self::HS512 => "HS512",
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::EdDSA => "EdDSA",
        }
    }

    /// Parses a name exactly as JOSE spells it; `none` and unknown names give `None`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Whether this is an HMAC algorithm (a shared secret).
    pub fn is_hmac(self) -> bool {
        family(self) == Family::Hmac
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Algorithm {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s).ok_or_else(|| KeyError::Unsupported(format!("algorithm `{s}`")))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Hmac,
    Rsa,
    Ec,
    Ed,
}

fn family(alg: Algorithm) -> Family {
    use Algorithm::*;
    match alg {
        HS256 | HS384 | HS512 => Family::Hmac,
        RS256 | RS384 | RS512 | PS256 | PS384 | PS512 => Family::Rsa,
        ES256 | ES384 => Family::Ec,
        EdDSA => Family::Ed,
    }
}

fn hmac_params(alg: Algorithm) -> Option<(hmac::Algorithm, usize)> {
    Some(match alg {
        Algorithm::HS256 => (hmac::HMAC_SHA256, 32),
        Algorithm::HS384 => (hmac::HMAC_SHA384, 48),
        Algorithm::HS512 => (hmac::HMAC_SHA512, 64),
        _ => return None,
    })
}

/// The HMAC algorithm of `alg` and its minimum secret length, when `secret`
/// is at least that long.
fn hmac_params_for(alg: Algorithm, secret: &[u8]) -> Result<(hmac::Algorithm, usize), KeyError> {
    let (hmac_alg, min) = hmac_params(alg)
        .ok_or_else(|| KeyError::Mismatch(alg, "an HMAC secret needs an HS algorithm".into()))?;
    if secret.len() < min {
        return Err(KeyError::ShortSecret {
            alg,
            min,
            got: secret.len(),
        });
    }
    Ok((hmac_alg, min))
}

fn verification_alg(alg: Algorithm) -> Option<&'static dyn VerificationAlgorithm> {
    Some(match alg {
        Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
        Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED,
        Algorithm::EdDSA => &sig::ED25519,
        _ => return None,
    })
}

fn rsa_params(alg: Algorithm) -> Option<&'static sig::RsaParameters> {
    Some(match alg {
        Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

fn rsa_encoding(alg: Algorithm) -> Option<&'static dyn sig::RsaEncoding> {
    Some(match alg {
        Algorithm::RS256 => &sig::RSA_PKCS1_SHA256,
        Algorithm::RS384 => &sig::RSA_PKCS1_SHA384,
        Algorithm::RS512 => &sig::RSA_PKCS1_SHA512,
        Algorithm::PS256 => &sig::RSA_PSS_SHA256,
        Algorithm::PS384 => &sig::RSA_PSS_SHA384,
        Algorithm::PS512 => &sig::RSA_PSS_SHA512,
        _ => return None,
    })
}

fn ecdsa_signing(alg: Algorithm) -> Option<&'static sig::EcdsaSigningAlgorithm> {
    Some(match alg {
        Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
        Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
        _ => return None,
    })
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

/// A key the crypto backend refused; its "too small" means an RSA key under 2048 bits.
fn rejected(e: aws_lc_rs::error::KeyRejected) -> KeyError {
    if e.description_() == "TooSmall" {
        KeyError::WeakRsa(None)
    } else {
        KeyError::Invalid(e.to_string())
    }
}

fn check_rsa_bits(bits: usize) -> Result<(), KeyError> {
    if bits < MIN_RSA_BITS {
        Err(KeyError::WeakRsa(Some(bits)))
    } else {
        Ok(())
    }
}

/// A public exponent must be odd and at least 3: `e = 1` makes every
/// "signature" equal its message.
fn check_rsa_exponent(e: &[u8]) -> Result<(), KeyError> {
    let odd = e.last().is_some_and(|b| b & 1 == 1);
    let at_least_3 = e.len() > 1 || e.first().is_some_and(|b| *b >= 3);
    if odd && at_least_3 {
        Ok(())
    } else {
        Err(KeyError::Invalid(
            "the RSA public exponent must be odd and at least 3".into(),
        ))
    }
}

/// The ROCA fingerprint test (Nemec et al., CCS 2017): a vulnerable modulus
/// lies, modulo each of these small primes, in the subgroup generated by
/// 65537. A random modulus passes all 38 tests with negligible probability.
fn check_not_roca(n: &[u8]) -> Result<(), KeyError> {
    const PRIMES: [u32; 38] = [
        3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89,
        97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
    ];
    let in_subgroup = |p: u32| {
        let residue = n.iter().fold(0u32, |r, b| (r * 256 + u32::from(*b)) % p);
        let generator = 65537 % p;
        let mut x = 1;
        loop {
            if x == residue {
                return true;
            }
            x = x * generator % p;
            if x == 1 {
                return false;
            }
        }
    };
    if PRIMES.iter().all(|p| in_subgroup(*p)) {
        Err(KeyError::RocaVulnerable)
    } else {
        Ok(())
    }
}

fn strip_leading_zeros(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[start..]
}

fn parse_public(alg: Algorithm, der: &[u8]) -> Result<ParsedPublicKey, KeyError> {
    let valg = verification_alg(alg).ok_or(KeyError::Unsupported(format!("{alg:?}")))?;
    if alg == Algorithm::EdDSA && der.len() < 32 {
        return Err(KeyError::Mismatch(
            alg,
            format!("an Ed25519 key is 32 bytes, got {}", der.len()),
        ));
    }
    ParsedPublicKey::new(valg, der).map_err(|e| KeyError::Mismatch(alg, e.to_string()))
}

fn rsa_jwk(n: &[u8], e: &[u8]) -> Value {
    serde_json::json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode(n), "e": URL_SAFE_NO_PAD.encode(e)})
}

/// The JWK of an EC or Ed25519 public key, from the parsed key's raw encoding.
fn point_jwk(alg: Algorithm, parsed: &ParsedPublicKey) -> Value {
    let raw = parsed.as_ref();
    match alg {
        Algorithm::EdDSA => {
            // SPKI for Ed25519 ends with the 32-byte key.
            let x = &raw[raw.len().saturating_sub(32)..];
            serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(x)})
        }
        _ => {
            let (crv, len) = if alg == Algorithm::ES256 {
                ("P-256", 32)
            } else {
                ("P-384", 48)
            };
            // The uncompressed point (0x04 || x || y) ends the encoding.
            let point = &raw[raw.len().saturating_sub(2 * len)..];
            let (x, y) = point.split_at(len);
            serde_json::json!({"kty": "EC", "crv": crv, "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y)})
        }
    }
}

/// Verification keys by `kid`.
///
/// A token naming a `kid` is checked against that key only; a token without
/// one is checked against the set's key without a `kid`, or its only key.
/// Keys are never fetched from the token (`jku`, `x5u`, `jwk`, `x5c` are
/// ignored). Several keys at once allow rotation.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    by_kid: HashMap<String, Arc<JwtKey>>,
    anonymous: Option<Arc<JwtKey>>,
    all: Vec<Arc<JwtKey>>,
}

impl KeySet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A set of one key.
    pub fn single(key: JwtKey) -> Self {
        Self::new().with(key)
    }

    /// Adds a key; a later key with the same `kid` replaces the earlier one.
    #[must_use]
    pub fn with(mut self, key: JwtKey) -> Self {
        self.insert(key);
        self
    }

    /// Adds a key; a later key with the same `kid` replaces the earlier one.
    pub fn insert(&mut self, key: JwtKey) {
        self.insert_arc(Arc::new(key));
    }

    /// Adds a shared key; a later key with the same `kid` replaces the earlier one.
    pub fn insert_arc(&mut self, key: Arc<JwtKey>) {
        match key.kid.clone() {
            Some(kid) => {
                if let Some(old) = self.by_kid.insert(kid, key.clone()) {
                    self.all.retain(|k| !Arc::ptr_eq(k, &old));
                }
            }
            None => {
                if let Some(old) = self.anonymous.replace(key.clone()) {
                    self.all.retain(|k| !Arc::ptr_eq(k, &old));
                }
            }
        }
        self.all.push(key);
    }

    /// The key for a token's `kid`.
    pub fn select(&self, kid: Option<&str>) -> Option<&Arc<JwtKey>> {
        match kid {
            Some(kid) => self.by_kid.get(kid),
            None => self
                .anonymous
                .as_ref()
                .or_else(|| (self.all.len() == 1).then(|| &self.all[0])),
        }
    }

    /// Every key.
    pub fn keys(&self) -> impl Iterator<Item = &Arc<JwtKey>> {
        self.all.iter()
    }

    /// Whether the set has no key.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// The public keys as a JWK Set document (`{"keys": [...]}`); HMAC keys are left out.
    pub fn to_jwks(&self) -> Value {
        serde_json::json!({"keys": self.all.iter().filter_map(|k| k.public_jwk()).collect::<Vec<_>>()})
    }
}
