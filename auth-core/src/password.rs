//! Password hashing with argon2id, off the async runtime.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use tokio::sync::Semaphore;

use crate::error::{AuthError, AuthResult};

/// Half the cores, at least one: what password hashing may take at once.
fn default_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

/// Hashes and verifies passwords with argon2id.
///
/// The default parameters are OWASP's first recommendation for argon2id:
/// 19 MiB of memory, 2 iterations, 1 lane. Hashes are PHC strings
/// (`$argon2id$v=19$m=19456,t=2,p=1$...`), so parameters can be raised later
/// and old hashes still verify. The async methods run the work on tokio's
/// blocking pool, never on the runtime's worker threads, and at most
/// [`max_concurrent`](Self::max_concurrent) at a time (by default half the
/// cores, at least one): a burst of logins queues for its turn instead of
/// taking every core (and 19 MiB each) from the requests being served.
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
    slots: Arc<Semaphore>,
    max_concurrent: usize,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("m_cost", &self.params.m_cost())
            .field("t_cost", &self.params.t_cost())
            .field("p_cost", &self.params.p_cost())
            .field("max_concurrent", &self.max_concurrent)
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
        let max_concurrent = default_concurrency();
        Ok(Self {
            params,
            dummy: Arc::new(OnceLock::new()),
            slots: Arc::new(Semaphore::new(max_concurrent)),
            max_concurrent,
        })
    }

    /// Runs at most `n` (at least one) hashes or verifications at a time;
    /// the others wait their turn, in order.
    #[must_use]
    pub fn with_max_concurrent(mut self, n: usize) -> Self {
        self.max_concurrent = n.max(1);
        self.slots = Arc::new(Semaphore::new(self.max_concurrent));
        self
    }

    /// How many hashes or verifications may run at once.
    pub fn max_concurrent(&self) -> usize {
        self.max_concurrent
    }

    /// Runs `work` on the blocking pool once a slot is free; the slot is
    /// held until the work ends, even when the caller stops waiting.
    async fn run<T: Send + 'static>(
        &self,
        what: &str,
        work: impl FnOnce(&Self) -> T + Send + 'static,
    ) -> AuthResult<T> {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| AuthError::Unavailable(format!("{what}: {e}")))?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let out = work(&this);
            drop(slot);
            out
        })
        .await
        .map_err(|e| AuthError::Unavailable(format!("{what} task: {e}")))
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
        self.run("password hashing", move |this| {
            this.hash_blocking(&password)
        })
        .await?
    }

    /// [`verify_blocking`](Self::verify_blocking) on the blocking pool; with
    /// no hash (unknown user) it verifies against the dummy hash and fails.
    pub async fn verify(&self, password: String, phc: Option<String>) -> AuthResult<bool> {
        self.run("password verification", move |this| match phc {
            Some(phc) => this.verify_blocking(&password, &phc),
            None => this.verify_dummy_blocking(&password),
        })
        .await
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
    fn concurrency_defaults_to_half_the_cores_and_is_never_zero() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let h = PasswordHasher::fast_insecure_for_tests();
        assert_eq!(h.max_concurrent(), (cores / 2).max(1));
        assert_eq!(h.with_max_concurrent(0).max_concurrent(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_verifications_through_one_slot_all_finish() {
        let h = PasswordHasher::fast_insecure_for_tests().with_max_concurrent(1);
        let phc = h.hash("pw".into()).await.expect("hash");
        let runs = (0..16).map(|i| {
            let (h, phc) = (h.clone(), phc.clone());
            tokio::spawn(async move {
                let pw = if i % 2 == 0 { "pw" } else { "wrong" };
                (i, h.verify(pw.into(), Some(phc)).await.expect("verify"))
            })
        });
        for run in runs.collect::<Vec<_>>() {
            let (i, ok) = run.await.expect("task");
            assert_eq!(ok, i % 2 == 0);
        }
    }

    #[test]
    fn dummy_verification_always_fails() {
        let h = PasswordHasher::fast_insecure_for_tests();
        assert!(!h.verify_dummy_blocking(DUMMY_PASSWORD));
        assert!(!h.verify_dummy_blocking("anything"));
    }
}
