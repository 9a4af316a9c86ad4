use poem_openapi::OpenApi;
use poem_openapi::payload::PlainText;

struct Api;

#[auth_poem::api]
#[OpenApi]
impl Api {
    /// Open.
    #[public]
    #[oai(path = "/health", method = "get")]
    async fn health(&self) -> PlainText<&'static str> {
        PlainText(self.helper())
    }

    #[public]
    fn helper(&self) -> &'static str {
        "ok"
    }

    #[public]
    const NAME: &'static str = "api";
}

fn main() {}
