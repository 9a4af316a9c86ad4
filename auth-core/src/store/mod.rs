//! Every store trait in one place, each with an in-memory implementation:
//! users on the request path ([`UserStore`], [`MemoryUserStore`]) and
//! their administration ([`UserAdmin`]), issued tokens ([`TokenStore`],
//! [`MemoryTokenStore`]), the configurations of the live-switchable
//! handlers ([`HandlerConfigStore`], [`MemoryHandlerConfigStore`]) and
//! revocations ([`RevocationCheck`], [`MemoryRevocations`]). Refresh tokens
//! and failed logins have theirs beside the services that use them
//! ([`RefreshStore`](crate::tokens::RefreshStore),
//! [`ThrottleStore`](crate::throttle::ThrottleStore)). The database stores
//! are in `auth-store`.

mod manage;
mod memory;
mod revocation;
mod users;

pub use manage::*;
pub use memory::{MemoryHandlerConfigStore, MemoryTokenStore};
pub use revocation::*;
pub use users::*;
