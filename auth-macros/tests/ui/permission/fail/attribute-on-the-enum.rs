#[derive(Clone, Copy, auth_core::Permission)]
#[permission(rename = "THINGS")]
enum Res {
    Thing,
}

fn main() {}
