use auth_poem::requires;
use poem_openapi::OpenApi;
use poem_openapi::payload::PlainText;

struct Api;

#[OpenApi]
impl Api {
    /// Admins only.
    #[requires(role("admin"))]
    #[oai(path = "/admin", method = "get")]
    async fn admin(&self) -> PlainText<&'static str> {
        PlainText("admin")
    }
}

fn main() {}
