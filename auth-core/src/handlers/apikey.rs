//! Static API keys, with the HTTP and WebSocket channels kept apart.

use std::fmt;

use async_trait::async_trait;
use aws_lc_rs::digest;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::context::AuthContext;
use crate::credential::Credential;
use crate::error::AuthResult;
use crate::handlers::AuthHandler;
use crate::permission::PermissionSet;
use crate::principal::{AuthMethod, Channel, Principal};

/// The user id an API-key caller gets when it names none.
pub const DEFAULT_USER_ID: &str = "user";

/// A key as stored: its SHA-256 digest, compared in constant time. Hashing
/// first gives every comparison the same length, so timing says nothing of
/// the key's length either.
#[derive(Clone)]
struct KeyDigest([u8; 32]);

impl KeyDigest {
    fn of(key: &str) -> Self {
        let d = digest::digest(&digest::SHA256, key.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        Self(out)
    }
}

/// What one channel accepts: any of its keys, each granting `permissions`.
#[derive(Clone)]
struct ChannelKeys {
    keys: Vec<KeyDigest>,
    permissions: PermissionSet,
    roles: std::collections::BTreeSet<String>,
}

impl ChannelKeys {
    /// Whether `presented` is one of the keys. Every key is compared, whatever
    /// matched earlier, so the time does not say which key matched.
    fn matches(&self, presented: &KeyDigest) -> bool {
        let mut hit = subtle::Choice::from(0);
        for key in &self.keys {
            hit |= key.0.ct_eq(&presented.0);
        }
        hit.into()
    }
}

/// Accepts static API keys: one set for HTTP requests and another for
/// WebSocket upgrades.
///
/// Each channel has its own keys and its own permissions (HTTP keys grant
/// [`PermissionSet::full`], WebSocket keys [`PermissionSet::base`], by
/// default). A key of one channel never opens the other, and a channel with no
/// key answers "not mine" for every credential: setting one key never locks
/// or opens the other channel. Several keys per channel allow rotation.
///
/// The principal's id is the request's user-id hint, or [`DEFAULT_USER_ID`].
///
/// ```
/// use auth_core::ApiKeyHandler;
///
/// let keys = ApiKeyHandler::builder()
///     .http_key("http-key-2024")
///     .http_key("http-key-2025") // rotation: both accepted
///     .ws_key("ws-key")
///     .build();
/// assert!(!format!("{keys:?}").contains("http-key"));
/// ```
#[derive(Clone)]
pub struct ApiKeyHandler {
    http: ChannelKeys,
    ws: ChannelKeys,
}

impl fmt::Debug for ApiKeyHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyHandler")
            .field("http_keys", &self.http.keys.len())
            .field("ws_keys", &self.ws.keys.len())
            .finish()
    }
}

/// Builds an [`ApiKeyHandler`].
#[must_use]
pub struct ApiKeyHandlerBuilder {
    http: ChannelKeys,
    ws: ChannelKeys,
}

impl ApiKeyHandlerBuilder {
    /// Accepts `key` on HTTP requests. Empty keys are ignored.
    pub fn http_key(mut self, key: impl Into<SecretString>) -> Self {
        push_key(&mut self.http, key.into());
        self
    }

    /// Accepts `key` on WebSocket upgrades. Empty keys are ignored.
    pub fn ws_key(mut self, key: impl Into<SecretString>) -> Self {
        push_key(&mut self.ws, key.into());
        self
    }

    /// The permissions an HTTP key grants (default: full).
    pub fn http_permissions(mut self, permissions: PermissionSet) -> Self {
        self.http.permissions = permissions;
        self
    }

    /// The permissions a WebSocket key grants (default: base).
    pub fn ws_permissions(mut self, permissions: PermissionSet) -> Self {
        self.ws.permissions = permissions;
        self
    }

    /// The roles an HTTP key's principal holds (default: none), expanded by
    /// the pipeline's role map like a user's: give the operator's key the
    /// superuser role to let it manage every user, the administrator too.
    pub fn http_roles<I, S>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.http.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// Builds the handler.
    pub fn build(self) -> ApiKeyHandler {
        ApiKeyHandler {
            http: self.http,
            ws: self.ws,
        }
    }
}

fn push_key(channel: &mut ChannelKeys, key: SecretString) {
    let key = key.expose_secret();
    if !key.is_empty() {
        channel.keys.push(KeyDigest::of(key));
    }
}

impl ApiKeyHandler {
    /// Starts building a handler with no keys.
    pub fn builder() -> ApiKeyHandlerBuilder {
        ApiKeyHandlerBuilder {
            http: ChannelKeys {
                keys: Vec::new(),
                permissions: PermissionSet::full(),
                roles: std::collections::BTreeSet::new(),
            },
            ws: ChannelKeys {
                keys: Vec::new(),
                permissions: PermissionSet::base(),
                roles: std::collections::BTreeSet::new(),
            },
        }
    }

    /// Whether the channel has at least one key, i.e. is locked by this handler.
    pub fn locks(&self, channel: Channel) -> bool {
        !self.channel(channel).keys.is_empty()
    }

    fn channel(&self, channel: Channel) -> &ChannelKeys {
        match channel {
            Channel::Http => &self.http,
            Channel::WebSocket => &self.ws,
        }
    }
}

#[async_trait]
impl AuthHandler for ApiKeyHandler {
    fn name(&self) -> &str {
        "api_key"
    }

    async fn authorize_key(&self, key: &str, cx: &AuthContext) -> AuthResult<Option<Principal>> {
        Ok(self.check_key(key, cx))
    }

    /// Treats every bearer token and API key as a key, JWT-shaped or not.
    async fn authorize(
        &self,
        credential: &Credential,
        cx: &AuthContext,
    ) -> AuthResult<Option<Principal>> {
        Ok(self.answer(credential, cx))
    }

    /// A comparison never waits: always answered at once.
    fn authorize_now(
        &self,
        credential: &Credential,
        cx: &AuthContext,
    ) -> Option<AuthResult<Option<Principal>>> {
        Some(Ok(self.answer(credential, cx)))
    }
}

impl ApiKeyHandler {
    /// The principal of a bearer token or API key, JWT-shaped or not.
    fn answer(&self, credential: &Credential, cx: &AuthContext) -> Option<Principal> {
        match credential {
            Credential::Bearer(key) | Credential::ApiKey(key) => {
                self.check_key(key.expose_secret(), cx)
            }
            Credential::Basic { .. } => None,
        }
    }

    /// The principal of `key` on the context's channel, if it is one of its keys.
    fn check_key(&self, key: &str, cx: &AuthContext) -> Option<Principal> {
        let channel = self.channel(cx.channel);
        if channel.keys.is_empty() || !channel.matches(&KeyDigest::of(key)) {
            return None;
        }
        let id = cx.user_id_hint().unwrap_or(DEFAULT_USER_ID);
        let mut p = Principal::new(
            id,
            AuthMethod::ApiKey {
                channel: cx.channel,
            },
        )
        .with_permissions(channel.permissions.clone());
        p.roles.clone_from(&channel.roles);
        Some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permission::{AuthPermission as P, AuthResource as R};

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    }

    async fn check(h: &ApiKeyHandler, key: &str, cx: AuthContext) -> Option<Principal> {
        h.authorize(&Credential::bearer(key), &cx)
            .await
            .expect("no error")
    }

    #[test]
    fn http_key_opens_http_only_and_ws_key_ws_only() {
        rt().block_on(async {
            let h = ApiKeyHandler::builder().http_key("H").ws_key("W").build();
            assert!(check(&h, "H", AuthContext::http()).await.is_some());
            assert!(check(&h, "H", AuthContext::websocket()).await.is_none());
            assert!(check(&h, "W", AuthContext::websocket()).await.is_some());
            assert!(check(&h, "W", AuthContext::http()).await.is_none());
        });
    }

    #[test]
    fn setting_one_key_leaves_the_other_channel_unlocked_and_unopened() {
        rt().block_on(async {
            let h = ApiKeyHandler::builder().http_key("H").build();
            assert!(h.locks(Channel::Http));
            assert!(!h.locks(Channel::WebSocket));
            // The HTTP key is "not mine" on WebSocket: the WS channel is
            // neither opened by it nor locked by this handler.
            assert!(check(&h, "H", AuthContext::websocket()).await.is_none());
            let h = ApiKeyHandler::builder().ws_key("W").build();
            assert!(!h.locks(Channel::Http));
            assert!(check(&h, "W", AuthContext::http()).await.is_none());
        });
    }

    #[test]
    fn wrong_key_and_prefix_of_key_are_not_accepted() {
        rt().block_on(async {
            let h = ApiKeyHandler::builder().http_key("correct-horse").build();
            for wrong in [
                "",
                "correct",
                "correct-horse ",
                "Correct-horse",
                "correct-horse-battery",
            ] {
                assert!(
                    check(&h, wrong, AuthContext::http()).await.is_none(),
                    "{wrong:?}"
                );
            }
        });
    }

    #[test]
    fn rotation_accepts_every_configured_key() {
        rt().block_on(async {
            let h = ApiKeyHandler::builder()
                .http_key("old")
                .http_key("new")
                .build();
            assert!(check(&h, "old", AuthContext::http()).await.is_some());
            assert!(check(&h, "new", AuthContext::http()).await.is_some());
            assert!(check(&h, "older", AuthContext::http()).await.is_none());
        });
    }

    #[test]
    fn keys_grant_channel_presets_and_take_the_user_hint() {
        rt().block_on(async {
            let h = ApiKeyHandler::builder().http_key("H").ws_key("W").build();
            let p = check(&h, "H", AuthContext::http()).await.expect("accepted");
            assert_eq!(p.id, DEFAULT_USER_ID);
            assert!(p.has(R::Users, P::Delete));
            let p = check(&h, "W", AuthContext::websocket().with_user_id_hint("alice"))
                .await
                .expect("accepted");
            assert_eq!(p.id, "alice");
            assert!(p.has(R::Conversation, P::Write));
            assert!(!p.has(R::Users, P::Read));
            assert_eq!(
                p.method,
                AuthMethod::ApiKey {
                    channel: Channel::WebSocket
                }
            );
            // A blank hint counts as none.
            let p = check(&h, "H", AuthContext::http().with_user_id_hint("  "))
                .await
                .expect("accepted");
            assert_eq!(p.id, DEFAULT_USER_ID);
        });
    }

    #[test]
    fn http_roles_go_to_the_http_keys_principal_only() {
        rt().block_on(async {
            let h = ApiKeyHandler::builder()
                .http_key("H")
                .ws_key("W")
                .http_roles(["admin"])
                .build();
            let p = check(&h, "H", AuthContext::http()).await.expect("accepted");
            assert!(p.has_role("admin"));
            let p = check(&h, "W", AuthContext::websocket())
                .await
                .expect("accepted");
            assert!(p.roles.is_empty());
        });
    }

    #[test]
    fn jwt_shaped_keys_still_match_as_keys() {
        rt().block_on(async {
            let h = ApiKeyHandler::builder().http_key("aaa.bbb.ccc").build();
            assert!(
                check(&h, "aaa.bbb.ccc", AuthContext::http())
                    .await
                    .is_some()
            );
        });
    }

    #[test]
    fn empty_keys_are_ignored() {
        let h = ApiKeyHandler::builder().http_key("").build();
        assert!(!h.locks(Channel::Http));
    }
}
