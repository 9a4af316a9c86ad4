use poem_openapi::OpenApi;
use poem_openapi::payload::PlainText;

struct Api;

#[auth_poem::api]
#[OpenApi]
impl Api {
    /// One.
    #[requires(role(""))]
    #[oai(path = "/one", method = "get")]
    async fn one(&self) -> PlainText<&'static str> {
        PlainText("one")
    }

    /// Two.
    #[requires(scope("a b"))]
    #[oai(path = "/two", method = "get")]
    async fn two(&self) -> PlainText<&'static str> {
        PlainText("two")
    }
}

fn main() {}
