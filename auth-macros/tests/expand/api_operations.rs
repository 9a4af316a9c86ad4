//! `#[auth_poem::api]` over `#[OpenApi]`: protected operations with and
//! without an auth argument, returning a response, `poem::Result` or a
//! `Result` with an error response of their own, beside public ones and
//! ones open to any signed-in caller.

use auth_core::{AuthPermission as P, AuthResource as R};
use auth_poem::{ApiAuth, OptionalApiAuth};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, OpenApi};

#[derive(ApiResponse)]
enum Missing {
    /// Not found.
    #[oai(status = 404)]
    NotFound,
}

struct Api;

#[auth_poem::api]
#[OpenApi(prefix_path = "/v1")]
impl Api {
    /// Send.
    #[requires(R::Conversation, P::Write)]
    #[oai(path = "/message", method = "post")]
    async fn send(&self, body: Json<String>) -> PlainText<String> {
        PlainText(body.0)
    }

    /// One user.
    #[auth_poem::requires(any(role("admin"), all((R::Users, P::Read), expr = "user.id == id.0")))]
    #[oai(path = "/users/:id", method = "get")]
    async fn user(&self, user: ApiAuth, id: Path<String>) -> poem::Result<PlainText<String>> {
        Ok(PlainText(format!("{} {}", user.id, id.0)))
    }

    /// A destructured parameter with its own `#[oai]`, which gets the scope too.
    #[requires(R::Memory, P::List)]
    #[requires(expr = "limit <= 100")]
    #[oai(path = "/items", method = "get")]
    async fn items(&self, #[oai(name = "max")] Query(limit): Query<u32>) -> Json<u32> {
        Json(limit)
    }

    /// An error response of its own.
    #[requires(scope("openid"))]
    #[requires(role("auditor"))]
    #[oai(path = "/audit", method = "get")]
    async fn audit(&self, user: OptionalApiAuth) -> Result<PlainText<String>, Missing> {
        user.principal()
            .map(|p| PlainText(p.id.clone()))
            .ok_or(Missing::NotFound)
    }

    /// Nothing to return, and hidden (its scope goes unused).
    #[requires(R::Settings, P::Edit)]
    #[oai(path = "/reset", method = "post", hidden)]
    async fn reset(&self) {}

    /// A condition that asks the API itself.
    #[requires(expr = "self.knows(&user.id)")]
    #[oai(path = "/known", method = "get")]
    async fn known(&self) -> PlainText<&'static str> {
        PlainText("known")
    }

    fn knows(&self, id: &str) -> bool {
        id == "root"
    }

    /// Open.
    #[public]
    #[oai(path = "/health", method = "get")]
    async fn health(&self) -> PlainText<&'static str> {
        PlainText("ok")
    }

    /// Open, and greets a signed-in caller by name.
    #[auth_poem::public]
    #[oai(path = "/hello", method = "get")]
    async fn hello(&self, user: OptionalApiAuth) -> PlainText<String> {
        PlainText(user.principal().map_or("stranger".into(), |p| p.id.clone()))
    }

    /// Any signed-in caller.
    #[requires(authenticated)]
    #[oai(path = "/whoami", method = "get")]
    async fn whoami(&self, user: ApiAuth) -> PlainText<String> {
        PlainText(user.id.clone())
    }

    /// Any signed-in caller, without an auth argument.
    #[requires(authenticated)]
    #[oai(path = "/ping", method = "get")]
    async fn ping(&self) -> PlainText<&'static str> {
        PlainText("pong")
    }
}

#[test]
fn expands_and_runs() {
    let _ = poem_openapi::OpenApiService::new(Api, "t", "1").spec();
}
