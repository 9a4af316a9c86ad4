//! Every macro's output compiles without the prelude, warns about nothing,
//! and is not confused by user types named like std's or auth-core's.
#![no_implicit_prelude]
#![deny(warnings)]

extern crate auth_core;
extern crate schemars;
extern crate serde;
extern crate serde_json;
extern crate std;

#[allow(dead_code)]
struct Result;
#[allow(dead_code)]
struct Option;
#[allow(dead_code)]
struct Principal;
#[allow(dead_code)]
struct Box;
#[allow(dead_code)]
struct Ok;

/// Even `str` shadowed (serde's derive does not take that, so the config
/// lives outside).
mod primitives {
    #[allow(unused_imports)]
    use super::{Box, Ok, Option, Principal, Result};

    #[allow(dead_code, non_camel_case_types)]
    struct str;

    #[derive(
        ::std::fmt::Debug, ::std::clone::Clone, ::std::marker::Copy, ::auth_core::Resource,
    )]
    pub(crate) enum Res {
        Conversation,
        #[resource(rename = "kb")]
        KnowledgeBase,
        #[deprecated = "use Conversation"]
        Chat,
    }

    #[derive(
        ::std::fmt::Debug, ::std::clone::Clone, ::std::marker::Copy, ::auth_core::Permission,
    )]
    pub(crate) enum Perm {
        Read,
    }

    /// A before-hook.
    #[::auth_core::before_authentication]
    pub(crate) async fn before(cx: &mut ::auth_core::BeforeAuth) -> ::auth_core::AuthResult<()> {
        let _ = cx.unverified_claims();
        ::std::result::Result::Ok(())
    }

    /// An after-hook.
    #[::auth_core::after_authentication]
    pub(crate) async fn after(cx: &::auth_core::AfterAuth) -> ::auth_core::AuthResult<()> {
        let _ = &cx.principal;
        ::std::result::Result::Ok(())
    }
}

use primitives::{Perm, Res, after, before};

/// A config.
#[derive(auth_core::AuthHandlerConfig, serde::Deserialize)]
#[auth_config(name = "Mine", handler = MyHandler)]
struct MyConfig {
    key: ::std::string::String,
}

// schemars' derive needs the prelude: a hand-written schema instead.
impl schemars::JsonSchema for MyConfig {
    fn schema_name() -> ::std::borrow::Cow<'static, ::std::primitive::str> {
        ::std::borrow::Cow::Borrowed("MyConfig")
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        ::std::default::Default::default()
    }
}

#[auth_core::auth_handler(config = MyConfig)]
struct MyHandler(::std::string::String);

#[auth_core::async_trait]
impl auth_core::AuthHandler for MyHandler {
    fn name(&self) -> &::std::primitive::str {
        &self.0
    }
}

impl auth_core::FromConfig<MyConfig> for MyHandler {
    fn from_config(config: MyConfig) -> auth_core::AuthResult<Self> {
        ::std::result::Result::Ok(MyHandler(config.key))
    }
}

#[::core::prelude::v1::test]
fn expands_and_runs() {
    use ::auth_core::{Permission as _, Resource as _};
    ::std::assert_eq!(Res::KnowledgeBase.name(), "KB");
    ::std::assert_eq!(Res::all().len(), 3);
    ::std::assert_eq!(::std::string::ToString::to_string(&Perm::Read), "READ");
    ::std::assert!(
        ::std::str::FromStr::from_str("conversation")
            .map(|r: Res| r.name() == "CONVERSATION")
            .unwrap_or(false)
    );
    ::std::assert_eq!(Perm::all().len(), 1);
    let registry = auth_core::HandlerRegistry::with_registered().unwrap();
    ::std::assert!(registry.get("MyConfig").is_some());
    let _ = auth_core::Pipeline::builder()
        .before_authentication(before)
        .after_authentication(after);
}
