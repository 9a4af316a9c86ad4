#[derive(Clone, Copy, auth_core::Resource)]
enum Res {
    #[resource(rename = "auth-handler")]
    AuthHandler,
}

fn main() {}
