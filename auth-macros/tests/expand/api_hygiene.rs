//! The generated code names everything by absolute path: it compiles
//! without the prelude, with every warning denied, and beside user types
//! named like the ones it uses.
#![no_implicit_prelude]
#![deny(warnings)]

// poem-openapi's own macros name `poem_openapi` without a leading `::`.
use ::poem_openapi;

#[allow(dead_code)]
struct Result;
#[allow(dead_code)]
struct Option;
#[allow(dead_code)]
struct Principal;
#[allow(dead_code)]
struct Rule;
#[allow(dead_code)]
struct Operation;
#[allow(dead_code)]
struct Flat;
#[allow(dead_code, non_camel_case_types)]
struct bool;

#[allow(dead_code)]
mod auth_core {}

struct Api;

#[::auth_poem::api]
#[::poem_openapi::OpenApi]
impl Api {
    /// A pair.
    #[requires(
        ::auth_core::AuthResource::Conversation,
        ::auth_core::AuthPermission::Write
    )]
    #[oai(path = "/pair", method = "get")]
    async fn pair(&self) -> ::poem_openapi::payload::PlainText<&'static str> {
        ::poem_openapi::payload::PlainText("pair")
    }

    /// A condition.
    #[requires(any(role("admin"), expr = "user.id == id.0"))]
    #[oai(path = "/users/:id", method = "get")]
    async fn user(
        &self,
        user: ::auth_poem::ApiAuth,
        id: ::poem_openapi::param::Path<::std::string::String>,
    ) -> ::poem::Result<::poem_openapi::payload::PlainText<::std::string::String>> {
        ::std::result::Result::Ok(::poem_openapi::payload::PlainText(::std::format!(
            "{} {}", user.id, id.0
        )))
    }
}

#[::core::prelude::v1::test]
fn expands_and_runs() {
    let _ = ::poem_openapi::OpenApiService::new(Api, "t", "1").spec();
}
