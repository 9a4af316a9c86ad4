use poem_openapi::OpenApi;
use poem_openapi::payload::PlainText;

struct Api;

#[auth_poem::api]
#[OpenApi]
impl Api {
    /// Open.
    #[public(anyone)]
    #[oai(path = "/health", method = "get")]
    async fn health(&self) -> PlainText<&'static str> {
        PlainText("ok")
    }
}

fn main() {}
