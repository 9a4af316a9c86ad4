//! Every store trait in one place, each with an in-memory implementation:
//! users on the request path ([`UserStore`], [`MemoryUserStore`]) and
//! their administration ([`UserAdmin`]), issued tokens ([`TokenStore`],
//! [`MemoryTokenStore`]), the configurations of the live-switchable
//! handlers ([`HandlerConfigStore`], [`MemoryHandlerConfigStore`]) and
//! revocations ([`RevocationCheck`], [`MemoryRevocations`]) and refresh
//! tokens ([`RefreshStore`], [`MemoryRefreshStore`]). Failed logins have
//! theirs beside the throttle that counts them
//! ([`ThrottleStore`](crate::throttle::ThrottleStore)). The database stores
//! are in `auth-store`.

mod manage;
mod memory;
mod refresh;
mod revocation;
mod users;

pub use manage::*;
pub use memory::{MemoryHandlerConfigStore, MemoryTokenStore};
pub use refresh::{
    MemoryRefreshStore, RefreshRecord, RefreshStore, Rotation, TokenHash, hash_refresh_token,
};
pub use revocation::*;
pub use users::*;
