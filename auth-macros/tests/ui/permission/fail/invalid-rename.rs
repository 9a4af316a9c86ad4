#[derive(Clone, Copy, auth_core::Permission)]
enum Res {
    #[permission(rename = "auth-handler")]
    AuthHandler,
}

fn main() {}
