//! The middleware: authenticate every request before the endpoint sees it.

use poem::{Endpoint, Middleware, Request, Result};

use crate::auth::PoemAuth;
use crate::extract::plain::Authenticated;

/// Middleware that authenticates every request, made by
/// [`PoemAuth::layer`].
///
/// A request that passes reaches the endpoint with an [`Authenticated`] in
/// its extensions (take it with the [`Authenticated`] extractor); one that
/// does not is answered with the refusal (see
/// [`AuthRejection`](crate::AuthRejection)) and never reaches the endpoint.
///
/// ```
/// use auth_core::{ApiKeyHandler, Pipeline};
/// use auth_poem::{Authenticated, PoemAuth};
/// use poem::{get, handler, test::TestClient, EndpointExt, Route};
///
/// #[handler]
/// fn me(user: Authenticated) -> String {
///     user.id.clone()
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let pipeline = Pipeline::builder()
///     .handler(ApiKeyHandler::builder().http_key("k-123").build())
///     .build()
///     .expect("pipeline");
/// let auth = PoemAuth::new(pipeline);
/// let app = Route::new().at("/me", get(me)).with(auth.layer());
/// let cli = TestClient::new(app);
///
/// cli.get("/me").send().await.assert_status(poem::http::StatusCode::UNAUTHORIZED);
/// let resp = cli.get("/me").header("x-api-key", "k-123").header("user_id", "alice").send().await;
/// resp.assert_status_is_ok();
/// resp.assert_text("alice").await;
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct AuthLayer {
    auth: PoemAuth,
}

impl AuthLayer {
    pub(crate) fn new(auth: PoemAuth) -> Self {
        Self { auth }
    }
}

impl<E: Endpoint> Middleware<E> for AuthLayer {
    type Output = AuthEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        AuthEndpoint {
            inner: ep,
            auth: self.auth.clone(),
        }
    }
}

/// The endpoint [`AuthLayer`] wraps around another.
#[derive(Debug)]
pub struct AuthEndpoint<E> {
    inner: E,
    auth: PoemAuth,
}

impl<E: Endpoint> Endpoint for AuthEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let principal = self.auth.authenticate(&req).await?;
        req.extensions_mut()
            .insert(Authenticated::new(principal, self.auth.responses().clone()));
        // What is behind the layer finds the auth it ran under (the
        // optional extractors, `#[requires]`), with no `.data(auth)` besides.
        if req.extensions().get::<PoemAuth>().is_none() {
            req.extensions_mut().insert(self.auth.clone());
        }
        self.inner.call(req).await
    }
}
