#[derive(Clone, Copy, auth_core::Permission)]
enum Res {
    #[permission(rename = "a b", colour = "red")]
    Thing,
    Other(u8),
    #[permission(rename = "OTHER")]
    Third,
}

fn main() {}
