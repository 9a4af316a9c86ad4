use poem_openapi::OpenApi;
use poem_openapi::payload::PlainText;

struct Api;

#[auth_poem::api]
#[OpenApi]
impl Api {
    /// Admins only.
    #[requires(role("admin"))]
    #[oai(path = "/admin", method = "get")]
    async fn admin(&self) -> PlainText<&'static str> {
        PlainText(self.helper())
    }

    #[requires(role("admin"))]
    fn helper(&self) -> &'static str {
        "admin"
    }
}

fn main() {}
