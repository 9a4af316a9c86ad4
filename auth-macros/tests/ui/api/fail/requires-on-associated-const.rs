use poem_openapi::OpenApi;
use poem_openapi::payload::PlainText;

struct Api;

#[auth_poem::api]
#[OpenApi]
impl Api {
    #[requires(role("admin"))]
    const ADMIN: &'static str = "admin";

    /// Admins only.
    #[requires(role("admin"))]
    #[oai(path = "/admin", method = "get")]
    async fn admin(&self) -> PlainText<&'static str> {
        PlainText(Self::ADMIN)
    }
}

fn main() {}
