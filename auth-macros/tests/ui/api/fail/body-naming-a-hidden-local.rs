// The locals the expansion binds are mixed-site: an operation's body cannot
// name them.
use auth_core::{AuthPermission as P, AuthResource as R};
use poem_openapi::OpenApi;
use poem_openapi::payload::PlainText;

struct Api;

#[auth_poem::api]
#[OpenApi]
impl Api {
    /// Readers only.
    #[requires(R::Conversation, P::Read)]
    #[oai(path = "/read", method = "get")]
    async fn read(&self) -> PlainText<String> {
        PlainText(__auth_poem_caller.id.clone())
    }
}

fn main() {}
