#[derive(Clone, Copy, auth_core::Permission)]
enum Res {
    #[permission(rename = "")]
    Thing,
}

fn main() {}
