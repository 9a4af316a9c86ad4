#[derive(Clone, Copy, auth_core::Permission)]
enum Res {
    #[permission(rename = "ONE")]
    #[permission(rename = "TWO")]
    Thing,
}

fn main() {}
