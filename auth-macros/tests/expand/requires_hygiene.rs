//! The generated code names everything by absolute path: it compiles
//! without the prelude, with every warning denied, and beside user types
//! named like the ones it uses.
#![no_implicit_prelude]
#![deny(warnings)]

// poem's own `#[handler]` names `std::...` and `poem::...` without a
// leading `::`; the code `#[requires]` adds does not need these.
use ::poem;
use ::std;

#[allow(dead_code)]
struct Result;
#[allow(dead_code)]
struct Option;
#[allow(dead_code)]
struct Principal;
#[allow(dead_code)]
struct Rule;
#[allow(dead_code)]
struct Fallback;
#[allow(dead_code)]
struct LazyLock;
#[allow(dead_code, non_camel_case_types)]
struct bool;

#[allow(dead_code)]
mod auth_core {}

#[::auth_poem::requires(
    ::auth_core::AuthResource::Conversation,
    ::auth_core::AuthPermission::Write
)]
#[::poem::handler]
fn pair() -> &'static str {
    "pair"
}

#[::auth_poem::requires(any(role("admin"), expr = "user.id == id.0"))]
#[::poem::handler]
async fn owner(
    user: ::auth_poem::Authenticated,
    id: ::poem::web::Path<::std::string::String>,
) -> ::poem::Result<::std::string::String> {
    ::std::result::Result::Ok(::std::format!("{} {}", user.id, id.0))
}

#[::auth_poem::requires(expr = "user.id == *who")]
#[::poem::handler]
fn pattern(
    ::poem::web::Path(who): ::poem::web::Path<::std::string::String>,
) -> ::std::string::String {
    who
}

#[::core::prelude::v1::test]
fn expands_and_runs() {
    let _ = (pair, owner, pattern);
}
