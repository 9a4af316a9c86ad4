//! poem-openapi integration: the [`ApiAuth`] and [`OptionalApiAuth`]
//! security extractors, the security schemes they document, the spec patch
//! for the 401/403 answers, and Swagger UI served offline.
//!
//! # The schemes
//!
//! An operation that takes [`ApiAuth`] lists these schemes in
//! `components.securitySchemes` (names are [`SchemeNames`], defaults shown):
//!
//! | name | scheme | when |
//! |---|---|---|
//! | `bearer` | HTTP bearer, `bearerFormat: JWT` | always: `Authorization: Bearer` is always read, and carries JWTs and API keys alike |
//! | `api_key` | `apiKey` in the configured API-key header | always: the header is always read |
//! | `basic` | HTTP basic | when the pipeline has a handler named `basic` (the built-in [`BasicHandler`](auth_core::BasicHandler)), or when set with [`PoemAuthBuilder::basic`](crate::PoemAuthBuilder::basic) |
//! | `oauth2` | OAuth2 password flow, `tokenUrl` and `refreshUrl` the configured [token URL](crate::PoemAuthBuilder::token_url) | always: it is what Swagger UI's *Authorize* button logs in with |
//!
//! The operation's `security` lists each of them as an alternative of its
//! own (`[{"bearer": []}, {"api_key": []}, ...]`): any one suffices, which is
//! what the pipeline does (the first handler that recognizes the credential
//! answers). [`OptionalApiAuth`] adds the empty alternative `{}`.
//!
//! # The seam: one process-wide scheme table
//!
//! poem-openapi asks an extractor for its schemes through static functions
//! ([`ApiExtractor::register`], [`ApiExtractor::security_schemes`]) and keeps
//! names as `&'static str`, while the names, the API-key header and the token
//! URL are runtime settings of a [`PoemAuth`]. The bridge:
//!
//! - building a [`PoemAuth`] (through [`PoemAuth::new`] or
//!   [`PoemAuthBuilder::build`](crate::PoemAuthBuilder::build)) publishes its scheme table process-wide;
//!   the strings are interned (leaked once per distinct value, so building
//!   many instances does not grow memory without bound);
//! - [`PoemAuth::openapi_spec`] and [`PoemAuth::openapi_endpoints`] generate
//!   the spec with *their own* table, whatever was built since (it is set for
//!   the current thread while poem-openapi builds the document);
//! - a bare `OpenApiService::spec()` reads the published table: **one table
//!   per process, the last built wins**. With two differently configured
//!   [`PoemAuth`]s in one process, generate each spec through its own
//!   [`PoemAuth::openapi_spec`]. Before any is built, the defaults apply.
//!
//! The table is read only when a spec is generated; authentication itself
//! never touches it (the extractors use the [`PoemAuth`] in the request).
//!
//! # What an extractor cannot say
//!
//! An extractor cannot add responses to an operation, and poem-openapi drops
//! an OAuth2 flow's empty `scopes`. [`patch_spec`] adds both; the spec from
//! [`PoemAuth::openapi_spec`] is patched already.
//!
//! Nor can an operation carry an extension field: the
//! `x-required-permissions` of the operations protected with
//! `#[requires]` (see [`requires`](macro@crate::requires)) are added by
//! [`PoemAuth::openapi_spec`] and [`PoemAuth::openapi_endpoints`], which
//! know the API's type, as the crate README explains.
//!
//! ```
//! use auth_core::{ApiKeyHandler, Pipeline};
//! use auth_poem::{ApiAuth, PoemAuth};
//! use poem::{EndpointExt, Route};
//! use poem_openapi::{OpenApi, OpenApiService, payload::PlainText};
//!
//! struct Api;
//!
//! #[OpenApi]
//! impl Api {
//!     /// Who am I?
//!     #[oai(path = "/me", method = "get")]
//!     async fn me(&self, user: ApiAuth) -> PlainText<String> {
//!         PlainText(user.id.clone())
//!     }
//! }
//!
//! let pipeline = Pipeline::builder()
//!     .handler(ApiKeyHandler::builder().http_key("k-123").build())
//!     .build()?;
//! let auth = PoemAuth::from_pipeline(pipeline).token_url("/auth/token").build()?;
//! let service = OpenApiService::new(Api, "Demo", "1.0");
//!
//! let spec: serde_json::Value = serde_json::from_str(&auth.openapi_spec(&service)).expect("JSON");
//! assert_eq!(spec["paths"]["/me"]["get"]["security"][1], serde_json::json!({"api_key": []}));
//! assert!(spec["paths"]["/me"]["get"]["responses"]["401"].is_object());
//!
//! let app = Route::new()
//!     .nest("/", auth.openapi_endpoints(&service)) // GET /openapi.json, GET /docs
//!     .nest("/api", service)
//!     .data(auth);
//! # Ok::<_, auth_core::AuthError>(())
//! ```

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Deref;
use std::sync::{Mutex, PoisonError, RwLock};

use auth_core::{AuthError, AuthResult, Pipeline, Principal, Requirement};
use poem::endpoint::make_sync;
use poem::http::HeaderName;
use poem::web::Html;
use poem::{Request, RequestBody, Response, Route, get};
use poem_openapi::registry::{MetaOAuthFlow, MetaOAuthFlows, MetaSecurityScheme, Registry};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions, OpenApi, OpenApiService, Webhook,
};
use serde_json::{Value, json};

use crate::auth::PoemAuth;
use crate::extractor::{Authenticated, authenticated, optional_authenticated};
use crate::rejection::AuthRejection;
use crate::requires::spec::{self as requires_spec, Protected};

/// The default token URL of the OAuth2 password flow.
pub const DEFAULT_TOKEN_URL: &str = "/auth/token";

/// The description of the 401 answer the spec patch adds.
const UNAUTHORIZED_DESCRIPTION: &str = "Missing or invalid credentials";
/// The description of the 403 answer the spec patch adds.
const FORBIDDEN_DESCRIPTION: &str = "Authenticated but not permitted";

/// The `clientId` Swagger UI's *Authorize* dialog starts with: the password
/// flow makes the field mandatory there.
const DOCS_CLIENT_ID: &str = "swagger-ui";

/// The names under which the schemes appear in `components.securitySchemes`
/// and in each operation's `security`.
///
/// Change them when your API declares poem-openapi schemes of its own under
/// the same names: poem-openapi keeps the first scheme registered under a
/// name and silently drops the others.
///
/// ```
/// use auth_poem::SchemeNames;
///
/// let names = SchemeNames { bearer: "jwt".into(), ..SchemeNames::default() };
/// assert_eq!(names.api_key, "api_key");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemeNames {
    /// HTTP bearer (default `bearer`).
    pub bearer: String,
    /// The API key in its header (default `api_key`).
    pub api_key: String,
    /// HTTP basic (default `basic`), when Basic is documented.
    pub basic: String,
    /// The OAuth2 password flow (default `oauth2`).
    pub oauth2: String,
}

impl Default for SchemeNames {
    fn default() -> Self {
        Self {
            bearer: "bearer".into(),
            api_key: "api_key".into(),
            basic: "basic".into(),
            oauth2: "oauth2".into(),
        }
    }
}

/// The OpenAPI options a [`PoemAuthBuilder`](crate::PoemAuthBuilder) collects.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) names: SchemeNames,
    pub(crate) token_url: String,
    /// `None`: document Basic when the pipeline has a handler named `basic`.
    pub(crate) basic: Option<bool>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            names: SchemeNames::default(),
            token_url: DEFAULT_TOKEN_URL.to_owned(),
            basic: None,
        }
    }
}

impl Options {
    /// Checks the options and interns them into a scheme table.
    pub(crate) fn resolve(
        &self,
        pipeline: &Pipeline,
        api_key_header: &HeaderName,
    ) -> AuthResult<SchemeConfig> {
        let names = &self.names;
        let all = [
            ("bearer", &names.bearer),
            ("API-key", &names.api_key),
            ("basic", &names.basic),
            ("OAuth2", &names.oauth2),
        ];
        for (i, (what, name)) in all.iter().enumerate() {
            if !is_component_name(name) {
                return Err(AuthError::Misconfigured(format!(
                    "the {what} scheme name `{name}` must be non-empty letters, digits, `.`, `-` \
                     or `_` (an OpenAPI component name)"
                )));
            }
            if all[..i].iter().any(|(_, other)| other == name) {
                return Err(AuthError::Misconfigured(format!(
                    "the scheme name `{name}` is used twice: each scheme needs its own"
                )));
            }
        }
        let token_url = self.token_url.trim();
        if token_url.is_empty()
            || token_url
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(AuthError::Misconfigured(format!(
                "the token URL `{}` must be a non-empty URL or path without spaces",
                self.token_url
            )));
        }
        Ok(self.config(pipeline, api_key_header))
    }

    /// The scheme table of options known to be valid.
    pub(crate) fn config(&self, pipeline: &Pipeline, api_key_header: &HeaderName) -> SchemeConfig {
        let basic = self
            .basic
            .unwrap_or_else(|| pipeline.handler_names().any(|name| name == "basic"));
        SchemeConfig {
            bearer: intern(&self.names.bearer),
            api_key: intern(&self.names.api_key),
            basic: basic.then(|| intern(&self.names.basic)),
            oauth2: intern(&self.names.oauth2),
            api_key_header: intern(api_key_header.as_str()),
            token_url: intern(self.token_url.trim()),
        }
    }
}

/// Whether `name` may key an OpenAPI component (`^[a-zA-Z0-9.\-_]+$`).
fn is_component_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// The schemes of one [`PoemAuth`], as poem-openapi needs them: `'static`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SchemeConfig {
    bearer: &'static str,
    api_key: &'static str,
    basic: Option<&'static str>,
    oauth2: &'static str,
    api_key_header: &'static str,
    pub(crate) token_url: &'static str,
}

impl SchemeConfig {
    /// The table used before any [`PoemAuth`] is built.
    const DEFAULT: Self = Self {
        bearer: "bearer",
        api_key: "api_key",
        basic: None,
        oauth2: "oauth2",
        api_key_header: crate::auth::DEFAULT_API_KEY_HEADER,
        token_url: DEFAULT_TOKEN_URL,
    };

    /// The name of the OAuth2 scheme.
    pub(crate) fn oauth2(&self) -> &'static str {
        self.oauth2
    }

    /// The scheme names, each an alternative of its own.
    pub(crate) fn names(&self) -> Vec<&'static str> {
        [
            Some(self.bearer),
            Some(self.api_key),
            self.basic,
            Some(self.oauth2),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// Adds the schemes to `components.securitySchemes`.
    pub(crate) fn register(&self, registry: &mut Registry) {
        registry.create_security_scheme(
            self.bearer,
            MetaSecurityScheme {
                description: Some(
                    "A JWT (from the token endpoint), or an API key, as `Authorization: Bearer \
                     <token>`.",
                ),
                scheme: Some("bearer"),
                bearer_format: Some("JWT"),
                ..scheme("http")
            },
        );
        registry.create_security_scheme(
            self.api_key,
            MetaSecurityScheme {
                description: Some("An API key in its header."),
                name: Some(self.api_key_header),
                key_in: Some("header"),
                ..scheme("apiKey")
            },
        );
        if let Some(basic) = self.basic {
            registry.create_security_scheme(
                basic,
                MetaSecurityScheme {
                    description: Some("A username and password (HTTP Basic)."),
                    scheme: Some("basic"),
                    ..scheme("http")
                },
            );
        }
        registry.create_security_scheme(
            self.oauth2,
            MetaSecurityScheme {
                description: Some(
                    "Log in with a username and password; the token endpoint answers a bearer \
                     token.",
                ),
                flows: Some(MetaOAuthFlows {
                    implicit: None,
                    password: Some(MetaOAuthFlow {
                        authorization_url: None,
                        token_url: Some(self.token_url),
                        refresh_url: Some(self.token_url),
                        scopes: Vec::new(),
                    }),
                    client_credentials: None,
                    authorization_code: None,
                }),
                ..scheme("oauth2")
            },
        );
    }
}

/// A scheme of type `ty` with every optional field empty.
fn scheme(ty: &'static str) -> MetaSecurityScheme {
    MetaSecurityScheme {
        ty,
        description: None,
        name: None,
        key_in: None,
        scheme: None,
        bearer_format: None,
        flows: None,
        openid_connect_url: None,
    }
}

/// The table of the last [`PoemAuth`] built.
static PUBLISHED: RwLock<Option<SchemeConfig>> = RwLock::new(None);

/// Every string interned so far.
static INTERNED: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

thread_local! {
    /// The table [`PoemAuth::openapi_spec`] set for the spec it is generating.
    static SCOPED: Cell<Option<SchemeConfig>> = const { Cell::new(None) };
}

/// A `'static` copy of `s`, leaked only the first time this text is seen.
pub(crate) fn intern(s: &str) -> &'static str {
    // The set is only ever inserted into: a poisoned lock still holds a valid set.
    let mut set = INTERNED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(found) = set.get(s) {
        return found;
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    set.insert(leaked);
    leaked
}

/// Makes `config` the table a bare `OpenApiService::spec()` documents.
pub(crate) fn publish(config: SchemeConfig) {
    *PUBLISHED.write().unwrap_or_else(PoisonError::into_inner) = Some(config);
}

/// The table in force: the one set for this thread, else the published one,
/// else the defaults.
pub(crate) fn current() -> SchemeConfig {
    SCOPED
        .with(Cell::get)
        .or_else(|| *PUBLISHED.read().unwrap_or_else(PoisonError::into_inner))
        .unwrap_or(SchemeConfig::DEFAULT)
}

/// Runs `f` with `config` in force on this thread.
pub(crate) fn scoped<R>(config: SchemeConfig, f: impl FnOnce() -> R) -> R {
    /// Restores the previous table, even if `f` panics.
    struct Restore(Option<SchemeConfig>);
    impl Drop for Restore {
        fn drop(&mut self) {
            SCOPED.with(|cell| cell.set(self.0));
        }
    }
    let _restore = Restore(SCOPED.with(|cell| cell.replace(Some(config))));
    f()
}

/// The authenticated caller of a poem-openapi operation; derefs to its
/// [`Principal`].
///
/// The poem-openapi twin of [`Authenticated`] (poem-openapi treats every
/// poem extractor as a plain one, so a security extractor must be a type of
/// its own). It takes the principal [`AuthLayer`](crate::AuthLayer) stored,
/// or authenticates the request with the [`PoemAuth`] attached through
/// `.data(auth)`; refusals are the same answers (401 with
/// `WWW-Authenticate`, 403, or 500 when neither is there). In the spec, the
/// operation lists every scheme of the [module docs](self) as an alternative.
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

impl ApiAuth {
    /// The principal.
    pub fn principal(&self) -> &Principal {
        self.0.principal()
    }

    /// The principal, owned (cloned only if it is shared).
    pub fn into_principal(self) -> Principal {
        self.0.into_principal()
    }

    /// Checks a requirement: a refusal with the configured 403 answer when
    /// the principal does not meet it.
    pub fn require(&self, requirement: &Requirement) -> Result<(), AuthRejection> {
        self.0.require(requirement)
    }
}

impl Deref for ApiAuth {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        self.0.principal()
    }
}

impl fmt::Debug for ApiAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ApiAuth").field(self.principal()).finish()
    }
}

impl From<ApiAuth> for Authenticated {
    fn from(auth: ApiAuth) -> Self {
        auth.0
    }
}

impl<'a> ApiExtractor<'a> for ApiAuth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        current().register(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        current().names()
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
        current().register(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        current().names()
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

/// The HTTP methods an OpenAPI path item may hold operations under.
pub(crate) const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Adds to a spec what the extractors cannot put there.
///
/// - Every operation whose `security` is non-empty and not only `{}` gets
///   the configured 401 answer ("Missing or invalid credentials", with its
///   `WWW-Authenticate` header) and 403 answer ("Authenticated but not
///   permitted"), each with the configured JSON body as its example. An
///   answer the operation documents already under that status is kept.
/// - Each OAuth2 flow without `scopes` gets an empty map (the field is
///   required; poem-openapi drops it when empty).
/// - In each operation's `security`, an alternative whose scheme is not
///   OAuth2 (or OpenID Connect) gets an empty scope list, as OpenAPI 3.0
///   requires: poem-openapi gives the scopes `#[requires]` declares to every
///   scheme of the argument. An alternative that repeats an earlier one is
///   dropped.
///
/// What needs the API's code rather than its spec, the
/// `x-required-permissions` of each `#[requires]` operation, is added by
/// [`PoemAuth::openapi_spec`] and [`PoemAuth::openapi_endpoints`], which
/// call this function too.
///
/// Operations without `security` are left alone, and so is anything that is
/// not shaped as OpenAPI expects.
///
/// ```
/// # let pipeline = auth_core::Pipeline::builder()
/// #     .handler(auth_core::ApiKeyHandler::builder().http_key("k").build())
/// #     .build()?;
/// let auth = auth_poem::PoemAuth::new(pipeline);
/// let mut spec = serde_json::json!({"paths": {
///     "/me": {"get": {"security": [{"bearer": []}], "responses": {"200": {"description": "ok"}}}},
///     "/health": {"get": {"responses": {"200": {"description": "ok"}}}},
/// }});
/// auth_poem::openapi::patch_spec(&mut spec, &auth);
/// assert_eq!(spec["paths"]["/me"]["get"]["responses"]["401"]["description"], "Missing or invalid credentials");
/// assert!(spec["paths"]["/health"]["get"]["responses"].get("401").is_none());
/// # Ok::<_, auth_core::AuthError>(())
/// ```
pub fn patch_spec(spec: &mut Value, auth: &PoemAuth) {
    let responses = auth.responses();
    let answers = [
        (
            responses.unauthorized_status.as_str().to_owned(),
            error_answer(UNAUTHORIZED_DESCRIPTION, &responses.unauthorized_body, true),
        ),
        (
            responses.forbidden_status.as_str().to_owned(),
            error_answer(FORBIDDEN_DESCRIPTION, &responses.forbidden_body, false),
        ),
    ];
    let scheme_types = scheme_types(spec);
    let operations = spec
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.iter_mut())
        .filter(|(method, _)| METHODS.contains(&method.as_str()))
        .filter_map(|(_, operation)| operation.as_object_mut());
    for operation in operations {
        if let Some(security) = operation.get_mut("security").and_then(Value::as_array_mut) {
            tidy_security(security, &scheme_types);
        }
        if !is_protected(operation.get("security")) {
            continue;
        }
        let Some(documented) = operation
            .entry("responses")
            .or_insert_with(|| json!({}))
            .as_object_mut()
        else {
            continue;
        };
        for (status, answer) in &answers {
            documented
                .entry(status.as_str())
                .or_insert_with(|| answer.clone());
        }
    }

    let flows = spec
        .pointer_mut("/components/securitySchemes")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|schemes| schemes.values_mut())
        .filter(|scheme| scheme.get("type").and_then(Value::as_str) == Some("oauth2"))
        .filter_map(|scheme| scheme.get_mut("flows").and_then(Value::as_object_mut))
        .flat_map(|flows| flows.values_mut())
        .filter_map(Value::as_object_mut);
    for flow in flows {
        flow.entry("scopes").or_insert_with(|| json!({}));
    }
}

/// The type of each scheme of `components.securitySchemes`, by name.
fn scheme_types(spec: &Value) -> BTreeMap<String, String> {
    spec.pointer("/components/securitySchemes")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(name, scheme)| {
            let ty = scheme.get("type")?.as_str()?;
            Some((name.clone(), ty.to_owned()))
        })
        .collect()
}

/// Empties the scope lists of alternatives whose scheme takes no scopes
/// (OpenAPI 3.0 allows scopes for `oauth2` and `openIdConnect` only;
/// poem-openapi copies an operation's scopes to every scheme), then drops
/// alternatives that repeat an earlier one.
fn tidy_security(security: &mut Vec<Value>, scheme_types: &BTreeMap<String, String>) {
    for alternative in security.iter_mut().filter_map(Value::as_object_mut) {
        for (name, scopes) in alternative.iter_mut() {
            let takes_scopes = scheme_types
                .get(name)
                .is_none_or(|ty| ty == "oauth2" || ty == "openIdConnect");
            if !takes_scopes {
                *scopes = json!([]);
            }
        }
    }
    let mut seen = Vec::with_capacity(security.len());
    security.retain(|alternative| {
        if seen.contains(alternative) {
            false
        } else {
            seen.push(alternative.clone());
            true
        }
    });
}

/// Whether a `security` value asks for a credential: some alternative is
/// not the empty `{}`.
fn is_protected(security: Option<&Value>) -> bool {
    security
        .and_then(Value::as_array)
        .is_some_and(|alternatives| {
            alternatives
                .iter()
                .any(|alt| alt.as_object().is_none_or(|alt| !alt.is_empty()))
        })
}

/// An OpenAPI response object for a refusal with `body`.
fn error_answer(description: &str, body: &str, challenge: bool) -> Value {
    let example = serde_json::from_str::<Value>(body).unwrap_or_else(|_| Value::from(body));
    let mut answer = json!({
        "description": description,
        "content": {
            "application/json": {
                "schema": {"type": json_type(&example)},
                "example": example,
            }
        }
    });
    if challenge {
        answer["headers"] = json!({
            "WWW-Authenticate": {
                "description": "`Bearer` when no credential came; \
                    `Bearer error=\"invalid_token\"` when one came and was refused.",
                "required": true,
                "schema": {"type": "string"}
            }
        });
    }
    answer
}

/// The JSON Schema type of a value.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl PoemAuth {
    /// Adds the token routes ([`PoemAuth::routes`]) to `spec` when a token
    /// service is configured: their paths, each with a path-level `servers`
    /// entry naming where they are mounted (the token URL less `/token`), so
    /// they resolve there whatever the document's own server is, and their
    /// schemas. A path the service already has is left as it is.
    fn add_token_routes(&self, spec: &mut Value) {
        if self.token_service().is_none() {
            return;
        }
        let config = self.scheme_config();
        let Some(prefix) = config.token_url.strip_suffix("/token") else {
            tracing::warn!(
                token_url = config.token_url,
                "the token URL does not end in /token; token routes left out of the spec"
            );
            return;
        };
        let prefix = if prefix.is_empty() { "/" } else { prefix };
        let raw = scoped(config, || {
            OpenApiService::new(self.token_api(), "auth", "").spec()
        });
        let Ok(tokens) = serde_json::from_str::<Value>(&raw) else {
            return;
        };
        merge_routes(spec, &tokens, prefix, "token");
    }

    /// The OpenAPI document of `service` as JSON, with this auth's schemes
    /// and [patched](patch_spec), and with what each `#[requires]`
    /// operation requires: its `x-required-permissions` and its
    /// `Requires:` line with the run-time names of its pairs.
    ///
    /// The schemes are this instance's, whichever [`PoemAuth`] was built
    /// last (see the [module docs](self)).
    pub fn openapi_spec<T: OpenApi, W: Webhook>(&self, service: &OpenApiService<T, W>) -> String {
        let raw = scoped(self.scheme_config(), || service.spec());
        match self.patched(&raw, &requires_spec::collect::<T>()) {
            Some(spec) => serde_json::to_string_pretty(&spec).unwrap_or(raw),
            None => raw,
        }
    }

    /// Serves the spec of `service` as [`openapi_spec`](Self::openapi_spec)
    /// writes it at `GET /openapi.json`, and Swagger UI for it at `GET /docs`.
    ///
    /// Swagger UI is poem-openapi's embedded bundle: nothing is fetched from
    /// a CDN, and the spec is embedded in the page, so the route works
    /// offline and wherever it is nested. Its *Authorize* dialog logs in
    /// through the OAuth2 password flow against the token URL (client id
    /// `swagger-ui` filled in) and keeps the token in the page only, not in
    /// local storage.
    ///
    /// ```
    /// # use poem_openapi::{OpenApi, OpenApiService, payload::PlainText};
    /// # struct Api;
    /// # #[OpenApi]
    /// # impl Api {
    /// #     #[oai(path = "/me", method = "get")]
    /// #     async fn me(&self, user: auth_poem::ApiAuth) -> PlainText<String> { PlainText(user.id.clone()) }
    /// # }
    /// # let pipeline = auth_core::Pipeline::builder()
    /// #     .handler(auth_core::ApiKeyHandler::builder().http_key("k").build())
    /// #     .build()?;
    /// let auth = auth_poem::PoemAuth::new(pipeline);
    /// let service = OpenApiService::new(Api, "Demo", "1.0");
    /// let app = poem::Route::new()
    ///     .nest("/", auth.openapi_endpoints(&service))
    ///     .nest("/api", service);
    /// # Ok::<_, auth_core::AuthError>(())
    /// ```
    pub fn openapi_endpoints<T: OpenApi, W: Webhook>(
        &self,
        service: &OpenApiService<T, W>,
    ) -> Route {
        let config = self.scheme_config();
        let raw = scoped(config, || service.spec());
        let spec = self.patched(&raw, &requires_spec::collect::<T>());
        let json = spec
            .as_ref()
            .and_then(|spec| serde_json::to_string_pretty(spec).ok())
            .unwrap_or_else(|| raw.clone());
        let stock = scoped(config, || service.swagger_ui_html());
        let html = match (spec, swagger_assets(&stock)) {
            (Some(spec), Some(assets)) => docs_html(&spec, assets),
            _ => {
                tracing::warn!(
                    "cannot reuse poem-openapi's Swagger UI bundle; serving its own page, \
                     without the 401/403 answers and the login defaults"
                );
                stock
            }
        };
        Route::new()
            .at(
                "/openapi.json",
                get(make_sync(move |_| {
                    Response::builder()
                        .content_type("application/json")
                        .body(json.clone())
                })),
            )
            .at("/docs", get(make_sync(move |_| Html(html.clone()))))
    }

    /// `service` served with its documentation, carrying this auth (no
    /// `.data(auth)` needed): its operations at their own paths, the spec
    /// at `GET /openapi.json` and Swagger UI at `GET /docs`, as
    /// [`openapi_endpoints`](Self::openapi_endpoints) serves them. Nest it
    /// where the service's paths start: `Route::new().nest("/", auth.api_routes(service))`.
    pub fn api_routes<T, W>(&self, service: OpenApiService<T, W>) -> Route
    where
        T: OpenApi + 'static,
        W: Webhook + 'static,
    {
        use poem::{EndpointExt as _, IntoEndpoint as _};
        self.openapi_endpoints(&service)
            .nest("/", service.into_endpoint().data(self.clone()))
    }

    /// The spec text `raw`, parsed and patched, with the token routes and
    /// what the `protected` operations require added.
    fn patched(&self, raw: &str, protected: &Protected) -> Option<Value> {
        match serde_json::from_str::<Value>(raw) {
            Ok(mut spec) => {
                self.add_token_routes(&mut spec);
                self.add_user_routes(&mut spec);
                requires_spec::apply(&mut spec, protected);
                patch_spec(&mut spec, self);
                Some(spec)
            }
            Err(error) => {
                tracing::error!(%error, "poem-openapi produced a spec that does not parse; serving it unpatched");
                None
            }
        }
    }
}

/// Swagger UI's stylesheet and script, as poem-openapi embeds them.
#[derive(Debug, Clone, Copy)]
struct Assets<'a> {
    css: &'a str,
    js: &'a str,
}

/// Finds the bundle in poem-openapi's Swagger UI page: the text of its
/// first `<style charset="UTF-8">` and `<script charset="UTF-8">` elements.
/// A browser ends a script at the first `</script>`, so that is its end here too.
fn swagger_assets(html: &str) -> Option<Assets<'_>> {
    fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
        let start = text.find(open)? + open.len();
        let len = text[start..].find(close)?;
        Some(&text[start..start + len])
    }
    let css = between(html, r#"<style charset="UTF-8">"#, "</style>")?;
    let js = between(html, r#"<script charset="UTF-8">"#, "</script>")?;
    js.contains("SwaggerUIBundle").then_some(Assets { css, js })
}

/// The Swagger UI page for `spec`.
fn docs_html(spec: &Value, assets: Assets<'_>) -> String {
    let title = spec
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or("API");
    // `<` escaped, the spec cannot close the script element it sits in.
    let spec = spec.to_string().replace('<', r"\u003c");
    let mut html = String::with_capacity(assets.css.len() + assets.js.len() + spec.len() + 1024);
    html.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
    );
    html.push_str(&escape_html(title));
    html.push_str("</title>\n<style>");
    html.push_str(assets.css);
    html.push_str("</style>\n</head>\n<body>\n<div id=\"swagger-ui\"></div>\n<script>");
    html.push_str(assets.js);
    html.push_str(
        "</script>\n<script>\nwindow.ui = SwaggerUIBundle({\n  dom_id: \"#swagger-ui\",\n  spec: ",
    );
    html.push_str(&spec);
    html.push_str(
        ",\n  deepLinking: true,\n  persistAuthorization: false,\n  validatorUrl: null,\n});\n\
         window.ui.initOAuth({ clientId: \"",
    );
    html.push_str(DOCS_CLIENT_ID);
    html.push_str("\" });\n</script>\n</body>\n</html>\n");
    html
}

/// `text` safe inside an HTML element or attribute.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Adds `theirs`' paths (each with a `servers` entry naming `prefix`),
/// schemas and tags to `spec`; what `spec` has already is kept, and a path
/// it has already is logged as the `kind` route left out.
pub(crate) fn merge_routes(spec: &mut Value, theirs: &Value, prefix: &str, kind: &str) {
    let Some(root) = spec.as_object_mut() else {
        return;
    };
    if let (Some(paths), Some(new)) = (
        root.entry("paths")
            .or_insert_with(|| json!({}))
            .as_object_mut(),
        theirs.get("paths").and_then(Value::as_object),
    ) {
        for (path, item) in new {
            if paths.contains_key(path) {
                tracing::warn!(%path, kind, "the API already has this path; the route mounted here is left out of the spec");
                continue;
            }
            let mut item = item.clone();
            if let Some(item) = item.as_object_mut() {
                item.insert("servers".into(), json!([{"url": prefix}]));
            }
            paths.insert(path.clone(), item);
        }
    }
    if let (Some(schemas), Some(new)) = (
        root.entry("components")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(|c| c.entry("schemas").or_insert_with(|| json!({})))
            .and_then(Value::as_object_mut),
        theirs
            .pointer("/components/schemas")
            .and_then(Value::as_object),
    ) {
        for (name, schema) in new {
            schemas
                .entry(name.clone())
                .or_insert_with(|| schema.clone());
        }
    }
    if let (Some(tags), Some(new)) = (
        root.entry("tags")
            .or_insert_with(|| json!([]))
            .as_array_mut(),
        theirs.get("tags").and_then(Value::as_array),
    ) {
        for tag in new {
            if !tags.iter().any(|t| t.get("name") == tag.get("name")) {
                tags.push(tag.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use auth_core::password::PasswordHasher;
    use auth_core::{ApiKeyHandler, BasicHandler, MemoryUserStore};
    use poem::http::StatusCode;
    use poem::test::TestClient;
    use poem::{EndpointExt, Route};
    use poem_openapi::payload::PlainText;

    use super::*;

    struct Api;

    #[OpenApi]
    impl Api {
        /// Protected.
        #[oai(path = "/me", method = "get")]
        async fn me(&self, user: ApiAuth) -> PlainText<String> {
            PlainText(user.id.clone())
        }

        /// Optional.
        #[oai(path = "/feed", method = "get")]
        async fn feed(&self, user: OptionalApiAuth) -> PlainText<String> {
            PlainText(
                user.principal()
                    .map_or("anonymous".into(), |p| p.id.clone()),
            )
        }

        /// Public.
        #[oai(path = "/health", method = "get")]
        async fn health(&self) -> PlainText<&'static str> {
            PlainText("ok")
        }
    }

    fn service() -> OpenApiService<Api, ()> {
        OpenApiService::new(Api, "Test </script><script>alert(1)</script>", "1.0")
    }

    fn pipeline() -> Pipeline {
        Pipeline::builder()
            .handler(ApiKeyHandler::builder().http_key("k-1").build())
            .build()
            .expect("pipeline")
    }

    fn pipeline_with_basic() -> Pipeline {
        let store = MemoryUserStore::new(PasswordHasher::fast_insecure_for_tests());
        Pipeline::builder()
            .handler(ApiKeyHandler::builder().http_key("k-1").build())
            .handler(BasicHandler::new(std::sync::Arc::new(store)))
            .build()
            .expect("pipeline")
    }

    fn spec_of(auth: &PoemAuth) -> Value {
        serde_json::from_str(&auth.openapi_spec(&service())).expect("spec is JSON")
    }

    fn scheme_names(spec: &Value) -> Vec<String> {
        spec["components"]["securitySchemes"]
            .as_object()
            .expect("schemes")
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn interned_text_is_leaked_once_per_distinct_value() {
        let first = intern("x-interned-once");
        let again = intern(&String::from("x-interned-once"));
        assert!(std::ptr::eq(first, again));
        assert!(!std::ptr::eq(first, intern("x-interned-other")));
    }

    #[test]
    fn builder_refuses_bad_scheme_names_and_blank_token_url() {
        let named = |names: SchemeNames| PoemAuth::from_pipeline(pipeline()).scheme_names(names);
        for bad in [
            named(SchemeNames {
                bearer: String::new(),
                ..SchemeNames::default()
            }),
            named(SchemeNames {
                api_key: "api key".into(),
                ..SchemeNames::default()
            }),
            named(SchemeNames {
                oauth2: "bearer".into(),
                ..SchemeNames::default()
            }),
            PoemAuth::from_pipeline(pipeline()).token_url("  "),
            PoemAuth::from_pipeline(pipeline()).token_url("/auth/to ken"),
        ] {
            assert!(matches!(bad.build(), Err(AuthError::Misconfigured(_))));
        }
    }

    #[test]
    fn default_spec_has_bearer_api_key_and_oauth2_at_the_default_token_url() {
        let spec = spec_of(&PoemAuth::new(pipeline()));
        let schemes = &spec["components"]["securitySchemes"];
        assert_eq!(
            schemes["bearer"],
            json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                   "description": schemes["bearer"]["description"]})
        );
        assert_eq!(schemes["api_key"]["type"], "apiKey");
        assert_eq!(schemes["api_key"]["in"], "header");
        assert_eq!(schemes["api_key"]["name"], "x-api-key");
        assert_eq!(
            schemes["oauth2"]["flows"],
            json!({"password": {"tokenUrl": "/auth/token", "refreshUrl": "/auth/token", "scopes": {}}})
        );
        assert_eq!(scheme_names(&spec), ["api_key", "bearer", "oauth2"]);
    }

    #[test]
    fn basic_is_documented_when_the_pipeline_has_a_basic_handler_or_when_told() {
        let with_handler = spec_of(&PoemAuth::new(pipeline_with_basic()));
        assert_eq!(
            with_handler["components"]["securitySchemes"]["basic"]["scheme"],
            "basic"
        );
        assert!(
            with_handler["paths"]["/me"]["get"]["security"]
                .as_array()
                .expect("security")
                .contains(&json!({"basic": []}))
        );

        let turned_off = PoemAuth::from_pipeline(pipeline_with_basic())
            .basic(false)
            .build()
            .expect("valid");
        assert!(!scheme_names(&spec_of(&turned_off)).contains(&"basic".to_owned()));

        let turned_on = PoemAuth::from_pipeline(pipeline())
            .basic(true)
            .build()
            .expect("valid");
        assert!(scheme_names(&spec_of(&turned_on)).contains(&"basic".to_owned()));
    }

    #[test]
    fn each_auth_documents_its_own_schemes_whatever_was_built_since() {
        let first = PoemAuth::from_pipeline(pipeline())
            .api_key_header("x-first-key")
            .token_url("/first/token")
            .scheme_names(SchemeNames {
                api_key: "first_key".into(),
                ..SchemeNames::default()
            })
            .build()
            .expect("valid");
        let _later = PoemAuth::from_pipeline(pipeline())
            .api_key_header("x-later-key")
            .build()
            .expect("valid");
        let spec = spec_of(&first);
        let schemes = &spec["components"]["securitySchemes"];
        assert_eq!(schemes["first_key"]["name"], "x-first-key");
        assert_eq!(
            schemes["oauth2"]["flows"]["password"]["tokenUrl"],
            "/first/token"
        );
        assert_eq!(
            spec["paths"]["/me"]["get"]["security"],
            json!([{"bearer": []}, {"first_key": []}, {"oauth2": []}])
        );
        // The table was set for that spec only.
        assert_eq!(SCOPED.with(Cell::get), None);
    }

    #[test]
    fn patch_adds_refusals_to_protected_operations_and_leaves_the_rest() {
        let auth = PoemAuth::from_pipeline(pipeline())
            .unauthorized_status(StatusCode::from_u16(419).expect("status"))
            .unauthorized_body(json!({"error": "who?"}))
            .forbidden_body(json!("no"))
            .build()
            .expect("valid");
        let mine = json!({"description": "mine"});
        let mut spec = json!({
            "paths": {
                "/a": {
                    "get": {"security": [{"bearer": []}], "responses": {"200": {"description": "ok"}}},
                    "post": {"security": [{}], "responses": {}},
                    "put": {"security": [], "responses": {}},
                    "delete": {"security": [{"bearer": []}, {}], "responses": {"403": mine.clone()}},
                    "parameters": [],
                },
                "/b": {"get": {"responses": {}}},
            },
            "components": {"securitySchemes": {
                "o": {"type": "oauth2", "flows": {"password": {"tokenUrl": "/t"}}},
                "p": {"type": "oauth2", "flows": {"password": {"tokenUrl": "/t", "scopes": {"x": "y"}}}},
            }},
        });
        patch_spec(&mut spec, &auth);

        let get = &spec["paths"]["/a"]["get"]["responses"];
        assert_eq!(get["419"]["description"], UNAUTHORIZED_DESCRIPTION);
        assert_eq!(
            get["419"]["content"]["application/json"]["example"],
            json!({"error": "who?"})
        );
        assert!(get["419"]["headers"]["WWW-Authenticate"].is_object());
        assert_eq!(get["403"]["description"], FORBIDDEN_DESCRIPTION);
        assert_eq!(
            get["403"]["content"]["application/json"]["schema"]["type"],
            "string"
        );
        assert!(get["403"].get("headers").is_none());
        assert!(get.get("401").is_none());

        let delete = &spec["paths"]["/a"]["delete"]["responses"];
        assert_eq!(delete["403"], mine, "a documented answer is kept");
        assert!(delete["419"].is_object());
        for (path, method) in [("/a", "post"), ("/a", "put"), ("/b", "get")] {
            assert_eq!(
                spec["paths"][path][method]["responses"],
                json!({}),
                "{method} {path}"
            );
        }
        assert_eq!(spec["paths"]["/a"]["parameters"], json!([]));
        let schemes = &spec["components"]["securitySchemes"];
        assert_eq!(schemes["o"]["flows"]["password"]["scopes"], json!({}));
        assert_eq!(
            schemes["p"]["flows"]["password"]["scopes"],
            json!({"x": "y"})
        );
    }

    #[test]
    fn patch_empties_scopes_of_schemes_that_take_none_and_drops_repeats() {
        let auth = PoemAuth::new(pipeline());
        let mut spec = json!({
            "paths": {"/a": {"get": {
                "security": [
                    {"bearer": ["a:read"]}, {"o": ["a:read"]}, {"oidc": ["openid"]},
                    {"unknown": ["x"]}, {"bearer": []}, {"o": ["a:read"]},
                ],
                "responses": {},
            }}},
            "components": {"securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "o": {"type": "oauth2", "flows": {}},
                "oidc": {"type": "openIdConnect", "openIdConnectUrl": "https://id.example"},
            }},
        });
        patch_spec(&mut spec, &auth);
        assert_eq!(
            spec["paths"]["/a"]["get"]["security"],
            json!([{"bearer": []}, {"o": ["a:read"]}, {"oidc": ["openid"]}, {"unknown": ["x"]}])
        );
    }

    #[test]
    fn swagger_bundle_is_found_in_poem_openapi_page() {
        let stock = service().swagger_ui_html();
        let assets = swagger_assets(&stock).expect("bundle found");
        assert!(assets.js.len() > 100_000 && assets.js.contains("SwaggerUIBundle"));
        assert!(assets.css.contains(".swagger-ui"));
    }

    #[tokio::test]
    async fn docs_page_works_offline_and_cannot_be_broken_out_of_by_the_spec() {
        let auth = PoemAuth::new(pipeline());
        let cli = TestClient::new(auth.openapi_endpoints(&service()));
        let resp = cli.get("/docs").send().await;
        resp.assert_status_is_ok();
        let html = resp.0.into_body().into_string().await.expect("html");
        assert!(!html.contains("<script src") && !html.contains("<link"));
        assert!(html.contains("initOAuth({ clientId: \"swagger-ui\" })"));
        assert!(html.contains("validatorUrl: null"));
        assert!(html.contains(r#""tokenUrl":"/auth/token""#));
        assert!(html.contains(r#""401":"#), "the patched spec is embedded");
        assert!(!html.contains("<script>alert(1)"));
        assert!(html.contains("<title>Test &lt;/script&gt;"));

        let resp = cli.get("/openapi.json").send().await;
        resp.assert_status_is_ok();
        resp.assert_content_type("application/json");
    }

    #[tokio::test]
    async fn optional_extractor_without_auth_fails_closed_with_500() {
        let cli = TestClient::new(Route::new().nest("/", service()));
        cli.get("/feed")
            .send()
            .await
            .assert_status(StatusCode::INTERNAL_SERVER_ERROR);
        cli.get("/me")
            .send()
            .await
            .assert_status(StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[tokio::test]
    async fn extractors_take_the_principal_the_layer_stored() {
        let auth = PoemAuth::new(pipeline());
        let cli = TestClient::new(Route::new().nest("/", service()).with(auth.layer()));
        for path in ["/me", "/feed"] {
            let resp = cli
                .get(path)
                .header("x-api-key", "k-1")
                .header("user_id", "carol")
                .send()
                .await;
            resp.assert_status_is_ok();
            resp.assert_text("carol").await;
        }
    }
}
