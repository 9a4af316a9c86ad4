//! Procedural macros for poem-auth.
//!
//! This crate is re-exported by `auth-poem`; depend on that instead. The
//! attribute macros (`#[requires]`, `#[auth_handler]`, the authentication
//! hooks and the config and enum derives) are not published yet: until they
//! are, this crate exports nothing, so nothing here can be mistaken for a
//! working macro.
