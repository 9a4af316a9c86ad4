#[derive(Clone, Copy, auth_core::Permission)]
enum Res {
    #[permission(rename = THING)]
    Thing,
}

fn main() {}
