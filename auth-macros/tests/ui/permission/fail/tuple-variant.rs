#[derive(Clone, Copy, auth_core::Permission)]
enum Res {
    Thing,
    Other(u32),
}

fn main() {}
