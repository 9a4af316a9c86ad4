//! Procedural macros for poem-auth.
//!
//! Depend on `auth-core` (or `auth-poem`) and use the macros from there:
//! the derives and hook attributes are re-exported by `auth-core`, and
//! `#[requires]` and `#[auth_poem::api]` by `auth-poem`.
//!
//! Every macro is parse → validate → expand, in its own module; this file
//! holds only the entry points.

mod enum_names;
mod handler_config;
mod hooks;
mod requires;
mod support;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Implements `auth_core::Resource`, `Display` and `FromStr` for a fieldless
/// enum; see `auth_core::permission`.
///
/// Each variant is named in SCREAMING_SNAKE_CASE (`AuthHandler` →
/// `AUTH_HANDLER`); `#[resource(rename = "...")]` names it otherwise (ASCII
/// letters, digits and `_`; normalized to upper case).
#[proc_macro_derive(Resource, attributes(resource))]
pub fn derive_resource(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    enum_names::derive(&input, enum_names::Kind::Resource).into()
}

/// Implements `auth_core::Permission`, `Display` and `FromStr` for a
/// fieldless enum; like `#[derive(Resource)]`, with `#[permission(rename = "...")]`.
#[proc_macro_derive(Permission, attributes(permission))]
pub fn derive_permission(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    enum_names::derive(&input, enum_names::Kind::Permission).into()
}

/// Implements `auth_core::AuthHandlerConfig` for a config type, with
/// `#[auth_config(name = "...", handler = MyHandler)]` and optionally
/// `id = "..."` and `description = "..."` (else the doc comment).
#[proc_macro_derive(AuthHandlerConfig, attributes(auth_config))]
pub fn derive_auth_handler_config(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    handler_config::derive(&input).into()
}

/// `#[auth_handler(config = MyConfig)]` on a handler type: checks that it is
/// an `AuthHandler` built by `MyConfig`, and registers `MyConfig` for
/// `HandlerRegistry::with_registered()`.
#[proc_macro_attribute]
pub fn auth_handler(args: TokenStream, item: TokenStream) -> TokenStream {
    handler_config::auth_handler(args.into(), item.into()).into()
}

/// Turns `async fn name(cx: &mut BeforeAuth) -> AuthResult<()>` into a unit
/// struct `name` that implements `auth_core::BeforeHook`.
#[proc_macro_attribute]
pub fn before_authentication(args: TokenStream, item: TokenStream) -> TokenStream {
    hooks::hook(hooks::Stage::Before, args.into(), item.into()).into()
}

/// Turns `async fn name(cx: &AfterAuth) -> AuthResult<()>` into a unit struct
/// `name` that implements `auth_core::AfterHook`.
#[proc_macro_attribute]
pub fn after_authentication(args: TokenStream, item: TokenStream) -> TokenStream {
    hooks::hook(hooks::Stage::After, args.into(), item.into()).into()
}

/// Protects a poem handler, or a poem-openapi operation of an
/// `#[auth_poem::api]` impl: the body runs only for a caller that meets
/// the requirement; others get the configured 401 (no or bad credential)
/// or 403 (authenticated, not permitted).
///
/// # Requirements
///
/// | form | means |
/// |---|---|
/// | `#[requires(Res::Conversation, Permission::Write)]` | the pair, of any types implementing `auth_core::Resource` and `auth_core::Permission` |
/// | `#[requires(role("admin"))]` | the role |
/// | `#[requires(scope("conversation:write"))]` | the OAuth2 scope (a `resource:permission` scope is answered by the permissions); checked at compile time |
/// | `#[requires(any(a, b, ...))]`, `#[requires(all(a, b, ...))]` | at least one / every one; they nest, and a pair inside them is written `(Res::X, Permission::Y)` |
/// | `#[requires(expr = "user.id == id.0")]` | a Rust boolean expression, checked after authentication, where `user` is the caller's `&Principal` and the handler's arguments are in scope by their names |
///
/// Several `#[requires]` on one item mean all of them. A condition is
/// evaluated only when the answer depends on it (`any` stops at the first
/// requirement met, `all` at the first one missed).
///
/// # On a poem handler
///
/// Write `#[requires]` **above** `#[handler]`; below it is a compile error.
/// The handler gets a hidden first argument that authenticates, and its
/// return type becomes `poem::Result<impl IntoResponse>` (a handler that
/// returned `T` or `Result<T>` keeps compiling). When an argument already is
/// an auth extractor (`Authenticated`, `OptionalAuthenticated`,
/// `WsAuthenticated`, told apart by its type), its principal is reused;
/// otherwise the hidden argument authenticates before any other argument is
/// extracted. The principal [`AuthLayer`] stored is reused either way.
///
/// The channel is decided by the argument types too: a handler taking a
/// `WsAuthenticated` (bare, in an `Option` or in a `Result`) or poem's
/// `WebSocket` is a WebSocket route, authenticated on the WebSocket channel
/// only, so an HTTP key never opens it.
///
/// ```
/// use auth_core::{AuthPermission as P, AuthResource as R};
/// use auth_poem::{Authenticated, requires};
/// use poem::handler;
/// use poem::web::Path;
///
/// /// The caller's conversations.
/// #[requires(R::Conversation, P::Read)]
/// #[handler]
/// async fn conversations(user: Authenticated) -> String {
///     format!("the conversations of {}", user.id) // `user` was reused, not authenticated twice
/// }
///
/// /// Admins, or the user itself.
/// #[requires(any(role("admin"), expr = "user.id == id.0"))]
/// #[requires(scope("openid"))]
/// #[handler]
/// fn profile(id: Path<String>) -> poem::Result<String> {
///     Ok(id.0)
/// }
/// ```
///
/// # On a poem-openapi operation
///
/// Put [`macro@api`] on the impl, above `#[OpenApi]`, and `#[requires]` on
/// the operations. See [`macro@api`] for what the spec shows.
///
/// [`AuthLayer`]: https://docs.rs/auth-poem/latest/auth_poem/struct.AuthLayer.html
#[proc_macro_attribute]
pub fn requires(args: TokenStream, item: TokenStream) -> TokenStream {
    requires::requires(args.into(), item.into()).into()
}

/// Applies the `#[requires]` of a poem-openapi impl; write it above
/// `#[OpenApi]`.
///
/// It denies by default: every operation of the impl declares its access
/// rule, `#[requires(...)]` (`#[requires(authenticated)]` for any signed-in
/// caller) or `#[public]`, or the impl does not compile. A `#[public]`
/// operation gets `security: []` in the spec (or its optional schemes and
/// `{}` when it takes an `OptionalApiAuth`), and may not take an `ApiAuth`.
///
/// Each `#[requires]` operation gets a hidden first argument, a
/// poem-openapi security extractor, so the operation is protected and
/// documented even when it takes no `ApiAuth`; its body runs after the
/// check, and its return type `T` becomes `poem::Result<T>` (a `Result` is
/// kept a `Result`, with the same documented responses).
///
/// The spec shows what each operation requires:
///
/// - its description ends with a line such as ``Requires: role `admin` or
///   `users:read`.``;
/// - its `security` lists, on the OAuth2 scheme, the scopes a caller
///   needs: one alternative per way of meeting the requirement when it has
///   an `any` over permissions or scopes, and the OAuth2 flow declares them;
/// - `x-required-permissions` holds the whole requirement as JSON
///   (`{"permission": "conversation:write"}`, `{"role": ...}`,
///   `{"scope": ...}`, `{"expr": ...}`, `{"any": [...]}`, `{"all": [...]}`)
///   in the spec `PoemAuth::openapi_spec` and `PoemAuth::openapi_endpoints`
///   serve.
///
/// ```
/// use auth_core::{AuthPermission as P, AuthResource as R};
/// use poem_openapi::{OpenApi, payload::Json};
///
/// struct ChatApi;
///
/// #[auth_poem::api]
/// #[OpenApi]
/// impl ChatApi {
///     /// Send a message.
///     #[requires(R::Conversation, P::Write)]
///     #[oai(path = "/message", method = "post")]
///     async fn send(&self, body: Json<String>) -> Json<usize> {
///         Json(body.0.len())
///     }
///
///     /// Is the service up?
///     #[public]
///     #[oai(path = "/health", method = "get")]
///     async fn health(&self) -> Json<bool> {
///         Json(true)
///     }
/// }
/// ```
#[proc_macro_attribute]
pub fn api(args: TokenStream, item: TokenStream) -> TokenStream {
    requires::api(args.into(), item.into()).into()
}

/// Opens an operation of an [`macro@api`] impl to anyone; [`macro@api`]
/// reads it. Anywhere else it is a compile error that says so.
#[proc_macro_attribute]
pub fn public(_args: TokenStream, item: TokenStream) -> TokenStream {
    requires::public(item.into()).into()
}
