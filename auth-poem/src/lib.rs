#![doc = include_str!("../README.md")]

// The macros name this crate `::auth_poem`, in its own tests too.
extern crate self as auth_poem;

#[doc(hidden)]
pub mod __private;
mod auth;
mod client;
mod extract;
mod middleware;
pub mod openapi;
mod rejection;
mod request_log;
mod requires;
pub mod routes;
mod trace;

pub use auth::{
    DEFAULT_API_KEY_HEADER, DEFAULT_USER_ID_HEADER, DEFAULT_WS_TOKEN_QUERY, PoemAuth,
    PoemAuthBuilder,
};
pub use client::client_addr;
pub use extract::credential::{WS_USER_ID_PARAM, masked_uri};
pub use extract::plain::{Authenticated, OptionalAuthenticated};
pub use extract::websocket::WsAuthenticated;
pub use middleware::{AuthEndpoint, AuthLayer};
pub use openapi::{ApiAuth, DEFAULT_TOKEN_URL, OptionalApiAuth, SchemeNames};
pub use rejection::AuthRejection;
pub use request_log::{REQUEST_ID_HEADER, RequestLog, RequestLogEndpoint};
pub use routes::users::UsersApi;
pub use routes::{JWKS_MAX_AGE_SECS, TokenApi};
pub use trace::{MaskedTracing, MaskedTracingEndpoint};

/// The framework-free core, re-exported so one dependency is enough.
pub use auth_core;

pub use auth_macros::{api, public, requires};
