//! [`ApiAuth`] and [`OptionalApiAuth`]: the caller of a poem-openapi
//! operation, documented with the schemes of the
//! [`openapi`](crate::openapi) module.

use std::fmt;

use auth_core::{Principal, Requirement};
use poem::{Request, RequestBody};
use poem_openapi::registry::Registry;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use crate::extract::plain::{Authenticated, authenticated, optional_authenticated};
use crate::openapi::generated;
use crate::rejection::AuthRejection;

/// The authenticated caller of a poem-openapi operation; derefs to its
/// [`Principal`].
///
/// The poem-openapi twin of [`Authenticated`] (poem-openapi treats every
/// poem extractor as a plain one, so a security extractor must be a type of
/// its own). It takes the principal [`AuthLayer`](crate::AuthLayer) stored,
/// or authenticates the request with the [`PoemAuth`](crate::PoemAuth) attached through
/// `.data(auth)`; refusals are the same answers (401 with
/// `WWW-Authenticate`, 403, or 500 when neither is there). In the spec, the
/// operation lists every scheme of the [`openapi` module docs](crate::openapi) as an alternative.
///
/// An API response type with a `bad_request_handler` receives these
/// refusals as well and may change them.
///
/// ```
/// use auth_core::{AuthPermission as P, AuthResource as R, Requirement};
/// use auth_poem::ApiAuth;
/// use poem_openapi::{OpenApi, payload::PlainText};
///
/// struct Api;
///
/// #[OpenApi]
/// impl Api {
///     /// Deletes everything.
///     #[oai(path = "/all", method = "delete")]
///     async fn delete_all(&self, user: ApiAuth) -> poem::Result<PlainText<String>> {
///         user.require(&Requirement::permission(R::Users, P::Delete))?;
///         Ok(PlainText(format!("deleted by {}", user.id)))
///     }
/// }
/// ```
#[derive(Clone)]
pub struct ApiAuth(Authenticated);

crate::extract::plain::caller_type!(ApiAuth);

impl ApiAuth {
    /// Checks a requirement: a refusal with the configured 403 answer when
    /// the principal does not meet it.
    pub fn require(&self, requirement: &Requirement) -> Result<(), AuthRejection> {
        self.0.require(requirement)
    }
}

impl<'a> ApiExtractor<'a> for ApiAuth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        generated::register(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        generated::names()
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        Ok(Self(authenticated(req).await?))
    }
}

/// The caller of a poem-openapi operation that is open to anyone but may
/// know who calls: `None` when no credential came.
///
/// A credential that came and was refused is still refused (401): a caller
/// with a wrong key is told so, not served as anonymous. poem-openapi has no
/// optional security extractor of its own (`Option<Scheme>` does not
/// implement its extractor trait), hence this type. In the spec, the
/// operation lists the schemes of [`ApiAuth`] plus the empty alternative
/// `{}`.
///
/// Behind [`AuthLayer`](crate::AuthLayer), a request without credential never
/// gets this far: the layer refuses it. Attach the auth with `.data(auth)`
/// for routes that must stay open.
///
/// ```
/// use auth_poem::OptionalApiAuth;
/// use poem_openapi::{OpenApi, payload::PlainText};
///
/// struct Api;
///
/// #[OpenApi]
/// impl Api {
///     /// Greets the caller.
///     #[oai(path = "/hello", method = "get")]
///     async fn hello(&self, user: OptionalApiAuth) -> PlainText<String> {
///         match user.principal() {
///             Some(user) => PlainText(format!("hello, {}", user.name)),
///             None => PlainText("hello, stranger".into()),
///         }
///     }
/// }
/// ```
#[derive(Clone)]
pub struct OptionalApiAuth(
    /// The caller, if a credential came.
    pub Option<ApiAuth>,
);

impl OptionalApiAuth {
    /// The principal, if a credential came.
    pub fn principal(&self) -> Option<&Principal> {
        self.0.as_ref().map(ApiAuth::principal)
    }

    /// The caller, if a credential came.
    pub fn into_inner(self) -> Option<ApiAuth> {
        self.0
    }
}

impl fmt::Debug for OptionalApiAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OptionalApiAuth")
            .field(&self.principal())
            .finish()
    }
}

impl<'a> ApiExtractor<'a> for OptionalApiAuth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        generated::register(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        generated::names()
    }

    fn has_security_fallback() -> bool {
        true
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        Ok(Self(optional_authenticated(req).await?.map(ApiAuth)))
    }
}
