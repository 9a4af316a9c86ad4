//! What a handler knows about the request besides the credential.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use crate::jwt::KeySet;
use crate::permission::Scope;
use crate::principal::Channel;

/// Request facts handed to every handler and hook.
///
/// ```
/// use auth_core::{AuthContext, Channel};
///
/// let cx = AuthContext::new(Channel::WebSocket).with_user_id_hint("alice");
/// assert_eq!(cx.user_id_hint(), Some("alice"));
/// ```
#[derive(Debug, Clone)]
pub struct AuthContext {
    /// HTTP or WebSocket.
    pub channel: Channel,
    /// The resource/permission the route requires, when one is known before authentication.
    pub required: Option<Scope>,
    /// The user the caller says it acts for (`user_id` header, `/ws/{user_id}`).
    /// Empty hints are dropped.
    user_id_hint: Option<String>,
    /// The peer's socket address, when the connection has one (TCP); `None`
    /// for a Unix socket or a request that came from no socket. It is the
    /// immediate peer, a proxy included: see `auth_poem::RequestLog` for the
    /// client behind trusted proxies.
    pub remote_addr: Option<SocketAddr>,
    /// The client's address: the peer's, or behind trusted proxies the
    /// client they forward for (as `auth_poem::client_addr` tells it).
    /// What the login throttle keys on.
    pub client_addr: Option<IpAddr>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// JWT keys chosen by a before-authentication hook for this request.
    pub(crate) key_override: Option<Arc<KeySet>>,
}

impl AuthContext {
    /// A context for the given channel, with nothing else known.
    pub fn new(channel: Channel) -> Self {
        Self {
            channel,
            required: None,
            user_id_hint: None,
            remote_addr: None,
            client_addr: None,
            user_agent: None,
            key_override: None,
        }
    }

    /// A plain HTTP request.
    pub fn http() -> Self {
        Self::new(Channel::Http)
    }

    /// A WebSocket upgrade.
    pub fn websocket() -> Self {
        Self::new(Channel::WebSocket)
    }

    /// Sets the user-id hint; an empty or blank hint counts as none.
    #[must_use]
    pub fn with_user_id_hint(mut self, hint: impl Into<String>) -> Self {
        let hint = hint.into();
        self.user_id_hint = (!hint.trim().is_empty()).then_some(hint);
        self
    }

    /// Sets the required permission.
    #[must_use]
    pub fn with_required(mut self, scope: Scope) -> Self {
        self.required = Some(scope);
        self
    }

    /// Sets the peer's socket address.
    #[must_use]
    pub fn with_remote_addr(mut self, addr: SocketAddr) -> Self {
        self.remote_addr = Some(addr);
        self
    }

    /// Sets the client's address (see [`client_addr`](Self::client_addr)).
    #[must_use]
    pub fn with_client_addr(mut self, addr: IpAddr) -> Self {
        self.client_addr = Some(addr);
        self
    }

    /// The client's address as the login throttle keys on it: the
    /// [`client_addr`](Self::client_addr), else the peer's IP, else empty.
    pub fn client_label(&self) -> String {
        self.client_addr
            .or(self.remote_addr.map(|a| a.ip()))
            .map(|ip| ip.to_string())
            .unwrap_or_default()
    }

    /// Sets the user agent.
    #[must_use]
    pub fn with_user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = Some(agent.into());
        self
    }

    /// The user-id hint, if a non-empty one was given.
    pub fn user_id_hint(&self) -> Option<&str> {
        self.user_id_hint.as_deref()
    }

    /// The JWT keys a before-authentication hook picked for this request, if any.
    pub fn key_override(&self) -> Option<&Arc<KeySet>> {
        self.key_override.as_ref()
    }
}
