#[derive(auth_core::AuthHandlerConfig, serde::Deserialize, schemars::JsonSchema)]
#[auth_config(name = "Mine", description = "d", handler = MyHandler)]
struct MyConfig {}

struct MyHandler;

impl auth_core::FromConfig<MyConfig> for MyHandler {
    fn from_config(_: MyConfig) -> auth_core::AuthResult<Self> {
        Ok(MyHandler)
    }
}

fn main() {}
