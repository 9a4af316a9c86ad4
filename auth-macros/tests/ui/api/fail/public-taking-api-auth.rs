use auth_poem::ApiAuth;
use poem_openapi::OpenApi;
use poem_openapi::payload::PlainText;

struct Api;

#[auth_poem::api]
#[OpenApi]
impl Api {
    /// Says public, but refuses anonymous callers.
    #[public]
    #[oai(path = "/me", method = "get")]
    async fn me(&self, user: ApiAuth) -> PlainText<String> {
        PlainText(user.id.clone())
    }
}

fn main() {}
