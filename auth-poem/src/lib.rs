#![doc = include_str!("../README.md")]

mod auth;
mod extract;
mod extractor;
mod middleware;
mod rejection;
pub mod routes;

pub use auth::{DEFAULT_API_KEY_HEADER, DEFAULT_USER_ID_HEADER, PoemAuth, PoemAuthBuilder};
pub use extractor::Authenticated;
pub use middleware::{AuthEndpoint, AuthLayer};
pub use rejection::AuthRejection;
pub use routes::TokenApi;

/// The framework-free core, re-exported so one dependency is enough.
pub use auth_core;
