//! Who calls: reading a credential from a request ([`credential`]), and
//! the extractors that hand the authenticated caller to a handler: plain
//! poem ([`plain`]), poem-openapi ([`openapi`]) and WebSocket upgrades
//! ([`websocket`]). The three caller types share one core,
//! [`Authenticated`](plain::Authenticated).

pub(crate) mod credential;
pub(crate) mod openapi;
pub(crate) mod plain;
pub(crate) mod websocket;
