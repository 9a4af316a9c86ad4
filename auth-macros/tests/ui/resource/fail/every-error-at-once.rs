#[derive(Clone, Copy, auth_core::Resource)]
enum Res {
    #[resource(rename = "a b", colour = "red")]
    Thing,
    Other(u8),
    #[resource(rename = "OTHER")]
    Third,
}

fn main() {}
