//! Random identifiers: token ids (`jti`), refresh families, user ids and
//! request ids, from the system's cryptographic generator.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{AuthError, AuthResult};

/// A random 128-bit identifier, base64url-encoded.
pub fn random_id() -> AuthResult<String> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| {
        AuthError::Misconfigured("the system random number generator failed".into())
    })?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}
