//! Password hashing with argon2id, off the async runtime.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{AuthError, AuthResult};

/// Hashes and verifies passwords with argon2id.
///
/// The default parameters are OWASP's first recommendation for argon2id:
/// 19 MiB of memory, 2 iterations, 1 lane. Hashes are PHC strings
/// (`$argon2id$v=19$m=19456,t=2,p=1$...`), so parameters can be raised later
/// and old hashes still verify. The async methods run the work on tokio's
/// blocking pool, never on the runtime's worker threads.
///
/// ```
/// use auth_core::password::PasswordHasher;
///
/// let hasher = PasswordHasher::fast_insecure_for_tests();
/// let phc = hasher.hash_blocking("correct horse").unwrap();
/// assert!(phc.starts_with("$argon2id$"));
/// assert!(hasher.verify_blocking("correct horse", &phc));
/// assert!(!hasher.verify_blocking("wrong", &phc));
/// ```
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    dummy: Arc<OnceLock<String>>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("m_cost", &self.params.m_cost())
            .field("t_cost", &self.params.t_cost())
            .field("p_cost", &self.params.p_cost())
            .finish()
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::owasp()
    }
}

/// The password the dummy hash is made of; never a user's.
const DUMMY_PASSWORD: &str = "poem-auth dummy password for unknown users";

impl PasswordHasher {
    /// argon2id with OWASP's parameters (m = 19 MiB, t = 2, p = 1).
    pub fn owasp() -> Self {
        Self::with_params(19 * 1024, 2, 1)
            .unwrap_or_else(|_| unreachable!("OWASP parameters are valid"))
    }

    /// argon2id with the given memory (KiB), iterations and lanes.
    pub fn with_params(m_kib: u32, t: u32, p: u32) -> AuthResult<Self> {
        let params = Params::new(m_kib, t, p, None)
            .map_err(|e| AuthError::Misconfigured(format!("argon2 parameters: {e}")))?;
        Ok(Self {
            params,
            dummy: Arc::new(OnceLock::new()),
        })
    }

    /// Minimal parameters, so test suites run fast. Never use in production.
    pub fn fast_insecure_for_tests() -> Self {
        Self::with_params(8, 1, 1).unwrap_or_else(|_| unreachable!("minimal parameters are valid"))
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Hashes a password into a PHC string, on the calling thread.
    pub fn hash_blocking(&self, password: &str) -> AuthResult<String> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AuthError::Misconfigured(format!("password hashing failed: {e}")))
    }

    /// Verifies a password against a PHC string, on the calling thread. A
    /// malformed hash verifies nothing.
    pub fn verify_blocking(&self, password: &str, phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            tracing::warn!("stored password hash is malformed");
            return false;
        };
        // Verify with the parameters stored in the hash, whatever ours are now.
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    }

    /// Spends the time of one verification and returns `false`: used for
    /// unknown users, so their answer takes as long as a wrong password's.
    pub fn verify_dummy_blocking(&self, password: &str) -> bool {
        let dummy = self
            .dummy
            .get_or_init(|| self.hash_blocking(DUMMY_PASSWORD).unwrap_or_default());
        let _ = self.verify_blocking(password, dummy);
        false
    }

    /// [`hash_blocking`](Self::hash_blocking) on the blocking pool.
    pub async fn hash(&self, password: String) -> AuthResult<String> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.hash_blocking(&password))
            .await
            .map_err(|e| AuthError::Unavailable(format!("password hashing task: {e}")))?
    }

    /// [`verify_blocking`](Self::verify_blocking) on the blocking pool; with
    /// no hash (unknown user) it verifies against the dummy hash and fails.
    pub async fn verify(&self, password: String, phc: Option<String>) -> AuthResult<bool> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || match phc {
            Some(phc) => this.verify_blocking(&password, &phc),
            None => this.verify_dummy_blocking(&password),
        })
        .await
        .map_err(|e| AuthError::Unavailable(format!("password verification task: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owasp_hash_is_argon2id_with_owasp_parameters() {
        let phc = PasswordHasher::owasp().hash_blocking("pw").expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    }

    #[test]
    fn same_password_hashes_differently_each_time() {
        let h = PasswordHasher::fast_insecure_for_tests();
        let a = h.hash_blocking("pw").expect("hash");
        let b = h.hash_blocking("pw").expect("hash");
        assert_ne!(a, b);
        assert!(h.verify_blocking("pw", &a) && h.verify_blocking("pw", &b));
    }

    #[test]
    fn malformed_hash_verifies_nothing() {
        let h = PasswordHasher::fast_insecure_for_tests();
        assert!(!h.verify_blocking("pw", "not-a-hash"));
        assert!(!h.verify_blocking("", ""));
    }

    #[test]
    fn dummy_verification_always_fails() {
        let h = PasswordHasher::fast_insecure_for_tests();
        assert!(!h.verify_dummy_blocking(DUMMY_PASSWORD));
        assert!(!h.verify_dummy_blocking("anything"));
    }
}
