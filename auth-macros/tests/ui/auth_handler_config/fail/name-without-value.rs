#[derive(auth_core::AuthHandlerConfig, serde::Deserialize, schemars::JsonSchema)]
#[auth_config(name, description = "d", handler = MyHandler)]
struct MyConfig {}

struct MyHandler;

#[auth_core::async_trait]
impl auth_core::AuthHandler for MyHandler {
    fn name(&self) -> &str {
        "mine"
    }
}

impl auth_core::FromConfig<MyConfig> for MyHandler {
    fn from_config(_: MyConfig) -> auth_core::AuthResult<Self> {
        Ok(MyHandler)
    }
}

fn main() {}
