#![doc = include_str!("../README.md")]

pub mod authenticator;
pub mod builtin;
pub mod config;
pub mod error;
pub mod mask;
pub mod middleware;
pub mod refresh;
pub mod registry;

pub use async_trait::async_trait;
pub use auth_core::clock::{Clock, ManualClock, SystemClock};
pub use authenticator::{AppliedGeneration, Authenticator, Verdict};
pub use config::{ClientAuth, CredentialConfig, GrantType, ProxyUrl};
pub use error::ClientError;
pub use mask::{MaskPolicy, OutboundLog};
pub use middleware::AuthMiddleware;
pub use refresh::{FetchedToken, RefreshMode, RefreshPolicy, TokenCache};
pub use registry::{AuthenticatorRegistry, Context, Factory};

/// The HTTP client, re-exported so one dependency is enough.
pub use reqwest;
/// The middleware stack the authenticators plug into.
pub use reqwest_middleware;
/// The secret wrappers of credential records.
pub use secrecy;
