use poem_openapi::OpenApi;
use poem_openapi::payload::PlainText;

struct Api;

#[auth_poem::api]
#[OpenApi]
impl Api {
    /// Both at once.
    #[public]
    #[requires(role("admin"))]
    #[oai(path = "/admin", method = "get")]
    async fn admin(&self) -> PlainText<&'static str> {
        PlainText("admin")
    }
}

fn main() {}
