#[derive(auth_core::AuthHandlerConfig, serde::Deserialize, schemars::JsonSchema)]
#[auth_config(name = "Mine", description = "d", handler = MyHandler)]
struct MyConfig<T> {
    inner: T,
}

struct MyHandler;

fn main() {}
