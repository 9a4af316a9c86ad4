#[derive(Clone, Copy, auth_core::Permission)]
enum Res {
    #[permission]
    Thing,
}

fn main() {}
