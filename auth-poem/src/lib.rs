#![doc = include_str!("../README.md")]

mod auth;
mod extract;
mod extractor;
mod middleware;
pub mod openapi;
mod rejection;

pub use auth::{DEFAULT_API_KEY_HEADER, DEFAULT_USER_ID_HEADER, PoemAuth, PoemAuthBuilder};
pub use extractor::Authenticated;
pub use middleware::{AuthEndpoint, AuthLayer};
pub use openapi::{ApiAuth, DEFAULT_TOKEN_URL, OptionalApiAuth, SchemeNames};
pub use rejection::AuthRejection;

/// The framework-free core, re-exported so one dependency is enough.
pub use auth_core;
