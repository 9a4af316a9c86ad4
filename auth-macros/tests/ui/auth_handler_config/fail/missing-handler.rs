#[derive(auth_core::AuthHandlerConfig, serde::Deserialize, schemars::JsonSchema)]
/// Mine.
#[auth_config(name = "Mine")]
struct MyConfig {}

fn main() {}
