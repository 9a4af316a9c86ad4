//! A crate that depends on auth-poem under another name (`web_auth`), and
//! on neither `auth_poem` nor `auth_core` by name: it compiles only if the
//! code `#[requires]`, `#[api]` and `#[public]` generate names the runtime
//! through the name `Cargo.toml` gives it.

use poem::handler;
use poem_openapi::OpenApi;
use poem_openapi::payload::PlainText;
use web_auth::auth_core::{AuthPermission as P, AuthResource as R};
use web_auth::{ApiAuth, requires};

/// A plain poem handler that needs `CONVERSATION:WRITE`.
#[requires(R::Conversation, P::Write)]
#[handler]
pub fn post_message() -> &'static str {
    "sent"
}

/// A poem-openapi API with a protected and a public operation.
pub struct Api;

#[web_auth::api]
#[OpenApi]
impl Api {
    /// The caller, when they may read conversations.
    #[requires(R::Conversation, P::Read)]
    #[oai(path = "/me", method = "get")]
    async fn me(&self, user: ApiAuth) -> PlainText<String> {
        PlainText(user.id.clone())
    }

    /// Open to anyone.
    #[public]
    #[oai(path = "/health", method = "get")]
    async fn health(&self) -> PlainText<&'static str> {
        PlainText("ok")
    }
}

#[cfg(test)]
mod tests {
    use poem::http::StatusCode;
    use poem::test::TestClient;
    use poem::{EndpointExt, Route, post};
    use poem_openapi::OpenApiService;
    use web_auth::PoemAuth;
    use web_auth::auth_core::{ApiKeyHandler, Pipeline};

    use super::*;

    #[tokio::test]
    async fn the_renamed_crate_protects_and_opens_routes() {
        let pipeline = Pipeline::builder()
            .handler(ApiKeyHandler::builder().http_key("k-1").build())
            .build()
            .expect("pipeline");
        let auth = PoemAuth::new(pipeline);
        let app = Route::new()
            .at("/message", post(post_message))
            .nest(
                "/",
                auth.api_routes(OpenApiService::new(Api, "renamed", "1")),
            )
            .data(auth);
        let cli = TestClient::new(app);
        cli.get("/health").send().await.assert_status_is_ok();
        cli.get("/me")
            .send()
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
        cli.post("/message")
            .send()
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
        cli.get("/me")
            .header("x-api-key", "k-1")
            .send()
            .await
            .assert_status_is_ok();
    }
}
