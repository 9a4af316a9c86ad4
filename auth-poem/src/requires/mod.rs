//! The run-time side of `#[requires]` and `#[auth_poem::api]`: what the
//! generated code calls, reached through [`crate::__private`].
//!
//! - [`rule`]: the [`Rule`] a `#[requires]` item asks, its check, and how it
//!   reads in the spec (scopes, `x-required-permissions`, the `Requires:` line);
//! - [`guard`]: the hidden extractor argument, the probes that find the caller
//!   in the handler's own arguments by their types, and the return-type shapes;
//! - [`spec`]: how each operation's rule reaches the served spec.

pub(crate) mod guard;
pub(crate) mod rule;
pub(crate) mod spec;

pub use guard::{
    ApiGuard, AuthArg, DocumentsAuth, Fallback, Flat, Flatten, HandlerGuard, IsResult,
    NeedsCredential, OAuthScope, OnChannel, Operation, Probe, PublicOperation, Refusable, check,
    no_condition, principal, refused,
};
pub use rule::Rule;
