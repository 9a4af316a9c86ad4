//! auth-poem's integration tests, in one binary (one link instead of one per
//! file): each module drives a real poem `Route` through poem's `TestClient`
//! or a loopback listener. Tests that need a server installed on the machine
//! (PostgreSQL, OpenLDAP, an OpenID provider, Chromium) live in the
//! workspace's `tests/` package; the shared helpers are the `auth-test` crate.

mod credential_sources;
mod hub;
mod live_handlers;
mod openapi;
mod poem_layer;
mod requires;
mod resource_server;
mod token_registry;
mod token_routes;
mod user_routes;
mod websocket;
