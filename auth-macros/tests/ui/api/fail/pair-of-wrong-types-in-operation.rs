use auth_core::AuthPermission as P;
use poem_openapi::OpenApi;
use poem_openapi::payload::PlainText;

struct Api;

#[auth_poem::api]
#[OpenApi]
impl Api {
    /// Write.
    #[requires(P::Write, P::Write)]
    #[oai(path = "/write", method = "post")]
    async fn write(&self) -> PlainText<&'static str> {
        PlainText("written")
    }
}

fn main() {}
