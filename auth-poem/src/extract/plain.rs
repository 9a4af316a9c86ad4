//! The [`Authenticated`] extractor for plain poem handlers.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use auth_core::{AuthError, Principal, Requirement};
use poem::{FromRequest, Request, RequestBody, Result};

use crate::auth::{PoemAuth, check, log_refusal};
use crate::rejection::{AuthRejection, Responses};

/// The authenticated caller of a request; derefs to its [`Principal`].
///
/// As a handler argument it takes the principal [`AuthLayer`](crate::AuthLayer)
/// stored, or, when no middleware ran, authenticates the request itself with
/// the [`PoemAuth`] attached through `.data(auth)`. With neither, it refuses
/// the request with a 500 and logs why: a route is never left open by
/// mistake. Every refusal has the configured answer.
///
/// ```
/// use auth_core::{ApiKeyHandler, AuthPermission as P, AuthResource as R, Pipeline, Requirement};
/// use auth_poem::{Authenticated, PoemAuth};
/// use poem::{get, handler, test::TestClient, EndpointExt, Result, Route};
///
/// #[handler]
/// fn delete_user(user: Authenticated) -> Result<String> {
///     user.require(&Requirement::permission(R::Users, P::Delete))?;
///     Ok(format!("deleted by {}", user.id))
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let pipeline = Pipeline::builder()
///     .handler(ApiKeyHandler::builder().http_key("k-123").build())
///     .build()
///     .expect("pipeline");
/// // No middleware: the extractor authenticates through the attached data.
/// let app = Route::new().at("/users", get(delete_user)).data(PoemAuth::new(pipeline));
/// let cli = TestClient::new(app);
/// cli.get("/users").send().await.assert_status(poem::http::StatusCode::UNAUTHORIZED);
/// cli.get("/users").header("x-api-key", "k-123").send().await.assert_status_is_ok();
/// # });
/// ```
#[derive(Clone)]
pub struct Authenticated {
    principal: Arc<Principal>,
    responses: Arc<Responses>,
}

impl Authenticated {
    pub(crate) fn new(principal: Principal, responses: Arc<Responses>) -> Self {
        Self {
            principal: Arc::new(principal),
            responses,
        }
    }

    /// The principal.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The configured refusals, for a refusal about this caller.
    pub(crate) fn responses(&self) -> &Arc<Responses> {
        &self.responses
    }

    /// The principal, owned (cloned only if it is shared).
    pub fn into_principal(self) -> Principal {
        Arc::unwrap_or_clone(self.principal)
    }

    /// Checks a requirement: a refusal with the configured 403 answer when
    /// the principal does not meet it.
    pub fn require(&self, requirement: &Requirement) -> Result<(), AuthRejection> {
        check(&self.principal, requirement, &self.responses)
    }
}

impl Deref for Authenticated {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.principal
    }
}

impl fmt::Debug for Authenticated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Authenticated")
            .field(&self.principal)
            .finish()
    }
}

/// The caller types over [`Authenticated`] (`ApiAuth`, `WsAuthenticated`):
/// their `principal`, `into_principal`, `Deref` and `Debug`, written once.
/// `$ty` is a one-field tuple struct holding an [`Authenticated`].
macro_rules! caller_type {
    ($ty:ident) => {
        impl $ty {
            /// The principal.
            pub fn principal(&self) -> &auth_core::Principal {
                self.0.principal()
            }

            /// The principal, owned (cloned only if it is shared).
            pub fn into_principal(self) -> auth_core::Principal {
                self.0.into_principal()
            }
        }

        impl std::ops::Deref for $ty {
            type Target = auth_core::Principal;

            fn deref(&self) -> &auth_core::Principal {
                self.0.principal()
            }
        }

        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_tuple(stringify!($ty))
                    .field(self.0.principal())
                    .finish()
            }
        }

        impl From<$ty> for $crate::extract::plain::Authenticated {
            fn from(caller: $ty) -> Self {
                caller.0
            }
        }
    };
}
pub(crate) use caller_type;

impl<'a> FromRequest<'a> for Authenticated {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> Result<Self> {
        Ok(authenticated(req).await?)
    }
}

/// The caller of `req` if a credential came: `Ok(None)` when none did, and
/// the refusal when one came and was refused (or the setup is missing).
pub(crate) async fn optional_authenticated(
    req: &Request,
) -> Result<Option<Authenticated>, AuthRejection> {
    match authenticated(req).await {
        Ok(user) => Ok(Some(user)),
        Err(refusal)
            if !refusal.credential_presented()
                && *refusal.error() == AuthError::MissingCredentials =>
        {
            Ok(None)
        }
        Err(refusal) => Err(refusal),
    }
}

/// Optional authentication for plain poem handlers: `None` when the request
/// carries no credential, the principal when it carries a valid one, and the
/// usual 401 when it carries one that is refused.
///
/// Prefer it to `Option<Authenticated>`: poem's `Option` extractor turns
/// *every* refusal into `None`, so a wrong or expired token would be served
/// as anonymous, and a missing auth setup (500) would pass silently.
///
/// ```
/// use auth_poem::OptionalAuthenticated;
///
/// #[poem::handler]
/// fn greet(user: OptionalAuthenticated) -> String {
///     match user.principal() {
///         Some(p) => format!("hello {}", p.id),
///         None => "hello stranger".into(),
///     }
/// }
/// ```
#[derive(Clone, Debug)]
pub struct OptionalAuthenticated(pub Option<Authenticated>);

impl OptionalAuthenticated {
    /// The principal, when one authenticated.
    pub fn principal(&self) -> Option<&Principal> {
        self.0.as_ref().map(Authenticated::principal)
    }

    /// The inner option.
    pub fn into_inner(self) -> Option<Authenticated> {
        self.0
    }
}

impl<'a> FromRequest<'a> for OptionalAuthenticated {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> Result<Self> {
        Ok(Self(optional_authenticated(req).await?))
    }
}

/// The caller of `req`, for every extractor: the principal the layer stored,
/// else the result of authenticating through the attached [`PoemAuth`],
/// else a 500 refusal.
pub(crate) async fn authenticated(req: &Request) -> Result<Authenticated, AuthRejection> {
    if let Some(found) = req.extensions().get::<Authenticated>() {
        return Ok(found.clone());
    }
    if let Some(auth) = req.data::<PoemAuth>() {
        let principal = auth.authenticate(req).await?;
        return Ok(Authenticated::new(principal, auth.responses().clone()));
    }
    let error = AuthError::Misconfigured(
        "an auth extractor found neither a principal nor a `PoemAuth`: wrap the route with \
         `auth.layer()` or attach the auth with `.data(auth)`"
            .into(),
    );
    log_refusal(&error, None);
    Err(AuthRejection::new(
        error,
        false,
        Arc::new(Responses::default()),
    ))
}

#[cfg(test)]
mod tests {
    use auth_core::{ApiKeyHandler, Pipeline};
    use poem::http::StatusCode;
    use poem::test::TestClient;
    use poem::{EndpointExt, Route, get, handler};

    use super::*;

    #[handler]
    fn whoami(user: Authenticated) -> String {
        user.id.clone()
    }

    fn auth() -> PoemAuth {
        PoemAuth::new(
            Pipeline::builder()
                .handler(ApiKeyHandler::builder().http_key("k-1").build())
                .build()
                .expect("pipeline"),
        )
    }

    #[tokio::test]
    async fn without_layer_or_data_the_extractor_fails_closed_with_500() {
        let cli = TestClient::new(Route::new().at("/", get(whoami)));
        let resp = cli.get("/").header("x-api-key", "k-1").send().await;
        resp.assert_status(StatusCode::INTERNAL_SERVER_ERROR);
        let text = resp.0.into_body().into_string().await.expect("body");
        assert!(!text.contains("extractor"), "{text}");
    }

    #[tokio::test]
    async fn with_data_the_extractor_authenticates_by_itself() {
        let cli = TestClient::new(Route::new().at("/", get(whoami)).data(auth()));
        cli.get("/")
            .send()
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
        let resp = cli
            .get("/")
            .header("x-api-key", "k-1")
            .header("user_id", "bob")
            .send()
            .await;
        resp.assert_status_is_ok();
        resp.assert_text("bob").await;
    }

    #[tokio::test]
    async fn with_layer_the_extractor_takes_the_stored_principal() {
        // The handler runs only if the layer let the request through, and the
        // extractor reads what the layer stored: no `.data` is attached.
        let cli = TestClient::new(Route::new().at("/", get(whoami)).with(auth().layer()));
        let resp = cli.get("/").header("x-api-key", "k-1").send().await;
        resp.assert_status_is_ok();
        resp.assert_text("user").await;
    }

    #[test]
    fn require_refuses_with_forbidden() {
        let user = Authenticated::new(
            Principal::new("u", auth_core::AuthMethod::Jwt),
            Arc::new(Responses::default()),
        );
        let refusal = user
            .require(&Requirement::role("admin"))
            .expect_err("no role");
        assert_eq!(refusal.error(), &AuthError::Forbidden);
        assert!(user.require(&Requirement::all([])).is_ok());
    }
}
