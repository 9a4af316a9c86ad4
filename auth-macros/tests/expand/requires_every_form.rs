//! Every form of requirement on poem handlers, sync and async, returning
//! a bare response, a `Result`, `impl IntoResponse` or nothing.

use auth_core::{AuthPermission as P, AuthResource as R};
use auth_poem::{Authenticated, OptionalAuthenticated, requires};
use poem::web::{Json, Path};
use poem::{IntoResponse, Result, handler};

#[requires(R::Conversation, P::Write)]
#[handler]
fn pair() -> &'static str {
    "pair"
}

#[requires((R::Conversation, P::Write))]
#[handler]
async fn pair_in_parentheses() -> Result<String> {
    Ok("pair".into())
}

#[requires(role("admin"))]
#[handler]
async fn role(user: Authenticated) -> impl IntoResponse {
    user.id.clone()
}

#[requires(authenticated)]
#[handler]
fn signed_in() -> &'static str {
    "any signed-in caller"
}

#[requires(scope("conversation:write"))]
#[handler]
fn scope(user: OptionalAuthenticated) -> String {
    user.principal().map(|p| p.id.clone()).unwrap_or_default()
}

#[requires(any(role("admin"), all((R::Users, P::Read), expr = "user.id == id.0")))]
#[handler]
async fn nested(id: Path<String>) -> Json<String> {
    Json(id.0)
}

#[requires(expr = "user.id == *owner && body.len() < 10")]
#[handler]
fn patterns(Path(owner): Path<String>, Json(body): Json<Vec<u8>>) -> String {
    format!("{owner} {}", body.len())
}

#[requires(R::Conversation, P::Read)]
#[requires(role("editor"))]
#[requires(scope("openid"))]
#[handler]
fn several() {}

#[requires(role("admin"))]
#[poem::handler]
async fn by_path() {}

#[test]
fn expands_and_runs() {
    let _ = (
        pair,
        pair_in_parentheses,
        role,
        scope,
        nested,
        patterns,
        several,
        by_path,
    );
}
