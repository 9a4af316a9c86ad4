//! [`WsAuthenticated`]: authenticate a WebSocket upgrade before it happens.

use std::sync::Arc;

use auth_core::{AuthError, Channel, Requirement};
use poem::{FromRequest, Request, RequestBody, Result};

use crate::auth::{PoemAuth, log_refusal};
use crate::extract::plain::Authenticated;
use crate::rejection::{AuthRejection, Responses};

/// The authenticated caller of a WebSocket upgrade; derefs to its
/// [`Principal`](auth_core::Principal).
///
/// As a handler argument placed before poem's `WebSocket`, it authenticates
/// the upgrade request on [`Channel::WebSocket`] with the [`PoemAuth`]
/// attached through `.data(auth)`, *before* the upgrade: a refused request
/// gets the [`ws_refused_status`](crate::PoemAuthBuilder::ws_refused_status)
/// (default 403) with the configured JSON body, and no socket. The
/// credential is read as [`PoemAuth::websocket_credential`] says (headers,
/// cookie, then the `?token=` query parameter browsers have to use), and the
/// user-id hint is the route's `user_id` path parameter (`/ws/:user_id`)
/// when it has one. Only WebSocket API keys open it; HTTP keys do not.
///
/// It never reuses a principal that [`AuthLayer`](crate::AuthLayer)
/// authenticated on the HTTP channel: mount WebSocket routes beside the
/// layer, not under it (under it, a request must pass both).
///
/// For optional authentication take `Option<WsAuthenticated>` (poem's own
/// `FromRequest` for `Option<T>`): `None` for any refusal, misconfiguration
/// included. `poem::Result<WsAuthenticated>` gives the refusal to inspect.
/// Under [`#[requires]`](crate::requires) the route is authenticated on the
/// WebSocket channel whatever wraps the extractor: a refused upgrade is
/// refused, never retried as an HTTP request.
///
/// ```
/// use auth_core::{ApiKeyHandler, Pipeline};
/// use auth_poem::{PoemAuth, WsAuthenticated};
/// use futures_util::{SinkExt, StreamExt};
/// use poem::web::websocket::{Message, WebSocket};
/// use poem::{get, handler, http::StatusCode, test::TestClient, EndpointExt, IntoResponse, Route};
///
/// #[handler]
/// async fn chat(user: WsAuthenticated, ws: WebSocket) -> impl IntoResponse {
///     let user = user.into_principal(); // moved into the socket task
///     ws.on_upgrade(move |socket| async move {
///         let (mut tx, mut rx) = socket.split();
///         while let Some(Ok(Message::Text(text))) = rx.next().await {
///             if tx.send(Message::Text(format!("{}: {text}", user.id))).await.is_err() {
///                 break;
///             }
///         }
///     })
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let pipeline = Pipeline::builder()
///     .handler(ApiKeyHandler::builder().http_key("http-key").ws_key("ws-key").build())
///     .build()?;
/// let app = Route::new().at("/ws/:user_id", get(chat)).data(PoemAuth::new(pipeline));
/// let cli = TestClient::new(app);
/// // Refused before any upgrade: no token, or an HTTP key.
/// cli.get("/ws/alice").send().await.assert_status(StatusCode::FORBIDDEN);
/// cli.get("/ws/alice").query("token", &"http-key").send().await.assert_status(StatusCode::FORBIDDEN);
/// # Ok::<_, auth_core::AuthError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct WsAuthenticated(Authenticated);

crate::extract::plain::caller_type!(WsAuthenticated);

impl WsAuthenticated {
    /// The caller as the HTTP extractor's type, for the `#[requires]`
    /// check (which knows it came from the WebSocket channel).
    pub(crate) fn into_authenticated(self) -> Authenticated {
        self.0
    }

    /// Checks a requirement before the upgrade: a refusal with the
    /// configured 403 answer when the principal does not meet it.
    ///
    /// ```
    /// # use auth_poem::WsAuthenticated;
    /// use auth_core::{AuthPermission as P, AuthResource as R, Requirement};
    /// use poem::web::websocket::WebSocket;
    /// use poem::{handler, IntoResponse, Result};
    ///
    /// #[handler]
    /// async fn admin_feed(user: WsAuthenticated, ws: WebSocket) -> Result<impl IntoResponse> {
    ///     user.require(&Requirement::permission(R::Users, P::Read))?;
    ///     Ok(ws.on_upgrade(|_socket| async {}))
    /// }
    /// ```
    pub fn require(&self, requirement: &Requirement) -> Result<(), AuthRejection> {
        self.0
            .require(requirement)
            .map_err(|r| r.on_channel(Channel::WebSocket))
    }
}

impl<'a> FromRequest<'a> for WsAuthenticated {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> Result<Self> {
        Ok(ws_authenticated(req).await?)
    }
}

/// The caller of the WebSocket upgrade `req`, authenticated on
/// [`Channel::WebSocket`] through the attached [`PoemAuth`], else a 500
/// refusal. The `#[requires]` guard of a WebSocket route calls it too.
pub(crate) async fn ws_authenticated(req: &Request) -> Result<WsAuthenticated, AuthRejection> {
    if let Some(auth) = req.data::<PoemAuth>() {
        let principal = auth.authenticate_websocket(req).await?;
        return Ok(WsAuthenticated(Authenticated::new(
            principal,
            auth.responses().clone(),
        )));
    }
    let error = AuthError::Misconfigured(
        "the `WsAuthenticated` extractor found no `PoemAuth`: attach the auth with \
         `.data(auth)`"
            .into(),
    );
    log_refusal(&error, None);
    Err(
        AuthRejection::new(error, false, Arc::new(Responses::default()))
            .on_channel(Channel::WebSocket),
    )
}

#[cfg(test)]
mod tests {
    use auth_core::{ApiKeyHandler, Pipeline};
    use poem::http::StatusCode;
    use poem::test::TestClient;
    use poem::{EndpointExt, Route, get, handler};

    use super::*;

    #[handler]
    fn whoami(user: WsAuthenticated) -> String {
        user.id.clone()
    }

    #[handler]
    fn maybe(user: Option<WsAuthenticated>) -> String {
        user.map_or_else(|| "anonymous".to_owned(), |u| u.id.clone())
    }

    fn auth() -> PoemAuth {
        PoemAuth::new(
            Pipeline::builder()
                .handler(
                    ApiKeyHandler::builder()
                        .http_key("h-1")
                        .ws_key("w-1")
                        .build(),
                )
                .build()
                .expect("pipeline"),
        )
    }

    fn app() -> TestClient<impl poem::Endpoint> {
        TestClient::new(
            Route::new()
                .at("/ws", get(whoami))
                .at("/ws/:user_id", get(whoami))
                .at("/maybe", get(maybe))
                .data(auth()),
        )
    }

    #[tokio::test]
    async fn user_id_comes_from_the_path_param_else_the_header() {
        let cli = app();
        let resp = cli
            .get("/ws/alice%20b")
            .query("token", &"w-1")
            .header("user_id", "mallory")
            .send()
            .await;
        resp.assert_status_is_ok();
        resp.assert_text("alice b").await;
        let resp = cli
            .get("/ws")
            .query("token", &"w-1")
            .header("user_id", "bob")
            .send()
            .await;
        resp.assert_status_is_ok();
        resp.assert_text("bob").await;
        let resp = cli.get("/ws").header("x-api-key", "w-1").send().await;
        resp.assert_text(auth_core::DEFAULT_USER_ID).await;
    }

    #[tokio::test]
    async fn http_key_and_missing_token_are_refused_with_403_and_the_body() {
        let cli = app();
        for req in [
            cli.get("/ws/alice"),
            cli.get("/ws/alice").query("token", &"h-1"),
            cli.get("/ws/alice").header("x-api-key", "h-1"),
            cli.get("/ws/alice").query("token", &""),
        ] {
            let resp = req.send().await;
            resp.assert_status(StatusCode::FORBIDDEN);
            resp.assert_header_is_not_exist("www-authenticate");
            resp.assert_json(crate::rejection::default_body()).await;
        }
    }

    #[tokio::test]
    async fn optional_extractor_is_none_when_refused() {
        let cli = app();
        cli.get("/maybe")
            .send()
            .await
            .assert_text("anonymous")
            .await;
        cli.get("/maybe")
            .query("token", &"h-1")
            .send()
            .await
            .assert_text("anonymous")
            .await;
        cli.get("/maybe")
            .query("token", &"w-1")
            .send()
            .await
            .assert_text(auth_core::DEFAULT_USER_ID)
            .await;
    }

    #[tokio::test]
    async fn without_data_the_extractor_fails_closed_with_500() {
        let cli = TestClient::new(Route::new().at("/ws", get(whoami)));
        cli.get("/ws")
            .query("token", &"w-1")
            .send()
            .await
            .assert_status(StatusCode::INTERNAL_SERVER_ERROR);
    }
}
