//! User management over HTTP, on the configured identity provider
//! ([`PoemAuthBuilder::provider`](crate::PoemAuthBuilder::provider)).
//!
//! | route | needs | does |
//! |---|---|---|
//! | `POST /users` | `USERS:WRITE` | create (201; a taken username is 409) |
//! | `GET /users` | `USERS:LIST` | list: `offset`, `limit`, `role`, `username` (contains), `enabled` |
//! | `GET /users/{id}` | `USERS:READ` | one user |
//! | `PUT /users/{id}` | `USERS:EDIT` | change a user |
//! | `DELETE /users/{id}` | `USERS:DELETE` | delete (204) |
//! | `POST /users/{id}/enable` | `USERS:EDIT` | allow logins again (204) |
//! | `POST /users/{id}/disable` | `USERS:EDIT` | stop logins, end sessions (204) |
//! | `POST /users/{id}/roles` | `USERS:EDIT` | add the roles in the body (a JSON list) |
//! | `DELETE /users/{id}/roles` | `USERS:EDIT` | remove the roles in the body |
//! | `PATCH /users/me` | a credential | change yourself (password, profile) |
//! | `POST /register` | nothing | register yourself, when the provider allows it |
//! | `POST /login` | nothing | log in with the provider's login package; answers tokens |
//!
//! Bodies are the provider's packages, read as JSON and checked by the
//! provider: a body that does not fit answers 400 naming the field. The
//! OpenAPI document shows each package's schema. Failures answer
//! `{"error": "<code>", "detail": "<what>"}` with the status of the
//! [`ManageError`]: 400 `invalid_input`, 404 `not_found`, 409 `conflict`,
//! 501 `not_implemented` (a capability the provider lacks, or no provider
//! configured), 503 `unavailable`, 500 `internal_error` (its cause is
//! logged, not sent). Passwords are never in an answer nor in a log line.
//!
//! A caller hands out only the power they hold (the rule of
//! [`auth_core::grant`]): every route that creates a user, changes one,
//! enables, disables or deletes one, or adds or takes away roles answers 403
//! `forbidden`, changing nothing, when the body grants a role or a
//! permission the caller could not grant, when the user acted on holds
//! more than the caller could grant, or when the caller changes their own
//! roles or permissions.

use std::collections::BTreeSet;
use std::sync::Arc;

use auth_core::grant::Grant;
use auth_core::provider::ClientData;
use auth_core::provider::dynamic::{DynProvider, PackageKind};
use auth_core::store::{ManageError, Page, UserFilter};
use auth_core::tokens::{LoginError, TokenPair};
use auth_core::{
    AuthError, AuthMethod, AuthPermission as P, AuthResource as R, PermissionSet, Principal,
};
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, OpenApiService};
use serde_json::{Value, json};

use crate::auth::PoemAuth;
use crate::openapi::ApiAuth;
use crate::requires;
use crate::routes::TokenResponse;

/// The body of a failed management request.
#[derive(Debug, Clone, Object)]
pub struct ManageErrorBody {
    /// A stable code: `invalid_input`, `not_found`, `conflict`,
    /// `not_implemented`, `unavailable`, `internal_error`, `forbidden`,
    /// `unauthenticated`.
    pub error: String,
    /// What happened, for a person.
    pub detail: String,
}

/// A failed management request.
#[derive(Debug, ApiResponse)]
pub enum UserFailure {
    /// The body or a parameter is invalid; `detail` names the field.
    #[oai(status = 400)]
    BadRequest(Json<ManageErrorBody>),
    /// The provider refused the caller's credentials.
    #[oai(status = 401)]
    Unauthorized(Json<ManageErrorBody>),
    /// The caller may not do this (e.g. grant permissions they lack).
    #[oai(status = 403)]
    Forbidden(Json<ManageErrorBody>),
    /// No such user.
    #[oai(status = 404)]
    NotFound(Json<ManageErrorBody>),
    /// The username is taken.
    #[oai(status = 409)]
    Conflict(Json<ManageErrorBody>),
    /// The server is misconfigured; the cause is logged.
    #[oai(status = 500)]
    Internal(Json<ManageErrorBody>),
    /// Too many failed password checks; retry after `Retry-After` seconds.
    #[oai(status = 429)]
    TooManyRequests(Json<ManageErrorBody>, #[oai(header = "Retry-After")] i64),
    /// The provider does not offer this, or no provider is configured.
    #[oai(status = 501)]
    NotImplemented(Json<ManageErrorBody>),
    /// The provider or its store cannot be reached; nothing was changed.
    #[oai(status = 503)]
    Unavailable(Json<ManageErrorBody>),
}

fn body(error: &str, detail: impl Into<String>) -> Json<ManageErrorBody> {
    Json(ManageErrorBody {
        error: error.to_owned(),
        detail: detail.into(),
    })
}

impl From<ManageError> for UserFailure {
    fn from(e: ManageError) -> Self {
        let detail = e.to_string();
        match e {
            ManageError::Unauthenticated => Self::Unauthorized(body("unauthenticated", detail)),
            ManageError::Forbidden | ManageError::Refused(_) => {
                Self::Forbidden(body("forbidden", detail))
            }
            ManageError::NotFound(_) => Self::NotFound(body("not_found", detail)),
            ManageError::Conflict(_) => Self::Conflict(body("conflict", detail)),
            ManageError::Invalid(_) => Self::BadRequest(body("invalid_input", detail)),
            ManageError::Unsupported(_) => Self::NotImplemented(body("not_implemented", detail)),
            ManageError::Unavailable(cause) => {
                tracing::warn!(%cause, "identity provider unavailable; answering 503");
                Self::Unavailable(body(
                    "unavailable",
                    "the identity provider cannot be reached; nothing was changed",
                ))
            }
            ManageError::Misconfigured(cause) => {
                tracing::error!(%cause, "identity provider misconfigured; answering 500");
                Self::Internal(body("internal_error", "see the server log"))
            }
            ManageError::Throttled { retry_after } => {
                Self::TooManyRequests(body("slow_down", detail), retry_after.max(1))
            }
        }
    }
}

/// A successful management answer.
#[derive(Debug, ApiResponse)]
pub enum UserAnswer {
    /// The user (or users) as the provider shows them.
    #[oai(status = 200)]
    Ok(Json<Value>),
    /// The user was created.
    #[oai(status = 201)]
    Created(Json<Value>),
    /// Done.
    #[oai(status = 204)]
    Done,
}

type Answer = Result<UserAnswer, UserFailure>;

/// The user-management routes, as a poem-openapi API: see the
/// [module docs](self).
pub struct UsersApi {
    auth: PoemAuth,
}

impl UsersApi {
    pub(crate) fn new(auth: PoemAuth) -> Self {
        Self { auth }
    }

    /// Refuses what `caller` may not hand out to the user `target` (by id;
    /// `None`: a user being created), by the one rule of
    /// [`auth_core::grant`], with the pipeline's roles.
    async fn check_grant(
        &self,
        caller: &Principal,
        target: Option<&str>,
        grant: Grant<'_>,
    ) -> Result<(), UserFailure> {
        let target = match target {
            Some(id) => Some(self.provider()?.get_client(id).await?.principal()),
            None => None,
        };
        self.auth
            .pipeline()
            .roles()
            .check_grant(caller, target.as_ref(), &grant)
            .map_err(|refusal| ManageError::from(refusal).into())
    }

    fn provider(&self) -> Result<&Arc<dyn DynProvider>, UserFailure> {
        self.auth.provider().ok_or_else(|| {
            UserFailure::NotImplemented(body(
                "not_implemented",
                "no identity provider is configured: add one with PoemAuthBuilder::provider",
            ))
        })
    }
}

/// The power a create or update package hands out: its `roles` and
/// `permissions` fields, when present and not `null`. A field that does not
/// read as a list of role names or as a permission set is 400, naming it:
/// what is granted is never left to guess.
#[derive(Default)]
struct Requested {
    roles: Option<BTreeSet<String>>,
    permissions: Option<PermissionSet>,
}

impl Requested {
    fn of(package: &Value) -> Result<Self, UserFailure> {
        fn field<T: serde::de::DeserializeOwned>(
            package: &Value,
            name: &str,
            what: &str,
        ) -> Result<Option<T>, UserFailure> {
            match package.get(name).filter(|v| !v.is_null()) {
                None => Ok(None),
                Some(v) => serde_json::from_value(v.clone()).map(Some).map_err(|_| {
                    UserFailure::BadRequest(body("invalid_input", format!("{name}: {what}")))
                }),
            }
        }
        Ok(Self {
            roles: field(package, "roles", "expected a list of role names")?,
            permissions: field(
                package,
                "permissions",
                "expected {\"RESOURCE\": [\"PERMISSION\", ...]}",
            )?,
        })
    }

    fn grant(&self) -> Grant<'_> {
        Grant {
            roles: self.roles.as_ref(),
            permissions: self.permissions.as_ref(),
        }
    }
}

fn client_json(client: &ClientData) -> Value {
    serde_json::to_value(client).unwrap_or_default()
}

fn roles_of(roles: Vec<String>) -> Result<BTreeSet<String>, UserFailure> {
    if roles.iter().any(|r| r.trim().is_empty()) {
        return Err(UserFailure::BadRequest(body(
            "invalid_input",
            "roles: a role name is empty",
        )));
    }
    Ok(roles.into_iter().collect())
}

#[crate::api]
#[OpenApi(prefix_path = "/", tag = "UsersTag::Users")]
impl UsersApi {
    /// Create a user from the provider's create package.
    #[requires(R::Users, P::Write)]
    #[oai(path = "/users", method = "post")]
    async fn create_user(&self, caller: ApiAuth, package: Json<Value>) -> Answer {
        let requested = Requested::of(&package.0)?;
        self.check_grant(caller.principal(), None, requested.grant())
            .await?;
        let client = self.provider()?.create_client(package.0).await?;
        Ok(UserAnswer::Created(Json(client_json(&client))))
    }

    /// List users, by username, a page at a time: `offset` (default 0),
    /// `limit` (default 50, at most 500), and the filters `role` (holding
    /// it), `username` (containing it) and `enabled`.
    #[requires(R::Users, P::List)]
    #[oai(path = "/users", method = "get")]
    async fn list_users(
        &self,
        offset: Query<Option<u64>>,
        limit: Query<Option<u32>>,
        role: Query<Option<String>>,
        username: Query<Option<String>>,
        enabled: Query<Option<bool>>,
    ) -> Answer {
        let page = Page {
            offset: offset.0.unwrap_or(0),
            limit: limit.0.unwrap_or(Page::default().limit),
        };
        let filter = UserFilter {
            username_contains: username.0,
            role: role.0,
            enabled: enabled.0,
        };
        let users = self.provider()?.search_clients(&filter, page).await?;
        Ok(UserAnswer::Ok(Json(json!({
            "users": users.iter().map(client_json).collect::<Vec<_>>(),
            "offset": page.offset,
            "limit": page.capped_limit(),
        }))))
    }

    /// Change yourself (the provider's self-update package: for the
    /// built-in provider, a new password with the current one, or profile
    /// data). A new password ends every session, this one included.
    ///
    /// Only a user's own credential (a token or Basic) acts for them: an
    /// API key or an open service names no user and is refused (403). A
    /// body with `current_password` is a password check like a login: the
    /// same throttle and budgets; only a new password set with it counts as
    /// a correct one.
    #[requires(authenticated)]
    #[oai(path = "/users/me", method = "patch")]
    async fn update_me(&self, req: &Request, caller: ApiAuth, package: Json<Value>) -> Answer {
        let provider = self.provider()?;
        let me = caller.principal();
        if !matches!(me.method, AuthMethod::Jwt | AuthMethod::Basic) {
            return Err(UserFailure::Forbidden(body(
                "forbidden",
                "this credential acts for no user: log in as the user to change them",
            )));
        }
        let present = |field: &str| package.0.get(field).is_some_and(|v| !v.is_null());
        let (checks_password, sets_password) = (present("current_password"), present("password"));
        let throttle = self.auth.token_service().map(|t| (t.throttle(), t.now()));
        let (Some((throttle, now)), true) = (throttle, checks_password) else {
            let client = provider.client_self_update(&me.id, package.0).await?;
            return Ok(UserAnswer::Ok(Json(client_json(&client))));
        };
        let mut outcome = None;
        let guarded = throttle
            .guard(&me.name, &self.auth.client_label(req), now, async {
                let result = provider.client_self_update(&me.id, package.0).await;
                let verdict = match &result {
                    // The provider said the password was wrong.
                    Err(ManageError::Invalid(d)) if d.starts_with("current_password") => Ok(false),
                    // It took the new password: the current one was right.
                    Ok(_) if sets_password => Ok(true),
                    // Anything else says nothing of the password: neither
                    // counted nor forgiven.
                    _ => Err(AuthError::Unavailable("no password verdict".into())),
                };
                outcome = Some(result);
                verdict
            })
            .await;
        match (guarded, outcome) {
            (Err(AuthError::Throttled { retry_after }), _) => {
                Err(ManageError::Throttled { retry_after }.into())
            }
            (_, Some(result)) => Ok(UserAnswer::Ok(Json(client_json(&result?)))),
            (Err(e), None) => Err(ManageError::from(e).into()),
            (Ok(_), None) => {
                Err(ManageError::Misconfigured("self-update gave no answer".into()).into())
            }
        }
    }

    /// One user.
    #[requires(R::Users, P::Read)]
    #[oai(path = "/users/:id", method = "get")]
    async fn get_user(&self, id: Path<String>) -> Answer {
        let client = self.provider()?.get_client(&id.0).await?;
        Ok(UserAnswer::Ok(Json(client_json(&client))))
    }

    /// Change a user (the provider's update package).
    #[requires(R::Users, P::Edit)]
    #[oai(path = "/users/:id", method = "put")]
    async fn update_user(&self, caller: ApiAuth, id: Path<String>, package: Json<Value>) -> Answer {
        let requested = Requested::of(&package.0)?;
        self.check_grant(caller.principal(), Some(&id.0), requested.grant())
            .await?;
        let client = self.provider()?.update_client(&id.0, package.0).await?;
        Ok(UserAnswer::Ok(Json(client_json(&client))))
    }

    /// Delete a user and end their sessions.
    #[requires(R::Users, P::Delete)]
    #[oai(path = "/users/:id", method = "delete")]
    async fn delete_user(&self, caller: ApiAuth, id: Path<String>) -> Answer {
        self.check_grant(caller.principal(), Some(&id.0), Grant::default())
            .await?;
        self.provider()?.delete_client(&id.0).await?;
        Ok(UserAnswer::Done)
    }

    /// Let a user log in again.
    #[requires(R::Users, P::Edit)]
    #[oai(path = "/users/:id/enable", method = "post")]
    async fn enable_user(&self, caller: ApiAuth, id: Path<String>) -> Answer {
        self.check_grant(caller.principal(), Some(&id.0), Grant::default())
            .await?;
        self.provider()?.enable_client(&id.0).await?;
        Ok(UserAnswer::Done)
    }

    /// Stop a user from logging in, and end their sessions.
    #[requires(R::Users, P::Edit)]
    #[oai(path = "/users/:id/disable", method = "post")]
    async fn disable_user(&self, caller: ApiAuth, id: Path<String>) -> Answer {
        self.check_grant(caller.principal(), Some(&id.0), Grant::default())
            .await?;
        self.provider()?.disable_client(&id.0).await?;
        Ok(UserAnswer::Done)
    }

    /// Grant a user the roles listed in the body.
    #[requires(R::Users, P::Edit)]
    #[oai(path = "/users/:id/roles", method = "post")]
    async fn add_roles(
        &self,
        caller: ApiAuth,
        id: Path<String>,
        roles: Json<Vec<String>>,
    ) -> Answer {
        let roles = roles_of(roles.0)?;
        self.check_grant(caller.principal(), Some(&id.0), Grant::roles(&roles))
            .await?;
        let client = self.provider()?.add_roles(&id.0, &roles).await?;
        Ok(UserAnswer::Ok(Json(client_json(&client))))
    }

    /// Take the roles listed in the body from a user, and end their sessions.
    #[requires(R::Users, P::Edit)]
    #[oai(path = "/users/:id/roles", method = "delete")]
    async fn delete_roles(
        &self,
        caller: ApiAuth,
        id: Path<String>,
        roles: Json<Vec<String>>,
    ) -> Answer {
        let roles = roles_of(roles.0)?;
        self.check_grant(caller.principal(), Some(&id.0), Grant::roles(&roles))
            .await?;
        let client = self.provider()?.delete_roles(&id.0, &roles).await?;
        Ok(UserAnswer::Ok(Json(client_json(&client))))
    }

    /// Register yourself (the provider's register package). Off by default:
    /// while the provider does not allow it, this answers 501
    /// `not_implemented`.
    #[public]
    #[oai(path = "/register", method = "post")]
    async fn register(&self, package: Json<Value>) -> Answer {
        let client = self.provider()?.client_self_register(package.0).await?;
        Ok(UserAnswer::Created(Json(client_json(&client))))
    }

    /// Log in with the provider's login package; answers tokens as
    /// `POST /token` does. Wrong credentials get the configured 401
    /// refusal, whatever was wrong; repeated failures are throttled (429).
    #[public]
    #[oai(path = "/login", method = "post")]
    async fn login(
        &self,
        req: &Request,
        package: Json<Value>,
    ) -> poem::Result<Json<TokenResponse>> {
        let provider = self.provider()?;
        let Some(service) = self.auth.token_service() else {
            return Err(UserFailure::NotImplemented(body(
                "not_implemented",
                "no token service is configured: add one with PoemAuthBuilder::token_service",
            ))
            .into());
        };
        let username = package
            .0
            .get("username")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut invalid = None;
        let outcome = service
            .login_client(&username, &self.auth.client_label(req), async {
                provider.authenticate(package.0).await.map_err(|e| match e {
                    ManageError::Invalid(detail) => {
                        invalid = Some(detail);
                        LoginError::Other(AuthError::InvalidCredentials)
                    }
                    other => login_error(other),
                })
            })
            .await;
        if let Some(detail) = invalid {
            return Err(UserFailure::from(ManageError::Invalid(detail)).into());
        }
        match outcome {
            Ok(pair) => Ok(Json(token_response(&pair))),
            Err(LoginError::Throttled { retry_after }) => Err(self
                .auth
                .refuse(AuthError::Throttled { retry_after }, true)
                .into()),
            Err(LoginError::InvalidCredentials) => {
                Err(self.auth.refuse(AuthError::InvalidCredentials, true).into())
            }
            Err(LoginError::Other(e)) => Err(self.auth.refuse(e, false).into()),
        }
    }
}

/// A provider's refusal as a login outcome.
pub(crate) fn login_error(e: ManageError) -> LoginError {
    match e {
        ManageError::Unavailable(m) => LoginError::Other(AuthError::Unavailable(m)),
        ManageError::Misconfigured(m) => LoginError::Other(AuthError::Misconfigured(m)),
        _ => LoginError::InvalidCredentials,
    }
}

fn token_response(pair: &TokenPair) -> TokenResponse {
    TokenResponse {
        access_token: pair.access.expose().to_owned(),
        token_type: "bearer".into(),
        expires_in: pair.access.expires_in(),
        refresh_token: pair.refresh_token().to_owned(),
    }
}

/// The tag of the user-management routes.
#[derive(poem_openapi::Tags)]
pub enum UsersTag {
    /// User management, registration and provider logins.
    Users,
}

/// Which package each route with a provider body takes.
const PACKAGE_ROUTES: [(&str, &str, PackageKind); 5] = [
    ("/users", "post", PackageKind::Create),
    ("/users/{id}", "put", PackageKind::Update),
    ("/users/me", "patch", PackageKind::SelfUpdate),
    ("/register", "post", PackageKind::Register),
    ("/login", "post", PackageKind::Auth),
];

impl PoemAuth {
    /// The user-management routes as a poem-openapi API (see the
    /// [`users`](crate::routes::users) module).
    pub fn users_api(&self) -> UsersApi {
        UsersApi::new(self.clone())
    }

    /// Adds the user-management routes to `spec` when a provider is
    /// configured, at their full served paths as the token routes are (see
    /// [`openapi_spec`](Self::openapi_spec)), with each body's schema the
    /// provider's package's.
    pub(crate) fn add_user_routes(&self, spec: &mut Value) {
        let Some(provider) = self.provider() else {
            return;
        };
        let Some(prefix) = self.routes_prefix() else {
            return;
        };
        let raw = OpenApiService::new(self.users_api(), "users", "").spec();
        let Ok(mut theirs) = serde_json::from_str::<Value>(&raw) else {
            return;
        };
        requires::spec::apply(&mut theirs, &requires::spec::collect::<UsersApi>());
        for (path, method, kind) in PACKAGE_ROUTES {
            let pointer = format!(
                "/paths/{}/{method}/requestBody/content",
                path.replace('/', "~1")
            );
            let media = theirs
                .pointer_mut(&pointer)
                .and_then(Value::as_object_mut)
                .into_iter()
                .flat_map(|content| content.values_mut())
                .filter_map(Value::as_object_mut);
            for media in media {
                media.insert("schema".into(), provider.package_schema(kind));
            }
        }
        crate::openapi::merge_routes(spec, &theirs, &prefix);
    }
}
