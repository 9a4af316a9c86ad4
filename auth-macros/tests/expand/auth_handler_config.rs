//! `#[derive(AuthHandlerConfig)]` on structs and enums: ids, descriptions, registration and building.

use auth_core::{AuthHandlerConfig, HandlerRegistry};

/// Delegate authentication to an identity provider.
///
/// Tokens are checked by the provider.
#[derive(AuthHandlerConfig, serde::Deserialize, schemars::JsonSchema)]
#[auth_config(name = "Custom IdP", handler = MyHandler)]
struct MyConfig {
    server_url: String,
}

/// Enums are configs too.
#[derive(AuthHandlerConfig, serde::Deserialize, schemars::JsonSchema)]
#[auth_config(id = "mode.v2", name = "Mode", handler = MyHandler)]
#[auth_config(description = "Pick a mode.")]
enum Mode {
    Fast,
    Careful,
}

struct MyHandler(String);

#[auth_core::async_trait]
impl auth_core::AuthHandler for MyHandler {
    fn name(&self) -> &str {
        &self.0
    }
}

impl auth_core::FromConfig<MyConfig> for MyHandler {
    fn from_config(config: MyConfig) -> auth_core::AuthResult<Self> {
        Ok(MyHandler(config.server_url))
    }
}

impl auth_core::FromConfig<Mode> for MyHandler {
    fn from_config(mode: Mode) -> auth_core::AuthResult<Self> {
        Ok(MyHandler(match mode {
            Mode::Fast => "fast".into(),
            Mode::Careful => "careful".into(),
        }))
    }
}

#[test]
fn expands_and_runs() {
    assert_eq!(MyConfig::ID, "MyConfig");
    assert_eq!(
        MyConfig::DESCRIPTION,
        "Delegate authentication to an identity provider.\n\nTokens are checked by the provider."
    );
    assert_eq!(Mode::ID, "mode.v2");
    let mut registry = HandlerRegistry::new();
    registry
        .register::<MyConfig>()
        .and_then(|r| r.register::<Mode>())
        .unwrap();
    let handler = registry
        .build("mode.v2", serde_json::json!("Careful"))
        .unwrap();
    assert_eq!(handler.name(), "careful");
}
