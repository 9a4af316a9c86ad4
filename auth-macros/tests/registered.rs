//! `#[auth_handler]` registers each handler with its config in the process:
//! `HandlerRegistry::with_registered` lists exactly those of this binary (a
//! binary of its own, so no other test registers one) and builds them.

use auth_core::{HandlerRegistry, auth_handler};

#[derive(auth_core::AuthHandlerConfig, serde::Deserialize, schemars::JsonSchema)]
#[auth_config(id = "mine", name = "Mine", description = "Mine.", handler = MyHandler)]
struct MyConfig {
    key: String,
}

/// A handler of another kind, registered too.
#[auth_handler(config = OtherConfig)]
enum OtherHandler {
    Only,
}

#[auth_handler(config = MyConfig)]
struct MyHandler(String);

#[derive(auth_core::AuthHandlerConfig, serde::Deserialize, schemars::JsonSchema)]
#[auth_config(id = "other", name = "Other", description = "Other.", handler = OtherHandler)]
struct OtherConfig {}

#[auth_core::async_trait]
impl auth_core::AuthHandler for MyHandler {
    fn name(&self) -> &str {
        &self.0
    }
}

#[auth_core::async_trait]
impl auth_core::AuthHandler for OtherHandler {
    fn name(&self) -> &str {
        "other"
    }
}

impl auth_core::FromConfig<MyConfig> for MyHandler {
    fn from_config(config: MyConfig) -> auth_core::AuthResult<Self> {
        Ok(MyHandler(config.key))
    }
}

impl auth_core::FromConfig<OtherConfig> for OtherHandler {
    fn from_config(_: OtherConfig) -> auth_core::AuthResult<Self> {
        Ok(OtherHandler::Only)
    }
}

#[test]
fn only_the_registered_handlers_are_listed_and_built() {
    let registry = HandlerRegistry::with_registered().unwrap();
    let ids: Vec<_> = registry.list().map(|info| info.id).collect();
    assert_eq!(ids, ["mine", "other"]);
    let built = registry
        .build("mine", serde_json::json!({"key": "k"}))
        .unwrap();
    assert_eq!(built.name(), "k");
}
