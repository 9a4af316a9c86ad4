#[derive(auth_core::AuthHandlerConfig, serde::Deserialize, schemars::JsonSchema)]
#[auth_config(name = "Mine", description = "d", handler = MyHandler)]
struct MyConfig {}

struct MyHandler;

#[auth_core::async_trait]
impl auth_core::AuthHandler for MyHandler {
    fn name(&self) -> &str {
        "mine"
    }
}

fn main() {}
