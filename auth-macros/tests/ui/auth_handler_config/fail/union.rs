#[derive(auth_core::AuthHandlerConfig)]
#[auth_config(name = "Mine", description = "d", handler = MyHandler)]
union MyConfig {
    a: u32,
}

struct MyHandler;

fn main() {}
