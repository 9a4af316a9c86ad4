use poem_openapi::OpenApi;
use poem_openapi::payload::PlainText;

struct Api;

#[auth_poem::api]
#[OpenApi]
impl Api {
    /// Forgot to say who may call it.
    #[oai(path = "/report", method = "get")]
    async fn report(&self) -> PlainText<&'static str> {
        PlainText("numbers")
    }
}

fn main() {}
