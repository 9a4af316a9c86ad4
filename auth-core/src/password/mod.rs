//! Password hashing with argon2id, off the async runtime.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{
    Output, ParamsString, PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};

use tokio::sync::Semaphore;

use crate::error::{AuthError, AuthResult};
use crate::store::{UserRecord, UserStore};

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
/// An unknown user's password is verified against a dummy hash with this
/// hasher's parameters, made when the hasher is: it costs one full argon2
/// computation, as a wrong password does, from the very first request.
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
    dummy: Arc<str>,
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

/// The salt of the dummy hash (16 bytes, as [`SaltString::generate`] makes).
const DUMMY_SALT: &[u8; 16] = b"poem-auth dummy.";

/// The dummy hash: a PHC string with `params`, [`DUMMY_SALT`] and an
/// all-zero digest of the default length. Verifying a password against it
/// computes argon2 with `params` in full, as against a user's hash made by
/// [`PasswordHasher::hash_blocking`], and fails (no password is known to
/// hash to zeros, and the result is thrown away anyway).
fn dummy_hash(params: &Params) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::encode_b64(DUMMY_SALT)?;
    let dummy = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&[0; Params::DEFAULT_OUTPUT_LEN])?),
    }
    .to_string();
    // What `verify_blocking` will parse: refuse now what it would refuse then.
    PasswordHash::new(&dummy)?;
    Ok(dummy)
}

impl PasswordHasher {
    /// argon2id with OWASP's parameters (m = 19 MiB, t = 2, p = 1).
    pub fn owasp() -> Self {
        Self::with_params(19 * 1024, 2, 1)
            .unwrap_or_else(|_| unreachable!("OWASP parameters are valid"))
    }

    /// argon2id with the given memory (KiB), iterations and lanes.
    ///
    /// Fails when argon2 refuses the parameters, or when the dummy hash for
    /// unknown users cannot be made with them.
    pub fn with_params(m_kib: u32, t: u32, p: u32) -> AuthResult<Self> {
        let params = Params::new(m_kib, t, p, None)
            .map_err(|e| AuthError::Misconfigured(format!("argon2 parameters: {e}")))?;
        let dummy = dummy_hash(&params).map_err(|e| {
            AuthError::Misconfigured(format!("the dummy hash for unknown users: {e}"))
        })?;
        let max_concurrent = default_concurrency();
        Ok(Self {
            params,
            dummy: dummy.into(),
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
        let _ = self.verify_blocking(password, &self.dummy);
        false
    }

    /// Whether `phc` was made otherwise than this hasher makes hashes now:
    /// another algorithm or version, other memory, iterations, lanes or
    /// digest length. A hash this hasher cannot read counts as outdated.
    ///
    /// ```
    /// use auth_core::password::PasswordHasher;
    ///
    /// let old = PasswordHasher::with_params(8, 1, 1).unwrap();
    /// let new = PasswordHasher::with_params(16, 2, 1).unwrap();
    /// let phc = old.hash_blocking("pw").unwrap();
    /// assert!(new.needs_rehash(&phc));
    /// assert!(!old.needs_rehash(&phc));
    /// ```
    pub fn needs_rehash(&self, phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return true;
        };
        let Ok(stored) = Params::try_from(&parsed) else {
            return true;
        };
        parsed.algorithm != Algorithm::Argon2id.ident()
            || parsed.version != Some(Version::V0x13.into())
            || stored.m_cost() != self.params.m_cost()
            || stored.t_cost() != self.params.t_cost()
            || stored.p_cost() != self.params.p_cost()
            || stored.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)
                != self
                    .params
                    .output_len()
                    .unwrap_or(Params::DEFAULT_OUTPUT_LEN)
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

    /// The login check every password login goes through: the user of
    /// `store` named `username`, when `password` is theirs and they are
    /// enabled; `None` otherwise. Every `None` costs the same work: an
    /// unknown user's password is verified against the dummy hash, and a
    /// disabled user is refused only after their password is checked.
    ///
    /// After a successful check, a hash made with other parameters than
    /// this hasher's ([`needs_rehash`](Self::needs_rehash)) is replaced by
    /// a new one, unless the user's hash changed meanwhile. Failing to
    /// store it (a read-only store, an outage) is logged as a warning and
    /// does not fail the login.
    pub(crate) async fn check_login(
        &self,
        store: &dyn UserStore,
        username: &str,
        password: &str,
    ) -> AuthResult<Option<UserRecord>> {
        let user = store.find_by_username(username).await?;
        let ok = self
            .verify(
                password.to_owned(),
                user.as_ref().map(|u| u.password_hash.clone()),
            )
            .await?;
        let Some(mut user) = user.filter(|u| ok && u.enabled) else {
            return Ok(None);
        };
        if self.needs_rehash(&user.password_hash) {
            match self.rehash(store, &user, password).await {
                Ok(Some(phc)) => user.password_hash = phc,
                Ok(None) => {}
                Err(e) => tracing::warn!(
                    user = %user.id,
                    error = %e,
                    "could not store the password hash made with the current parameters; \
                     the old one stays"
                ),
            }
        }
        Ok(Some(user))
    }

    /// Hashes `password` anew and stores it in place of `user`'s hash,
    /// when that is still the one verified: the new hash, or `None` when
    /// the user or their hash changed meanwhile (a concurrent password
    /// change wins over the upgrade).
    async fn rehash(
        &self,
        store: &dyn UserStore,
        user: &UserRecord,
        password: &str,
    ) -> AuthResult<Option<String>> {
        let phc = self.hash(password.to_owned()).await?;
        let replaced = store
            .replace_password_hash(&user.username, &user.password_hash, phc.clone())
            .await?;
        if replaced {
            tracing::info!(user = %user.id, "password hash upgraded to the current parameters");
        }
        Ok(replaced.then_some(phc))
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod rehash_tests;
