//! Expansions that must compile and run: each macro's output used as a user
//! writes it. They build with the other tests (one binary), so trybuild,
//! which compiles a project of its own, only checks the failing cases in
//! `tests/ui` and never generates code. `registered.rs` has a process of its
//! own: it lists every handler registered in the binary.

mod after_authentication_hooks;
mod api_hygiene;
mod api_operations;
mod auth_handler_config;
mod before_authentication_hooks;
mod hygiene_no_prelude;
mod permission_names;
mod requires_every_form;
mod requires_generic_and_websocket;
mod requires_hygiene;
mod resource_names;
mod resource_through_auth_poem;
