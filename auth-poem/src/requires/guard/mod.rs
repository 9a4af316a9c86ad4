//! What the code `#[requires]` generates calls at run time: the hidden
//! extractor argument it adds, the probes that find a principal another
//! argument already produced, the check, and the return-type plumbing.

use std::marker::PhantomData;

use auth_core::{Channel, Principal, Scope};
use poem::web::websocket::WebSocket;
use poem::{FromRequest, Request, RequestBody};
use poem_openapi::registry::{MetaOAuthScope, MetaResponses, MetaSecurityScheme, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ApiResponse, ExtractParamOptions};

use super::rule::Rule;
use super::spec;
use crate::extract::plain::{Authenticated, OptionalAuthenticated, authenticated};
use crate::extract::websocket::{WsAuthenticated, ws_authenticated};
use crate::openapi::{ApiAuth, OptionalApiAuth, generated, intern};
use crate::rejection::AuthRejection;

/// An argument type that decides the channel a `#[requires]` route is
/// authenticated on: [`Channel::WebSocket`] for [`WsAuthenticated`] and
/// poem's [`WebSocket`], [`Channel::Http`] for the HTTP auth extractors,
/// and the inner type's channel for poem's `Option<T>` and `Result<T>`.
///
/// When any argument is on the WebSocket channel, the route is a WebSocket
/// route: the guard authenticates it on that channel only, and a caller an
/// HTTP extractor carries is not taken for it.
pub trait OnChannel {
    /// The channel.
    const CHANNEL: Channel;
}

impl OnChannel for Authenticated {
    const CHANNEL: Channel = Channel::Http;
}

impl OnChannel for OptionalAuthenticated {
    const CHANNEL: Channel = Channel::Http;
}

impl OnChannel for ApiAuth {
    const CHANNEL: Channel = Channel::Http;
}

impl OnChannel for OptionalApiAuth {
    const CHANNEL: Channel = Channel::Http;
}

impl OnChannel for WsAuthenticated {
    const CHANNEL: Channel = Channel::WebSocket;
}

impl OnChannel for WebSocket {
    const CHANNEL: Channel = Channel::WebSocket;
}

/// poem's optional extractor: on the inner extractor's channel.
impl<T: OnChannel> OnChannel for Option<T> {
    const CHANNEL: Channel = T::CHANNEL;
}

/// poem's fallible extractor: on the inner extractor's channel.
impl<T: OnChannel> OnChannel for poem::Result<T> {
    const CHANNEL: Channel = T::CHANNEL;
}

/// An argument type that carries the caller once extracted, so the
/// `#[requires]` check reuses it instead of authenticating again.
///
/// Implemented for every auth extractor of this crate. It is how the
/// generated code tells which argument carries the identity: by the
/// argument's *type*, through [`Probe`], never by its name; so is the
/// channel the caller was authenticated on ([`OnChannel`]).
pub trait AuthArg: OnChannel {
    /// The caller, when this extractor has one (an optional extractor
    /// without credential has none).
    fn caller(&self) -> Option<Authenticated>;
}

impl AuthArg for Authenticated {
    fn caller(&self) -> Option<Authenticated> {
        Some(self.clone())
    }
}

impl AuthArg for OptionalAuthenticated {
    fn caller(&self) -> Option<Authenticated> {
        self.0.clone()
    }
}

impl AuthArg for ApiAuth {
    fn caller(&self) -> Option<Authenticated> {
        Some(Authenticated::from(self.clone()))
    }
}

impl AuthArg for OptionalApiAuth {
    fn caller(&self) -> Option<Authenticated> {
        self.0.clone().map(Authenticated::from)
    }
}

impl AuthArg for WsAuthenticated {
    fn caller(&self) -> Option<Authenticated> {
        Some(self.clone().into_authenticated())
    }
}

/// poem's optional extractor: the caller when the inner extractor had one
/// (a refused credential is `None` here, and the guard then refuses it).
impl<T: AuthArg> AuthArg for Option<T> {
    fn caller(&self) -> Option<Authenticated> {
        self.as_ref().and_then(AuthArg::caller)
    }
}

/// poem's fallible extractor: the caller when the inner extractor had one.
impl<T: AuthArg> AuthArg for poem::Result<T> {
    fn caller(&self) -> Option<Authenticated> {
        self.as_ref().ok().and_then(AuthArg::caller)
    }
}

/// A poem-openapi argument type that already lists this crate's security
/// schemes on its operation, so the hidden argument need not list them again.
pub trait DocumentsAuth {}

impl DocumentsAuth for ApiAuth {}
impl DocumentsAuth for OptionalApiAuth {}

/// An argument type that refuses a caller without a credential, which a
/// `#[public]` operation may not take.
pub trait NeedsCredential {}

impl NeedsCredential for ApiAuth {}
impl NeedsCredential for Authenticated {}
impl NeedsCredential for WsAuthenticated {}

/// Implemented by `Result<T, E>` only: tells a handler that returns a
/// `Result` from one that returns a bare response.
pub trait IsResult {}

impl<T, E> IsResult for Result<T, E> {}

/// Asks a type about the traits above without requiring them.
///
/// `<Probe<T>>::IS_AUTH_ARG` is the inherent constant (`true`) when
/// `T: AuthArg`, and [`Fallback::IS_AUTH_ARG`] (`false`) otherwise: Rust
/// prefers an inherent item whose bounds hold over a trait item. The
/// generated code imports [`Fallback`] and asks about each argument's type.
pub struct Probe<T: ?Sized>(PhantomData<T>);

/// The answers [`Probe`] gives for a type that implements none of the traits.
pub trait Fallback {
    /// The probed type.
    type Arg: ?Sized;
    /// The type is no [`AuthArg`].
    const IS_AUTH_ARG: bool = false;
    /// The type is no [`DocumentsAuth`].
    const DOCUMENTS_AUTH: bool = false;
    /// The type is no `Result`.
    const IS_RESULT: bool = false;
    /// The type is no [`NeedsCredential`].
    const NEEDS_CREDENTIAL: bool = false;
    /// The type does not make the route a WebSocket route.
    const IS_WEBSOCKET: bool = false;

    /// No caller in an argument of this type.
    fn caller(_arg: &Self::Arg) -> Option<(Channel, Authenticated)> {
        None
    }
}

impl<T: ?Sized> Fallback for Probe<T> {
    type Arg = T;
}

impl<T: ?Sized + AuthArg> Probe<T> {
    /// The type is an [`AuthArg`].
    pub const IS_AUTH_ARG: bool = true;

    /// The caller `arg` carries, with the channel it was authenticated on.
    pub fn caller(arg: &T) -> Option<(Channel, Authenticated)> {
        arg.caller().map(|caller| (T::CHANNEL, caller))
    }
}

impl<T: ?Sized + OnChannel> Probe<T> {
    /// Whether the type makes the route a WebSocket route.
    pub const IS_WEBSOCKET: bool = matches!(T::CHANNEL, Channel::WebSocket);
}

impl<T: ?Sized + DocumentsAuth> Probe<T> {
    /// The type is a [`DocumentsAuth`].
    pub const DOCUMENTS_AUTH: bool = true;
}

impl<T: ?Sized + NeedsCredential> Probe<T> {
    /// The type is a [`NeedsCredential`].
    pub const NEEDS_CREDENTIAL: bool = true;
}

impl<T: ?Sized + IsResult> Probe<T> {
    /// The type is a `Result`.
    pub const IS_RESULT: bool = true;
}

/// The channel of a route: WebSocket when some argument's type says so
/// (the `WEBSOCKET` parameter of the guards), HTTP otherwise.
const fn channel(websocket: bool) -> Channel {
    if websocket {
        Channel::WebSocket
    } else {
        Channel::Http
    }
}

/// Authenticates `req` on `channel`: a WebSocket route is never
/// authenticated on the HTTP channel, nor an HTTP route on the WebSocket one.
async fn authenticate(req: &Request, channel: Channel) -> Result<Authenticated, AuthRejection> {
    match channel {
        Channel::Http => authenticated(req).await,
        Channel::WebSocket => ws_authenticated(req)
            .await
            .map(WsAuthenticated::into_authenticated),
    }
}

/// The caller: the first one an argument carries on the route's `channel`
/// (`found`), else the one the guard authenticated, else the result of
/// authenticating `req` on `channel` now.
async fn resolve<const K: usize>(
    req: &Request,
    channel: Channel,
    authenticated_early: Option<Authenticated>,
    found: [Option<(Channel, Authenticated)>; K],
) -> Result<Authenticated, AuthRejection> {
    let on_channel = found.into_iter().flatten().find(|(on, _)| *on == channel);
    if let Some((_, caller)) = on_channel {
        return Ok(caller);
    }
    match authenticated_early {
        Some(caller) => Ok(caller),
        None => authenticate(req, channel).await,
    }
}

/// The hidden first argument `#[requires]` adds to a poem `#[handler]`.
///
/// With `REUSE` false (no other argument is an auth extractor) it
/// authenticates as it is extracted, before any other argument, so an
/// anonymous request is refused before its body is read. With `REUSE` true
/// it waits: the auth argument authenticates, and [`caller`](Self::caller)
/// takes the principal from it, so the pipeline runs once. Either way the
/// principal [`AuthLayer`](crate::AuthLayer) stored is reused when there is one.
///
/// With `WEBSOCKET` true (some argument is on [`Channel::WebSocket`], see
/// [`OnChannel`]) it authenticates on the WebSocket channel, and takes the
/// caller only from an argument on that channel: an `Option<WsAuthenticated>`
/// that was refused is refused again here, never retried over HTTP.
pub struct HandlerGuard<'a, const REUSE: bool, const WEBSOCKET: bool> {
    req: &'a Request,
    caller: Option<Authenticated>,
}

impl<'a, const REUSE: bool, const WEBSOCKET: bool> FromRequest<'a>
    for HandlerGuard<'a, REUSE, WEBSOCKET>
{
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let caller = if REUSE {
            None
        } else {
            Some(authenticate(req, channel(WEBSOCKET)).await?)
        };
        Ok(Self { req, caller })
    }
}

impl<const REUSE: bool, const WEBSOCKET: bool> HandlerGuard<'_, REUSE, WEBSOCKET> {
    /// The caller: from an argument on the route's channel (`found`, one
    /// probe per argument), else authenticated here on that channel.
    pub async fn caller<const K: usize>(
        self,
        found: [Option<(Channel, Authenticated)>; K],
    ) -> Result<Authenticated, AuthRejection> {
        resolve(self.req, channel(WEBSOCKET), self.caller, found).await
    }
}

/// What `#[auth_poem::api]` knows of its `N`-th protected operation,
/// implemented for the API type.
pub trait Operation<const N: usize> {
    /// Some argument of the operation is an [`AuthArg`].
    const REUSE: bool;
    /// Some argument of the operation is on [`Channel::WebSocket`] (see
    /// [`OnChannel`]): the operation is authenticated on that channel only.
    const WEBSOCKET: bool;
    /// Some argument of the operation is a [`DocumentsAuth`].
    const DOCUMENTED: bool;
    /// The line added to the operation's docs at compile time.
    const DOC_LINE: &'static str;
    /// How the operation's return type is wrapped.
    type Shape: Flat;
    /// The operation's rule.
    fn rule() -> &'static Rule;
}

/// The hidden first argument `#[auth_poem::api]` adds to a protected
/// operation: a poem-openapi security extractor, so the operation is
/// documented with this crate's schemes and the rule's OAuth2 scopes even
/// when it takes no [`ApiAuth`]. It authenticates as [`HandlerGuard`] does,
/// on the channel [`Operation::WEBSOCKET`] says.
pub struct ApiGuard<'a, A, const N: usize> {
    req: &'a Request,
    caller: Option<Authenticated>,
    api: PhantomData<fn() -> A>,
}

impl<A: Operation<N>, const N: usize> ApiGuard<'_, A, N> {
    /// The caller: from an argument on the operation's channel (`found`,
    /// one probe per argument), else authenticated here on that channel.
    pub async fn caller<const K: usize>(
        self,
        found: [Option<(Channel, Authenticated)>; K],
    ) -> Result<Authenticated, AuthRejection> {
        resolve(self.req, channel(A::WEBSOCKET), self.caller, found).await
    }
}

impl<'a, A: Operation<N>, const N: usize> ApiExtractor<'a> for ApiGuard<'a, A, N> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        generated::register(registry);
        if let Some(scheme) = registry.security_schemes.get_mut(generated::OAUTH2) {
            declare_scopes(scheme, &A::rule().scope_alternatives().concat());
        }
    }

    fn security_schemes() -> Vec<&'static str> {
        if let Some(tag) = spec::tag(A::rule(), A::DOC_LINE) {
            return vec![tag];
        }
        if A::DOCUMENTED {
            Vec::new()
        } else {
            generated::names()
        }
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let caller = if A::REUSE {
            None
        } else {
            Some(authenticate(req, channel(A::WEBSOCKET)).await?)
        };
        Ok(Self {
            req,
            caller,
            api: PhantomData,
        })
    }
}

/// The hidden argument `#[auth_poem::api]` adds to a `#[public]`
/// operation: it extracts nothing, and marks the operation so the served
/// spec gives it `security: []`.
#[derive(Debug, Clone, Copy)]
pub struct PublicOperation;

impl<'a> ApiExtractor<'a> for PublicOperation {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];

    type ParamType = ();
    type ParamRawType = ();

    fn security_schemes() -> Vec<&'static str> {
        spec::public_tag().into_iter().collect()
    }

    async fn from_request(
        _req: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        Ok(Self)
    }
}

/// Adds `scopes` to the flows of an OAuth2 scheme, so the spec declares
/// every scope an operation lists (and Swagger UI offers them).
fn declare_scopes(scheme: &mut MetaSecurityScheme, scopes: &[String]) {
    let Some(flows) = scheme.flows.as_mut() else {
        return;
    };
    let flows = [
        flows.implicit.as_mut(),
        flows.password.as_mut(),
        flows.client_credentials.as_mut(),
        flows.authorization_code.as_mut(),
    ];
    for flow in flows.into_iter().flatten() {
        for scope in scopes {
            if flow.scopes.iter().any(|s| s.name == scope) {
                continue;
            }
            let description = scope
                .parse::<Scope>()
                .ok()
                .map(|s| intern(&format!("{} on {}", s.permission(), s.resource())));
            flow.scopes.push(MetaOAuthScope {
                name: intern(scope),
                description,
            });
        }
    }
}

/// Checks `rule` for `caller`: the configured 403 refusal when it is not met.
/// `condition(i)` evaluates the rule's `i`-th `expr`.
pub fn check(
    caller: &Authenticated,
    rule: &Rule,
    condition: &mut dyn FnMut(usize) -> bool,
) -> Result<(), AuthRejection> {
    if let Some(requirement) = rule.requirement() {
        return caller.require(requirement);
    }
    if rule.allows(caller.principal(), condition) {
        Ok(())
    } else {
        Err(AuthRejection::forbidden(
            &caller.id,
            rule,
            caller.responses(),
        ))
    }
}

/// A refusal as the error a handler returns.
pub fn refused(refusal: AuthRejection) -> poem::Error {
    refusal.into()
}

/// The principal of `caller`, bound to `user` in `expr` conditions.
pub fn principal(caller: &Authenticated) -> &Principal {
    caller.principal()
}

/// The condition evaluator of a rule without `expr`: never called.
pub fn no_condition(_index: usize) -> bool {
    false
}

/// How `#[auth_poem::api]` changes an operation's return type so a refusal
/// can be returned, keeping the operation's documented responses.
pub trait Flat {
    /// The type the handler's body returns.
    type Value;
    /// The type the operation returns.
    type Output;
    /// The body's answer.
    fn ok(value: Self::Value) -> Self::Output;
    /// A refusal.
    fn refuse(refusal: AuthRejection) -> Self::Output;
}

/// The [`Flat`] shape of a body returning `U`; `RESULT` is whether `U` is a
/// `Result` (asked of [`Probe`]).
///
/// - `Flatten<U, false>` returns `poem::Result<U>`;
/// - `Flatten<Result<T, E>, true>` returns `Result<T, Refusable<E>>`: the
///   same success and error responses in the spec, and room for a refusal.
pub struct Flatten<U, const RESULT: bool>(PhantomData<fn() -> U>);

impl<U> Flat for Flatten<U, false> {
    type Value = U;
    type Output = poem::Result<U>;

    fn ok(value: U) -> Self::Output {
        Ok(value)
    }

    fn refuse(refusal: AuthRejection) -> Self::Output {
        Err(refusal.into())
    }
}

impl<T, E> Flat for Flatten<Result<T, E>, true> {
    type Value = Result<T, E>;
    type Output = Result<T, Refusable<E>>;

    fn ok(value: Result<T, E>) -> Self::Output {
        value.map_err(Refusable::Handler)
    }

    fn refuse(refusal: AuthRejection) -> Self::Output {
        Err(Refusable::Refused(refusal.into()))
    }
}

/// The error of an operation that returned `Result<T, E>`: the handler's
/// own error, or a refusal of the `#[requires]` check. Documented as `E`.
pub enum Refusable<E> {
    /// The handler's error.
    Handler(E),
    /// The check refused the request.
    Refused(poem::Error),
}

impl<E: ApiResponse> ApiResponse for Refusable<E> {
    fn meta() -> MetaResponses {
        E::meta()
    }

    fn register(registry: &mut Registry) {
        E::register(registry);
    }

    fn from_parse_request_error(err: poem::Error) -> Self {
        Self::Refused(err)
    }
}

impl<E: Into<poem::Error>> From<Refusable<E>> for poem::Error {
    fn from(error: Refusable<E>) -> Self {
        match error {
            Refusable::Handler(error) => error.into(),
            Refusable::Refused(error) => error,
        }
    }
}

/// The `i`-th OAuth2 scope of an operation's rule, as poem-openapi's
/// `#[oai(scope = "...")]` takes it: its name is only known at run time
/// (a [`Resource`](auth_core::Resource) names itself).
#[derive(Clone, Copy)]
pub struct OAuthScope {
    rule: fn() -> &'static Rule,
    index: usize,
}

impl OAuthScope {
    /// The `index`-th of [`Rule::scopes`] of `rule()`.
    pub const fn new(rule: fn() -> &'static Rule, index: usize) -> Self {
        Self { rule, index }
    }
}

impl poem_openapi::OAuthScopes for OAuthScope {
    fn meta() -> Vec<MetaOAuthScope> {
        Vec::new()
    }

    fn name(&self) -> &'static str {
        (self.rule)()
            .scopes()
            .get(self.index)
            .map_or("", |scope| intern(scope))
    }
}

#[cfg(test)]
mod tests;
