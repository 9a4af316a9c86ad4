//! Fixtures shared by the in-process benchmarks, the servers and the
//! report: keys, tokens, the hand-written jsonwebtoken checker every peer
//! uses, and the one JSON body every server answers.

use std::collections::HashMap;
use std::sync::Arc;

use auth_core::jwt::{Algorithm, JwtKey, KeySet, TokenIssuer};
use auth_core::{AuthMethod, AuthPermission as P, AuthResource as R, PermissionSet, Principal};
use serde::{Deserialize, Serialize};

/// The HS256 secret every server shares (the benchmark's, not a real one).
pub const SECRET: &str = "poem-auth-benchmark-secret-of-32-bytes-and-more";
/// The API key of the in-process API-key path.
pub const API_KEY: &str = "bench-api-key-0123456789";
/// The user the blocking benchmark logs in as.
pub const USER: &str = "bench";
/// Its password.
pub const PASSWORD: &str = "correct horse battery staple";
/// The protected route every server serves.
pub const PATH: &str = "/hello";

/// The body every server answers, whatever guards it.
#[derive(Debug, Clone, Serialize, Deserialize, poem_openapi::Object)]
pub struct Hello {
    /// A greeting.
    pub message: String,
}

impl Hello {
    /// The one answer.
    pub fn new() -> Self {
        Self {
            message: "hello".to_owned(),
        }
    }
}

impl Default for Hello {
    fn default() -> Self {
        Self::new()
    }
}

/// The key files of the test suite, read at compile time.
pub mod pem {
    /// P-256 private key (PKCS#8).
    pub const P256: &[u8] = include_bytes!("../../auth-core/tests/keys/p256.pem");
    /// P-256 public key.
    pub const P256_PUB: &[u8] = include_bytes!("../../auth-core/tests/keys/p256.pub.pem");
    /// Ed25519 private key.
    pub const ED25519: &[u8] = include_bytes!("../../auth-core/tests/keys/ed25519.pem");
    /// Ed25519 public key.
    pub const ED25519_PUB: &[u8] = include_bytes!("../../auth-core/tests/keys/ed25519.pub.pem");
    /// RSA-2048 private key.
    pub const RSA: &[u8] = include_bytes!("../../auth-core/tests/keys/rsa2048.pem");
    /// RSA-2048 public key.
    pub const RSA_PUB: &[u8] = include_bytes!("../../auth-core/tests/keys/rsa2048.pub.pem");
}

/// The algorithms measured, in report order.
pub const ALGORITHMS: [Algorithm; 5] = [
    Algorithm::HS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
    Algorithm::RS256,
    Algorithm::PS256,
];

/// The signing key of `alg`.
pub fn signing_key(alg: Algorithm) -> JwtKey {
    let key = match alg {
        Algorithm::HS256 => JwtKey::hmac(alg, SECRET.as_bytes()),
        Algorithm::ES256 => JwtKey::from_private_pem(alg, pem::P256),
        Algorithm::EdDSA => JwtKey::from_private_pem(alg, pem::ED25519),
        _ => JwtKey::from_private_pem(alg, pem::RSA),
    };
    key.expect("the fixture keys load")
}

/// The verifying key set of `alg` (the private key for HMAC).
pub fn verifying_keys(alg: Algorithm) -> Arc<KeySet> {
    let key = match alg {
        Algorithm::HS256 => JwtKey::hmac(alg, SECRET.as_bytes()),
        Algorithm::ES256 => JwtKey::from_public_pem(alg, pem::P256_PUB),
        Algorithm::EdDSA => JwtKey::from_public_pem(alg, pem::ED25519_PUB),
        _ => JwtKey::from_public_pem(alg, pem::RSA_PUB),
    };
    Arc::new(KeySet::single(key.expect("the fixture keys load")))
}

/// The caller of every benchmark: `CONVERSATION:READ` and the other base grants.
pub fn principal() -> Principal {
    Principal::new("alice", AuthMethod::Jwt).with_permissions(PermissionSet::base())
}

/// A token of `alg` for [`principal`], valid for a day, with a fresh `jti`.
pub fn token(alg: Algorithm) -> String {
    let keys = Arc::new(KeySet::single(signing_key(alg)));
    TokenIssuer::new(keys, None)
        .expect("issuer")
        .issue(&principal())
        .expect("token")
        .expose()
        .to_owned()
}

/// The claims a hand-written checker reads (what a user writes without us).
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    /// The subject.
    pub sub: String,
    /// Expiry.
    pub exp: i64,
    /// `{"CONVERSATION": ["READ", ...]}`.
    #[serde(default)]
    pub permissions: HashMap<String, Vec<String>>,
}

impl Claims {
    /// Whether the claims grant `CONVERSATION:READ`.
    pub fn may_read_conversations(&self) -> bool {
        self.permissions
            .get("CONVERSATION")
            .is_some_and(|p| p.iter().any(|p| p == "READ"))
    }

    /// The grants as `RESOURCE:PERMISSION` strings (poem-grants' authorities).
    pub fn authorities(&self) -> std::collections::HashSet<String> {
        self.permissions
            .iter()
            .flat_map(|(r, ps)| ps.iter().map(move |p| format!("{r}:{p}")))
            .collect()
    }
}

/// The jsonwebtoken decoding key and validation of `alg`, the floor.
pub fn jsonwebtoken_verifier(
    alg: Algorithm,
) -> (jsonwebtoken::DecodingKey, jsonwebtoken::Validation) {
    use jsonwebtoken::{Algorithm as A, DecodingKey};
    let (key, a) = match alg {
        Algorithm::HS256 => (DecodingKey::from_secret(SECRET.as_bytes()), A::HS256),
        Algorithm::ES256 => (
            DecodingKey::from_ec_pem(pem::P256_PUB).expect("ec"),
            A::ES256,
        ),
        Algorithm::EdDSA => (
            DecodingKey::from_ed_pem(pem::ED25519_PUB).expect("ed"),
            A::EdDSA,
        ),
        Algorithm::RS256 => (
            DecodingKey::from_rsa_pem(pem::RSA_PUB).expect("rsa"),
            A::RS256,
        ),
        Algorithm::PS256 => (
            DecodingKey::from_rsa_pem(pem::RSA_PUB).expect("rsa"),
            A::PS256,
        ),
        other => panic!("{other} is not measured"),
    };
    (key, jsonwebtoken::Validation::new(a))
}

/// The hand-written checker: verify with jsonwebtoken, then check the grant.
pub fn handwritten_check(
    token: &str,
    key: &jsonwebtoken::DecodingKey,
    validation: &jsonwebtoken::Validation,
) -> Option<Claims> {
    let claims = jsonwebtoken::decode::<Claims>(token, key, validation)
        .ok()?
        .claims;
    claims.may_read_conversations().then_some(claims)
}

/// The permission the protected route needs.
pub fn required() -> auth_core::Requirement {
    auth_core::Requirement::permission(R::Conversation, P::Read)
}
