//! HTTP Basic: a username and password checked against a [`UserStore`].

use std::sync::Arc;

use async_trait::async_trait;

use crate::context::AuthContext;
use crate::error::{AuthError, AuthResult};
use crate::handler::AuthHandler;
use crate::password::PasswordHasher;
use crate::principal::{AuthMethod, Principal};
use crate::store::UserStore;
use crate::throttle::LoginThrottle;

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Checks Basic credentials against a user store with argon2id.
///
/// An unknown user costs the same time as a wrong password (a dummy hash is
/// verified), and a disabled user is refused only after the password check,
/// so timing does not tell which users exist. Every failure is the same
/// [`AuthError::InvalidCredentials`].
///
/// Every check goes through a [`LoginThrottle`] (its own by default; give
/// it the token service's with [`with_throttle`](Self::with_throttle) so
/// Basic and the token route share one budget per account): a held-back
/// attempt is [`AuthError::Throttled`] (429 with `Retry-After`), before any
/// password is checked.
#[derive(Clone)]
pub struct BasicHandler {
    store: Arc<dyn UserStore>,
    hasher: PasswordHasher,
    throttle: LoginThrottle,
}

impl std::fmt::Debug for BasicHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicHandler")
            .field("hasher", &self.hasher)
            .finish_non_exhaustive()
    }
}

impl BasicHandler {
    /// A handler over `store`, verifying with the OWASP argon2id parameters
    /// (stored hashes carry their own parameters, so any argon2 hash verifies).
    pub fn new(store: Arc<dyn UserStore>) -> Self {
        Self {
            store,
            hasher: PasswordHasher::owasp(),
            throttle: LoginThrottle::default(),
        }
    }

    /// Counts failures in `throttle` (the token service's:
    /// [`TokenService::throttle`](crate::session::TokenService::throttle)).
    #[must_use]
    pub fn with_throttle(mut self, throttle: LoginThrottle) -> Self {
        self.throttle = throttle;
        self
    }

    /// Replaces the hasher used for the dummy hash of unknown users; give it
    /// the parameters the store's hashes use, so both take the same time.
    #[must_use]
    pub fn with_hasher(mut self, hasher: PasswordHasher) -> Self {
        self.hasher = hasher;
        self
    }
}

#[async_trait]
impl AuthHandler for BasicHandler {
    fn name(&self) -> &str {
        "basic"
    }

    async fn authorize_basic(
        &self,
        username: &str,
        password: &str,
        cx: &AuthContext,
    ) -> AuthResult<Option<Principal>> {
        let addr = cx
            .remote_addr
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        let mut found = None;
        let ok = self
            .throttle
            .guard(username, &addr, unix_now(), async {
                let user = self.store.find_by_username(username).await?;
                let ok = self
                    .hasher
                    .verify(
                        password.to_owned(),
                        user.as_ref().map(|u| u.password_hash.clone()),
                    )
                    .await?;
                let ok = ok && user.as_ref().is_some_and(|u| u.enabled);
                found = user;
                Ok(ok)
            })
            .await?;
        match found {
            Some(user) if ok => {
                let mut p = Principal::new(user.id, AuthMethod::Basic).with_name(user.username);
                p.roles = user.roles;
                p.permissions = user.permissions;
                p.extra = user.extra;
                Ok(Some(p))
            }
            _ => {
                tracing::debug!("basic credentials refused");
                Err(AuthError::InvalidCredentials)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::Credential;
    use crate::permission::{AuthPermission as P, AuthResource as R, PermissionSet};
    use crate::store::MemoryUserStore;

    fn handler() -> (BasicHandler, Arc<MemoryUserStore>) {
        let hasher = PasswordHasher::fast_insecure_for_tests();
        let store = Arc::new(MemoryUserStore::new(hasher.clone()));
        store
            .add_user("alice", "wonderland", PermissionSet::base(), ["reader"])
            .expect("add");
        (BasicHandler::new(store.clone()).with_hasher(hasher), store)
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    }

    #[test]
    fn right_password_gives_the_stored_user() {
        rt().block_on(async {
            let (h, _) = handler();
            let p = h
                .authorize(
                    &Credential::basic("alice", "wonderland"),
                    &AuthContext::http(),
                )
                .await
                .expect("ok")
                .expect("recognized");
            assert_eq!(p.id, "alice");
            assert_eq!(p.method, AuthMethod::Basic);
            assert!(p.has_role("reader"));
            assert!(p.has(R::Conversation, P::Write));
        });
    }

    #[test]
    fn wrong_password_unknown_user_and_disabled_user_get_the_same_error() {
        rt().block_on(async {
            let (h, store) = handler();
            let wrong = h
                .authorize(&Credential::basic("alice", "nope"), &AuthContext::http())
                .await;
            let unknown = h
                .authorize(
                    &Credential::basic("mallory", "wonderland"),
                    &AuthContext::http(),
                )
                .await;
            store.set_enabled("alice", false).await.expect("disable");
            let disabled = h
                .authorize(
                    &Credential::basic("alice", "wonderland"),
                    &AuthContext::http(),
                )
                .await;
            for r in [wrong, unknown, disabled] {
                assert_eq!(r.expect_err("refused"), AuthError::InvalidCredentials);
            }
        });
    }

    #[test]
    fn bearer_credentials_are_not_basic_business() {
        rt().block_on(async {
            let (h, _) = handler();
            let r = h
                .authorize(
                    &Credential::bearer("alice:wonderland"),
                    &AuthContext::http(),
                )
                .await
                .expect("no error");
            assert!(r.is_none());
        });
    }
}
