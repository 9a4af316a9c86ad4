// poem-openapi drops the impl when it refuses it, so its imports go unused.
#![allow(unused_imports)]

use poem_openapi::OpenApi;
use poem_openapi::payload::PlainText;

struct Api;

#[auth_poem::api]
#[OpenApi]
impl Api {
    /// Admins only.
    #[requires(role("admin"))]
    #[oai(path = "/admin", method = "get")]
    async fn admin() -> PlainText<&'static str> {
        PlainText("admin")
    }
}

fn main() {}
