#[derive(Clone, Copy, auth_core::Permission)]
enum Res {
    Café,
}

fn main() {}
